"""The foundation commands as a person runs them: exit codes and messages (design §11)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.storage.test_specifications import spec_file

ADMIN_PW = "root-password-1"


def run(
    *args: str, stdin: str = "", env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "LOTTRACK_USER": "", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "lottrack", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        env=full_env,
        check=False,
    )


@pytest.fixture
def dbfile(tmp_path: Path) -> str:
    return str(tmp_path / "site.db")


def test_help_lists_the_commands() -> None:
    result = run("--help")
    assert result.returncode == 0
    for command in ("init", "demo", "tui", "user", "audit", "dose-check", "din"):
        assert command in result.stdout


def test_init_then_init_again_then_verify(dbfile: str) -> None:
    first = run(
        "--db",
        dbfile,
        "init",
        "--admin",
        "root",
        "--name",
        "Root Admin",
        "--password-stdin",
        stdin=ADMIN_PW + "\n",
    )
    assert first.returncode == 0, first.stderr
    assert "Created the database" in first.stdout
    assert "Created administrator 'root'" in first.stdout
    again = run("--db", dbfile, "init")
    assert again.returncode == 0, again.stderr
    assert "already at schema" in again.stdout
    assert "1 user account(s)" in again.stdout
    verified = run(
        "--db", dbfile, "audit", "verify", "--as", "root", "--password-stdin", stdin=ADMIN_PW + "\n"
    )
    assert verified.returncode == 0
    assert "Audit trail intact" in verified.stdout


def test_database_url_comes_from_the_environment(dbfile: str) -> None:
    result = run(
        "init",
        "--admin",
        "root",
        "--password-stdin",
        stdin=ADMIN_PW + "\n",
        env={"LOTTRACK_DATABASE_URL": dbfile},
    )
    assert result.returncode == 0, result.stderr
    assert Path(dbfile).exists()


def test_short_password_at_init_exits_2_and_creates_no_admin(dbfile: str) -> None:
    result = run("--db", dbfile, "init", "--admin", "root", "--password-stdin", stdin="short\n")
    assert result.returncode == 2
    assert "Password: must be at least 12 characters" in result.stderr
    assert result.stderr.count("\n") == 1


def test_user_commands_and_a_tampered_row(dbfile: str) -> None:
    run("--db", dbfile, "init", "--admin", "root", "--password-stdin", stdin=ADMIN_PW + "\n")
    added = run(
        "--db",
        dbfile,
        "user",
        "add",
        "quinn",
        "--name",
        "Quinn Quality",
        "--role",
        "qa",
        "--as",
        "root",
        "--password-stdin",
        stdin=f"{ADMIN_PW}\nquinn-password-1\n",
    )
    assert added.returncode == 0, added.stderr
    assert "Added quinn (Quinn Quality): qa." in added.stdout
    first = run(
        "--db",
        dbfile,
        "user",
        "list",
        "--as",
        "quinn",
        "--password-stdin",
        stdin="quinn-password-1\n",
    )  # an account an admin made: choose your own
    assert first.returncode == 1
    assert "Run: lottrack user passwd quinn" in first.stderr
    chosen = run(
        "--db",
        dbfile,
        "user",
        "passwd",
        "quinn",
        "--password-stdin",
        stdin="quinn-password-1\nquinns-own-pass-2\n",
    )
    assert chosen.returncode == 0, chosen.stderr
    refused = run(
        "--db",
        dbfile,
        "user",
        "add",
        "eve",
        "--name",
        "Eve",
        "--role",
        "admin",
        "--as",
        "quinn",
        "--password-stdin",
        stdin="quinns-own-pass-2\neve-password-1\n",
    )
    assert refused.returncode == 1
    assert "may not manage users" in refused.stderr
    listing = run(
        "--db", dbfile, "user", "list", "--as", "root", "--password-stdin", stdin=ADMIN_PW + "\n"
    )
    assert "quinn" in listing.stdout
    assert "eve" not in listing.stdout
    engine = create_engine(f"sqlite:///{dbfile}")
    with engine.begin() as conn:  # each command run --as logs its person in, audited
        logins = conn.execute(
            text("SELECT username, reason FROM audit_event WHERE action = 'login' ORDER BY seq")
        ).all()
    engine.dispose()
    assert [tuple(row) for row in logins] == [
        ("root", "command line"),
        ("quinn", "command line"),
        ("root", "command line"),
    ]

    engine = create_engine(f"sqlite:///{dbfile}")
    with engine.begin() as conn:
        conn.execute(text("UPDATE user SET roles = 'admin,qa' WHERE username = 'quinn'"))
        quinn_id = conn.execute(text("SELECT id FROM user WHERE username='quinn'")).scalar()
    engine.dispose()
    broken = run(
        "--db", dbfile, "audit", "verify", "--as", "root", "--password-stdin", stdin=ADMIN_PW + "\n"
    )
    assert broken.returncode == 1
    assert f"user id {quinn_id}: current values differ" in broken.stderr


def test_wrong_password_on_a_command_exits_1(dbfile: str) -> None:
    run("--db", dbfile, "init", "--admin", "root", "--password-stdin", stdin=ADMIN_PW + "\n")
    result = run(
        "--db", dbfile, "user", "list", "--as", "root", "--password-stdin", stdin="wrong-password\n"
    )
    assert result.returncode == 1
    assert "Unknown username or wrong password" in result.stderr


def test_demo_refuses_a_database_with_real_data(dbfile: str) -> None:
    run("--db", dbfile, "init", "--admin", "root", "--password-stdin", stdin=ADMIN_PW + "\n")
    result = run("--db", dbfile, "demo")
    assert result.returncode == 2
    assert "holds non-demo data" in result.stderr


def test_demo_builds_once_and_rebuilds_with_force(tmp_path: Path) -> None:
    demo_db = str(tmp_path / "demo.db")
    built = run("--db", demo_db, "demo")
    assert built.returncode == 0, built.stderr
    for username in ("admin", "tech", "qa", "pharm", "pharm2", "ward", "inv"):
        assert f"  {username} " in built.stdout
    engine = create_engine(f"sqlite:///{demo_db}")
    with engine.connect() as conn:
        by_status = text("SELECT status, count(*) FROM lot GROUP BY status")
        lot_states: dict[str, int] = dict(conn.execute(by_status).all())
        visit_states = set(conn.execute(text("SELECT DISTINCT status FROM visit")).scalars())
        sequences = set(conn.execute(text("SELECT sequence FROM allocation")).scalars())
    engine.dispose()
    assert set(lot_states) == {
        "in-process",
        "awaiting-release",
        "quarantined",
        "released",
        "rejected",
        "released-exceptional",
    }
    assert visit_states == {"planned", "dispensed", "infused"}
    assert sequences == {"MSC-first", "placebo-first"}
    assert run("--db", demo_db, "demo").returncode == 2
    assert run("--db", demo_db, "demo", "--force").returncode == 0
    assert (
        run(
            "--db",
            demo_db,
            "audit",
            "verify",
            "--as",
            "admin",
            "--password-stdin",
            stdin="admin-demo-pass\n",
        ).returncode
        == 0
    )


def test_spec_show_and_import(dbfile: str, tmp_path: Path) -> None:
    run("--db", dbfile, "init", "--admin", "root", "--password-stdin", stdin=ADMIN_PW + "\n")
    shown = run("--db", dbfile, "spec", "show")
    assert shown.returncode == 0
    assert "Specification version 1" in shown.stdout
    assert "CD73" in shown.stdout
    assert "≥ 95 %" in shown.stdout
    spec = spec_file(tmp_path)
    done = run(
        "--db",
        dbfile,
        "spec",
        "import",
        str(spec),
        "--as",
        "root",
        "--password-stdin",
        stdin=ADMIN_PW + "\n",
    )
    assert done.returncode == 0, done.stderr
    assert "Specification version 2 is proposed" in done.stdout
    spec.write_text('{"items": []}')
    bad = run(
        "--db",
        dbfile,
        "spec",
        "import",
        str(spec),
        "--as",
        "root",
        "--password-stdin",
        stdin=ADMIN_PW + "\n",
    )
    assert bad.returncode == 2
    assert "list of items" in bad.stderr
