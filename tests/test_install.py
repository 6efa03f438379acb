"""The install cannot drift: what runs is what the lock files say, and CI runs the README's
test command (issue #13)."""

from __future__ import annotations

import re
import tomllib
from importlib import metadata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)", re.MULTILINE)
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*")


def normalise(name: str) -> str:
    """PEP 503: ``PyHanko``, ``pyhanko`` and ``py_hanko`` are one project."""
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(lock: str) -> dict[str, str]:
    """Every ``name==version`` of a lock file, by normalised name."""
    text = (ROOT / "requirements" / lock).read_text(encoding="utf-8")
    return {normalise(n): v for n, v in PIN.findall(text)}


def direct(extra: str | None = None) -> set[str]:
    """The normalised names pyproject.toml asks for (the runtime ones, or an extra's)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    wanted = project["dependencies"] if extra is None else project["optional-dependencies"][extra]
    found = (NAME.match(w.strip()) for w in wanted)
    return {normalise(m.group(0)) for m in found if m}


def readme_command(marker: str) -> str:
    """The README's fresh-machine command line that contains ``marker``."""
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    (line,) = [x.strip() for x in lines if x.startswith("    python3 -m venv") and marker in x]
    return line


def test_every_installed_package_has_the_locked_version() -> None:
    locked = pins("test.lock")
    assert len(locked) > 40, "the lock lists every transitive dependency"
    drifted = {}
    for name, version in locked.items():
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            drifted[name] = (version, "not installed")
            continue
        if installed != version:
            drifted[name] = (version, installed)
    assert not drifted, f"installed versions differ from requirements/test.lock: {drifted}"


@pytest.mark.parametrize(
    "name", ["textual", "sqlalchemy", "sqlmodel", "pint", "reportlab", "pyhanko", "psycopg"]
)
def test_the_libraries_that_shape_behaviour_are_pinned_alike_in_both_locks(name: str) -> None:
    run, test = pins("run.lock"), pins("test.lock")
    assert run[name] == test[name] == metadata.version(name)


def test_the_locks_cover_what_pyproject_asks_for() -> None:
    run, test = pins("run.lock"), pins("test.lock")
    assert direct() - set(run) == set(), "run ./lock after changing pyproject.toml"
    assert (direct() | direct("test")) - set(test) == set(), "run ./lock"
    # Every runtime package has the same version in both files.
    assert {n: v for n, v in test.items() if n in run} == run


def test_ci_runs_the_readme_test_command_verbatim() -> None:
    command = readme_command("./check")
    assert "requirements/test.lock" in command
    assert "--no-deps" in command
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert command in [line.strip() for line in ci]


def test_the_demo_command_installs_from_the_runtime_lock() -> None:
    command = readme_command("--demo")
    assert "-r requirements/run.lock" in command
    assert "--no-deps -e ." in command
