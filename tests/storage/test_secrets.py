"""No password is ever printed, logged or passed on a command line (design §6.9): init
and demo show the URL masked, pg_dump gets the password through its environment, the log
masks any URL's password."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from lottrack.cli import app
from lottrack.kernel import logs
from lottrack.storage import backup as backup_module
from lottrack.storage.db import Database, shown_url

runner = CliRunner()
SECRET = "s3cret-Pa55word"


def with_password(url: str) -> str:
    """The test server trusts local connections, so a password in the URL is accepted
    (and ignored) by the server: what matters is where lottrack shows it."""
    return make_url(url).set(password=SECRET).render_as_string(hide_password=False)


@pytest.fixture
def pg_url(db_url: str) -> str:
    if db_url.startswith("sqlite"):
        pytest.skip("a SQLite URL holds no password")
    return with_password(db_url)


def test_init_prints_the_url_masked(pg_url: str) -> None:
    result = runner.invoke(
        app,
        ["--db", pg_url, "init", "--admin", "root", "--password-stdin"],
        input="root-password-1\n",
    )
    assert result.exit_code == 0, result.output
    assert SECRET not in result.output
    assert "Database: postgresql+psycopg://postgres:***@" in result.stdout


def test_demo_prints_the_url_masked(pg_url: str) -> None:
    result = runner.invoke(app, ["--db", pg_url, "demo"])
    assert result.exit_code == 0, result.output
    assert SECRET not in result.output
    assert "Demo database ready: postgresql+psycopg://postgres:***@" in result.stdout


def test_pg_dump_gets_the_password_in_its_environment_never_its_arguments(
    pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner.invoke(app, ["--db", pg_url, "init"])
    seen: list[tuple[list[str], dict[str, str]]] = []
    real = subprocess.run

    def spy(cmd: list[str], **kwargs: Any) -> Any:
        seen.append((cmd, kwargs["env"]))
        return real(cmd, **kwargs)

    monkeypatch.setattr("lottrack.storage.backup.subprocess.run", spy)
    result = backup_module.backup(pg_url, tmp_path / "copy.dump")
    assert result.bytes > 0
    [(cmd, env)] = seen
    assert not any(SECRET in part for part in cmd)
    assert env["PGPASSWORD"] == SECRET


def test_the_log_and_a_database_repr_mask_passwords() -> None:
    url = f"postgresql://lottrack_app:{SECRET}@db-host/lottrack"
    assert shown_url(url) == "postgresql+psycopg://lottrack_app:***@db-host/lottrack"
    record = logging.LogRecord(
        "lottrack", logging.ERROR, __file__, 1, "could not reach %s", (url,), None
    )
    try:
        raise RuntimeError(f"connect failed for {url}")
    except RuntimeError:
        record.exc_info = sys.exc_info()
    line = logs._NoPasswords(logs.FORMAT).format(record)
    assert SECRET not in line
    assert "lottrack_app:***@db-host" in line
    db = Database("sqlite:///:memory:")
    assert repr(db) == "Database('sqlite:///:memory:')"
    db.dispose()
