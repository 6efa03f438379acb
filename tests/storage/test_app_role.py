"""Least privilege on PostgreSQL (design §6.9): ``lottrack init --app-role NAME``, run with
the owner's URL, makes the role the terminals connect as. Connected as that role the
audit trail cannot be deleted, changed or truncated, nor any GMP row deleted; the whole
demo build and ``audit verify`` still succeed."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from lottrack.cli import app
from lottrack.storage.db import normalise_url

ADMIN_PW = "root-password-1"


@pytest.fixture
def app_role(pg_server_url: str) -> Iterator[str]:
    """A role name of this test's own (roles are shared by the whole server), dropped with
    its privileges afterwards."""
    role = f"lottrack_app_{secrets.token_hex(4)}"
    yield role
    engine = create_engine(pg_server_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        if conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}).first():
            conn.execute(text(f"DROP OWNED BY {role}"))
            conn.execute(text(f"DROP ROLE {role}"))
    engine.dispose()


def _as_role(url: str, role: str) -> str:
    return make_url(url).set(username=role, password=None).render_as_string(hide_password=False)


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_the_app_role_cannot_delete_and_runs_the_whole_program(
    db_url: str, app_role: str, pg_admin: Engine
) -> None:
    runner = CliRunner()
    owner = runner.invoke(app, ["--db", db_url, "init", "--app-role", app_role])
    assert owner.exit_code == 0, owner.output
    assert f"Application role '{app_role}'" in owner.output
    assert "SELECT, INSERT on audit_checkpoint, audit_event" in owner.output
    again = runner.invoke(app, ["--db", db_url, "init", "--app-role", app_role])  # updates
    assert again.exit_code == 0, again.output

    app_url = _as_role(db_url, app_role)
    engine = create_engine(normalise_url(app_url))
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SELECT current_user")).scalar() == app_role
            assert conn.execute(text("SELECT count(*) FROM audit_event")).scalar()
        for sql in (
            "DELETE FROM audit_event",
            "UPDATE audit_event SET reason = 'x'",
            "TRUNCATE audit_event",
            "DELETE FROM audit_checkpoint",
            "UPDATE audit_checkpoint SET seq = 0",
            "DELETE FROM setting",
            "TRUNCATE setting",
            'DELETE FROM "user"',
            "DROP TABLE lot",
            "ALTER TABLE audit_event DISABLE TRIGGER USER",
        ):
            with (
                pytest.raises(Exception, match="permission denied|must be owner"),
                engine.begin() as conn,
            ):
                conn.execute(text(sql))
    finally:
        engine.dispose()

    # The program, connected as the role: the whole demo build, then the checks.
    demo = runner.invoke(app, ["--db", app_url, "demo"])
    assert demo.exit_code == 0, demo.output
    verified = runner.invoke(
        app,
        ["--db", app_url, "audit", "verify", "--as", "qa", "--password-stdin"],
        input="qa-demo-pass\n",
    )
    assert verified.exit_code == 0, verified.output
    assert "Audit trail intact" in verified.output
    checkpoint = runner.invoke(app, ["--db", app_url, "audit", "checkpoint"])
    assert checkpoint.exit_code == 0, checkpoint.output
    with pg_admin.connect() as conn:  # the role owns nothing: it can be dropped cleanly
        owned = conn.execute(
            text(
                "SELECT count(*) FROM pg_class c JOIN pg_roles r ON "
                "r.oid = c.relowner WHERE r.rolname = :r"
            ),
            {"r": app_role},
        ).scalar()
    assert owned == 0


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_an_app_role_is_for_postgresql_only(db_url: str) -> None:
    result = CliRunner().invoke(
        app,
        ["--db", db_url, "init", "--admin", "root", "--password-stdin", "--app-role", "terminals"],
        input=ADMIN_PW + "\n",
    )
    assert result.exit_code == 2
    assert "a least-privilege role is for PostgreSQL" in result.output
