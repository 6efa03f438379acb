"""The core and the certificates are reachable without the UI (docs/architecture.md).

Each import runs in a fresh interpreter, so that nothing another test loaded hides a
module the import pulled in. The import contracts in ``pyproject.toml`` (``lint-imports``,
run by ``./check``) say the same for every import in the source, lazy ones included; this
says it for what a running program really loads.
"""

from __future__ import annotations

import subprocess
import sys

import pytest


def _loaded(module: str, candidates: tuple[str, ...]) -> list[str]:
    """Which of ``candidates`` are in ``sys.modules`` after importing ``module`` alone."""
    code = f"import sys, {module}\nprint(','.join(m for m in {candidates!r} if m in sys.modules))\n"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return [m for m in out.stdout.strip().split(",") if m]


@pytest.mark.parametrize(
    "module",
    [
        "lottrack.cli",
        "lottrack.storage.models",
        "lottrack.storage.audit",
        "lottrack.records.accounts",
        "lottrack.demo.database",
        "lottrack.views.listings",
        "lottrack.trial.dispensing",
        "lottrack.views.documents.builders",
        "lottrack.views.documents.blinded_builders",
        "lottrack.views.documents.issue",
    ],
)
def test_core_does_not_load_textual_or_reportlab(module: str) -> None:
    assert _loaded(module, ("textual", "reportlab", "tui", "certificates")) == []


@pytest.mark.parametrize(
    "module",
    ["certificates.release", "certificates.infusion", "certificates.label"],
)
def test_certificates_load_no_database_and_no_ui(module: str) -> None:
    """A renderer draws frozen data: it cannot open a session or reach a screen."""
    assert (
        _loaded(
            module,
            (
                "sqlalchemy",
                "sqlmodel",
                "lottrack.storage.db",
                "lottrack.storage.models",
                "textual",
                "tui",
            ),
        )
        == []
    )


@pytest.mark.parametrize("module", ["tui.app", "tui.common.login", "tui.opening"])
def test_the_ui_starts_without_the_database_layer(module: str) -> None:
    """The login screen is drawn from Textual alone; the rest loads behind it in a worker
    (tui/opening.py)."""
    assert (
        _loaded(
            module,
            (
                "sqlalchemy",
                "sqlmodel",
                "alembic",
                "pint",
                "argon2",
                "lottrack.storage.db",
                "lottrack.storage.models",
                "lottrack.records.permissions",
                "tui.home",
            ),
        )
        == []
    )
