"""``lottrack doctor`` (design §6.9): the config file that gives the database URL, file
and folder modes, and what the PostgreSQL role may do to the audit trail; each finding
with its fix, exit 0 clean and 1 with findings."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from lottrack.cli import app
from lottrack.storage.db import Database
from lottrack.views.documents import signing

runner = CliRunner()
ADMIN_PW = "root-password-1"


@pytest.fixture
def folders(tmp_path: Path) -> dict[str, str | None]:
    """A private key folder with the facility key, checkpoint and log folders; no URL or
    config file from the environment."""
    keys = tmp_path / "keys"
    signing.ensure_facility_key(keys)
    for name in ("checkpoints", "log"):
        (tmp_path / name).mkdir(mode=0o700)
    return {
        "LOTTRACK_KEY_DIR": str(keys),
        "LOTTRACK_CHECKPOINT_DIR": str(tmp_path / "checkpoints"),
        "LOTTRACK_LOG_DIR": str(tmp_path / "log"),
        "LOTTRACK_DATABASE_URL": None,
        "LOTTRACK_CONFIG": None,
    }


def doctor(env: dict[str, str | None], *args: str) -> Any:
    return runner.invoke(app, [*args, "doctor"], env=env)


def findings(result: Any) -> list[tuple[str, str]]:
    lines = result.stdout.splitlines()
    return [
        (line.removeprefix("FINDING: "), lines[n + 1].removeprefix("  fix: "))
        for n, line in enumerate(lines)
        if line.startswith("FINDING: ")
    ]


def init(path: Path, env: dict[str, str | None]) -> None:
    result = runner.invoke(
        app,
        ["--db", str(path), "init", "--admin", "root", "--password-stdin"],
        input=ADMIN_PW + "\n",
        env=env,
    )
    assert result.exit_code == 0, result.output


def test_a_sqlite_installation_made_by_init_is_clean_and_loosened_modes_are_found(
    tmp_path: Path, folders: dict[str, str | None]
) -> None:
    path = tmp_path / "site" / "lottrack.db"
    init(path, folders)
    clean = doctor(folders, "--db", str(path))
    assert clean.exit_code == 0, clean.output
    assert f"Database: sqlite:///{path} (from --db)" in clean.stdout
    assert "No findings" in clean.stdout
    path.chmod(0o644)
    path.parent.chmod(0o755)
    key = Path(str(folders["LOTTRACK_KEY_DIR"])) / signing.KEY_FILE
    key.chmod(0o640)
    found = doctor(folders, "--db", str(path))
    assert found.exit_code == 1
    assert findings(found) == [
        (f"The database file {path} is open to other accounts (mode 644).", f"chmod 600 {path}"),
        (
            f"The database folder {path.parent} is open to other accounts (mode 755).",
            f"chmod 700 {path.parent}",
        ),
        (f"The facility key {key} is open to other accounts (mode 640).", f"chmod 600 {key}"),
    ]
    assert found.stdout.endswith("3 finding(s).\n")


def test_the_config_file_gives_the_url_and_must_be_the_service_accounts_alone(
    tmp_path: Path, folders: dict[str, str | None]
) -> None:
    path = tmp_path / "site.db"
    init(path, folders)
    config = tmp_path / "lottrack.toml"
    config.write_text(f'database_url = "sqlite:///{path}"\n')
    config.chmod(0o600)
    env = {**folders, "LOTTRACK_CONFIG": str(config)}
    clean = doctor(env)
    assert clean.exit_code == 0, clean.output
    assert f"Database: sqlite:///{path} (from the config file)" in clean.stdout
    listed = runner.invoke(
        app, ["user", "list", "--as", "root", "--password-stdin"], input=ADMIN_PW + "\n", env=env
    )  # every command reads it
    assert listed.exit_code == 0, listed.output
    assert "root" in listed.stdout
    config.chmod(0o644)
    assert findings(doctor(env)) == [
        (f"The config file {config} is open to other accounts (mode 644).", f"chmod 600 {config}")
    ]
    config.write_text(f'database_url = "sqlite:///{path}"\ndatabse_password = "x"\n')
    config.chmod(0o600)
    bad = doctor(env)
    assert bad.exit_code == 1
    assert "unknown key(s) databse_password" in bad.stdout
    refused = runner.invoke(
        app, ["user", "list", "--as", "root", "--password-stdin"], input=ADMIN_PW + "\n", env=env
    )
    assert refused.exit_code == 2
    assert "unknown key(s) databse_password" in refused.stderr


def test_a_password_in_the_environment_is_a_finding(
    tmp_path: Path, folders: dict[str, str | None]
) -> None:
    env = {**folders, "LOTTRACK_DATABASE_URL": "postgresql://app:hunter2-pass@127.0.0.1:1/x"}
    result = doctor(env)
    assert result.exit_code == 1
    assert "hunter2" not in result.output
    problems = [problem for problem, _ in findings(result)]
    assert problems[0] == (
        "The database password is given in $LOTTRACK_DATABASE_URL, where "
        "the shell history or other processes of the account can read it."
    )
    assert any("cannot be reached" in problem for problem in problems)


@pytest.fixture
def pg_db(db: Database) -> Database:
    if db.dialect != "postgresql":
        pytest.skip("roles are PostgreSQL's")
    return db


def test_the_owner_superuser_role_is_found(pg_db: Database, folders: dict[str, str | None]) -> None:
    result = doctor(folders, "--db", pg_db.url)
    assert result.exit_code == 1
    problems = [problem for problem, _ in findings(result)]
    assert (
        "The program connects as postgres, a superuser: it can do anything to the "
        "records and their audit trail." in problems
    )
    assert (
        "The program connects as postgres, which owns audit_event: it may drop its "
        "triggers and rewrite it." in problems
    )
    assert (
        "The role postgres may UPDATE, DELETE, TRUNCATE audit_event (the audit trail "
        "must only grow)." in problems
    )
    assert all("--app-role" in fix for _, fix in findings(result))


@pytest.fixture
def app_role_url(pg_db: Database, pg_admin: Engine) -> Iterator[str]:
    """The URL of the application role ``lottrack init --app-role`` makes (the owner's
    URL given): it may read and add records but not change or empty the trail."""
    role = f"lt_app_{secrets.token_hex(4)}"
    made = runner.invoke(app, ["--db", pg_db.url, "init", "--app-role", role])
    assert made.exit_code == 0, made.output
    url = make_url(pg_db.url)
    try:
        yield url.set(username=role).render_as_string(hide_password=False)
    finally:
        owner = create_engine(url, isolation_level="AUTOCOMMIT")
        with owner.connect() as conn:
            conn.execute(text(f'DROP OWNED BY "{role}"'))
        owner.dispose()
        with pg_admin.connect() as conn:
            conn.execute(text(f'DROP ROLE "{role}"'))


def test_the_application_role_is_clean(app_role_url: str, folders: dict[str, str | None]) -> None:
    result = doctor(folders, "--db", app_role_url)
    assert result.exit_code == 0, result.output
    assert "No findings" in result.stdout
