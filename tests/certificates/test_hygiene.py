"""Import hygiene of the documents (docs/architecture.md): the core never loads reportlab or
the PDF signer at import time, and the renderers never load a database or the UI."""

from __future__ import annotations

import subprocess
import sys


def _loaded(code: str, watch: tuple[str, ...]) -> list[str]:
    script = f"import sys\n{code}\nprint(','.join(m for m in {watch!r} if m in sys.modules))\n"
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    return [m for m in out.stdout.strip().split(",") if m]


def test_no_module_of_the_core_imports_reportlab_or_the_signer() -> None:
    code = (
        "import importlib, pkgutil, lottrack\n"
        "for info in pkgutil.walk_packages(lottrack.__path__, 'lottrack.'):\n"
        "    if (info.name.startswith('lottrack.storage.migrations')\n"
        "            or info.name.endswith('__main__')):\n"
        "        continue  # these run something when imported\n"
        "    try:\n"
        "        importlib.import_module(info.name)\n"
        "    except ImportError as exc:  # a module being written elsewhere\n"
        "        print(info.name, exc, file=sys.stderr)\n"
    )
    assert _loaded(code, ("reportlab", "pyhanko", "cryptography", "certificates")) == []


def test_issuing_modules_load_no_renderer() -> None:
    code = (
        "import lottrack.views.documents.builders, lottrack.views.documents.blinded_builders, "
        "lottrack.views.documents.issue, lottrack.cli.certificates"
    )
    assert _loaded(code, ("reportlab", "pyhanko", "certificates", "textual")) == []


def test_renderers_load_no_database_and_no_ui() -> None:
    code = "import certificates.release, certificates.infusion, certificates.label"
    assert _loaded(code, ("sqlalchemy", "sqlmodel", "textual", "tui", "pyhanko")) == []
