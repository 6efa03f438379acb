"""Start-up: the CLI loads only what the command run needs (lottrack/cli/__init__.py).

Each check runs in a fresh interpreter, as a person's shell would start it, and reads
``sys.modules`` once the command has finished.
"""

from __future__ import annotations

import inspect
import json
import subprocess
import sys

import pytest

HEAVY = (
    "sqlalchemy",
    "sqlmodel",
    "alembic",
    "pint",
    "argon2",
    "reportlab",
    "pyhanko",
    "textual",
    "lottrack.storage.models",
    "lottrack.storage.db",
    "tui",
)


def _run(args: list[str]) -> dict[str, object]:
    """Run ``lottrack ARGS`` in a new interpreter; its exit code, output and the heavy
    modules it loaded."""
    code = (
        "import io, json, sys\n"
        "from contextlib import redirect_stdout\n"
        "from lottrack.cli import app\n"
        "out = io.StringIO()\n"
        "with redirect_stdout(out):\n"
        "    try:\n"
        f"        app({args!r}, prog_name='lottrack')\n"
        "    except SystemExit as done:\n"
        "        code = done.code\n"
        f"loaded = [m for m in {HEAVY!r} if m in sys.modules]\n"
        "print(json.dumps({'code': code, 'out': out.getvalue(), 'loaded': loaded}))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_importing_the_cli_loads_no_heavy_library() -> None:
    code = f"import sys, lottrack.cli\nprint([m for m in {HEAVY!r} if m in sys.modules])"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_help_lists_every_command_without_the_database_layer() -> None:
    result = _run(["--help"])
    assert result["code"] == 0
    for command in ("dose-check", "din", "certificate", "user", "audit", "allocation"):
        assert command in str(result["out"])
    assert result["loaded"] == []


@pytest.mark.parametrize(
    ("args", "code", "expected"),
    [
        (["dose-check", "--weight", "154 lb", "--viable-cells", "1.2e8"], 0, "inside the window"),
        (["dose-check", "--weight", "70 kg", "--viable-cells", "5e8"], 1, "ABOVE the window"),
        (["din", "check-char", "G123498654321"], 0, "H"),
        (["din", "validate", "G123498654321H"], 0, "valid: G1234 98 654321"),
    ],
)
def test_dose_check_and_din_never_load_sqlalchemy(
    args: list[str], code: int, expected: str
) -> None:
    result = _run(args)
    assert result["code"] == code
    assert expected in str(result["out"])
    loaded = result["loaded"]
    assert isinstance(loaded, list)
    assert not {
        "sqlalchemy",
        "sqlmodel",
        "alembic",
        "lottrack.storage.db",
        "lottrack.storage.models",
    } & set(loaded)
    # dose-check needs pint (units) and nothing of the database; din needs neither
    assert ("pint" in loaded) == (args[0] == "dose-check")


def test_command_annotations_are_evaluated_once_at_import() -> None:
    """Typer reads every command's parameters to build ``--help``; annotations left as
    text (``from __future__ import annotations``) it compiles and evaluates twice per
    command, a third of ``lottrack --help``'s own time (bench/bench_startup.py)."""
    from lottrack.cli import app

    callbacks = [c.callback for c in app.registered_commands]
    for group in app.registered_groups:
        assert group.typer_instance is not None
        callbacks += [c.callback for c in group.typer_instance.registered_commands]
    assert len(callbacks) > 20
    as_text = {
        f"{f.__module__}.{f.__name__}({name})"
        for f in callbacks
        if f is not None
        for name, annotation in inspect.get_annotations(f).items()
        if isinstance(annotation, str)
    }
    assert not as_text, f"annotations left as text: {sorted(as_text)}"
