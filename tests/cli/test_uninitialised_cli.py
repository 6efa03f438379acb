"""Commands on a database that ``lottrack init`` never created: exit 2, one line saying to
run ``lottrack init``, no password asked and nothing created (design §11)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect
from typer.testing import CliRunner

from lottrack.cli import app
from tests.conftest import PASSWORD

runner = CliRunner()

COMMANDS = [
    ["audit", "verify"],
    ["certificate", "verify", "some.pdf"],
    ["export", "--format", "csv", "-o", "out", "--as", "root"],
    ["user", "list", "--as", "root"],
    ["user", "passwd", "root"],
    ["spec", "show"],
    ["allocation", "generate", "--seed", "1", "--as", "root"],
    ["visits", "schedule", "TLS-001", "--week0", "2025-03-14", "--as", "root"],
    ["certificate", "release", "L-1", "-o", "c.pdf", "--as", "root"],
    ["backup", "copy.db"],
]


def _invoke(args: list[str], *, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = runner.invoke(app, args, input=PASSWORD + "\n", env=env)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception  # a traceback is exactly what must not happen
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize("args", COMMANDS, ids=lambda a: " ".join(a[:2]))
def test_a_missing_sqlite_file_is_named_and_not_created(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    dbfile = tmp_path / "lottrack.db"
    code, stdout, stderr = _invoke(["--db", str(dbfile), *args])
    assert code == 2
    assert "Password" not in stdout  # refused before the password is asked
    assert stderr.splitlines() == [
        f"error: No lottrack database: {dbfile} holds no lottrack database (it was never "
        "initialised); run `lottrack init` first to create it, or choose another with --db "
        "or LOTTRACK_DATABASE_URL."
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # no empty lottrack.db, no files


def test_the_environment_url_is_checked_the_same_way(tmp_path: Path) -> None:
    dbfile = tmp_path / "site.db"
    code, _, stderr = _invoke(["audit", "verify"], env={"LOTTRACK_DATABASE_URL": str(dbfile)})
    assert code == 2
    assert "run `lottrack init` first" in stderr
    assert not dbfile.exists()


def test_an_empty_file_or_server_schema_is_refused_untouched(db_url: str) -> None:
    if db_url.startswith("sqlite"):
        Path(db_url.removeprefix("sqlite:///")).touch()
    code, _, stderr = _invoke(["--db", db_url, "user", "list", "--as", "root"])
    assert code == 2
    assert "holds no lottrack database" in stderr
    assert "run `lottrack init` first" in stderr
    engine = create_engine(db_url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        assert inspect(engine).get_table_names() == []
    finally:
        engine.dispose()
    if db_url.startswith("sqlite"):
        path = Path(db_url.removeprefix("sqlite:///"))
        assert path.stat().st_size == 0
        assert sorted(os.listdir(path.parent)) == [path.name]  # no -wal or -shm beside it


def test_init_still_creates_the_database(tmp_path: Path) -> None:
    dbfile = tmp_path / "new.db"
    code, stdout, _ = _invoke(["--db", str(dbfile), "init", "--admin", "root", "--password-stdin"])
    assert code == 0
    assert "Created the database" in stdout
    assert _invoke(["--db", str(dbfile), "audit", "verify", "--as", "root"])[0] == 0


def test_demo_writes_where_lottrack_database_url_points(tmp_path: Path) -> None:
    dbfile = tmp_path / "shared.db"
    code, stdout, _ = _invoke(["demo"], env={"LOTTRACK_DATABASE_URL": str(dbfile)})
    assert code == 0
    assert f"Demo database ready: sqlite:///{dbfile}" in stdout
    assert "lottrack --demo" not in stdout  # it is not the demo file --demo opens
    assert dbfile.exists()
    engine = create_engine(f"sqlite:///{dbfile}")
    try:
        assert "lot" in inspect(engine).get_table_names()
    finally:
        engine.dispose()
