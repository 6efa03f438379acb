"""Accounts under Part 11 §11.300 (design §6.9): the same answer and time for an unknown
user and a wrong password, rehash on login, the password rules, no reuse of the last
five, and the first login of an account an administrator set up."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from argon2 import PasswordHasher
from sqlmodel import col, select
from typer.testing import CliRunner

from lottrack.cli import app
from lottrack.kernel.errors import AuthenticationFailed, ValidationError
from lottrack.records import accounts
from lottrack.records.permissions import CurrentUser
from lottrack.storage import audit
from lottrack.storage.db import Database
from lottrack.storage.models import AuditEvent, User
from tests.conftest import PASSWORD, verify_ok

MakeUser = Callable[..., CurrentUser]
runner = CliRunner()
REFUSED = "Unknown username or wrong password."


def _login(db: Database, username: str, password: str) -> CurrentUser:
    with db.session() as s:
        return accounts.authenticate(s, username, password)


def _refusal(db: Database, username: str, password: str) -> str:
    with pytest.raises(AuthenticationFailed) as info:
        _login(db, username, password)
    return info.value.message


def _user(db: Database, username: str) -> User:
    with db.reader() as s:
        return s.exec(select(User).where(User.username == username)).one()


def _change(db: Database, username: str, old: str, new: str) -> None:
    with db.session() as s:
        accounts.change_password(s, username, old, new)


def test_an_unknown_user_costs_the_same_password_check_as_a_wrong_password(
    db: Database, make_user: MakeUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_user("qa", username="quinn")
    checks: list[str] = []
    real = accounts._matches

    def counted(stored: str, password: str) -> bool:
        checks.append(password)
        return real(stored, password)

    monkeypatch.setattr(accounts, "_matches", counted)
    assert _refusal(db, "quinn", "wrong-password-1") == REFUSED
    assert _refusal(db, "nobody-here", "wrong-password-2") == REFUSED
    assert checks == ["wrong-password-1", "wrong-password-2"]


def test_an_unknown_user_takes_as_long_as_a_wrong_password_with_the_real_profile(
    db: Database, make_user: MakeUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(accounts, "_hasher", PasswordHasher())  # the production profile
    monkeypatch.setattr(accounts, "_dummy_hash", None)
    make_user("qa", username="quinn")

    def fastest(name: str) -> float:
        times = []
        for _ in range(3):
            start = time.perf_counter()
            _refusal(db, name, "wrong-password-1")
            times.append(time.perf_counter() - start)
        return min(times)

    fastest("nobody-here")  # the dummy hash is made on first use
    known, unknown = fastest("quinn"), fastest("nobody-here")
    # Before: 2 ms against 270 ms. The same argon2 check now dominates both.
    assert 1 / 4 < unknown / known < 4, (unknown, known)


def test_passwd_for_an_unknown_user_says_what_a_wrong_password_says(
    db: Database, make_user: MakeUser
) -> None:
    make_user("qa", username="quinn")

    def passwd(name: str) -> Any:
        return runner.invoke(
            app,
            ["--db", db.url, "user", "passwd", name, "--password-stdin"],
            input="wrong-password-1\nanother-password-2\n",
        )

    unknown, wrong = passwd("nosuchuser"), passwd("quinn")
    assert (unknown.exit_code, unknown.stderr) == (wrong.exit_code, wrong.stderr)
    assert wrong.exit_code == 1
    assert wrong.stderr.strip() == f"error: Login refused: {REFUSED}"
    assert "nosuchuser" not in unknown.output


def test_a_hash_made_with_other_parameters_is_rehashed_at_login(
    db: Database, make_user: MakeUser
) -> None:
    make_user("technician", username="tina")
    old = PasswordHasher(time_cost=2, memory_cost=2048, parallelism=1).hash(PASSWORD)
    with db.session() as s:
        user = s.exec(select(User).where(User.username == "tina")).one()
        audit.set_actor(s, user.id, "tina")
        with audit.reason(s, "test: a hash from an older release"):
            user.password_hash = old
    _login(db, "tina", PASSWORD)
    stored = _user(db, "tina").password_hash
    assert stored != old
    assert "m=1024,t=1,p=1" in stored  # the profile in force (the test suite's)
    assert _login(db, "tina", PASSWORD).username == "tina"
    with db.reader() as s:
        reasons = s.exec(
            select(AuditEvent.reason).where(
                AuditEvent.entity == "user", col(AuditEvent.changes).contains("password_hash")
            )
        ).all()
    assert "password rehashed with the current argon2 parameters" in reasons
    verify_ok(db)


@pytest.mark.parametrize(
    ("password", "why"),
    [
        ("aaaaaaaaaa", "at least 12 characters"),
        ("short-pw-11", "at least 12 characters"),
        ("aaaaaaaaaaaa", "at least 5 different characters"),
        ("abababababababab", "at least 5 different characters"),
        ("Theodore-Long", "must not be the username"),
    ],
)
def test_weak_passwords_are_refused_everywhere(
    db: Database, admin: CurrentUser, make_user: MakeUser, password: str, why: str
) -> None:
    make_user("qa", username="theodore-long")
    with pytest.raises(ValidationError, match=why) as info, db.session() as s:
        accounts.change_password(s, "theodore-long", PASSWORD, password)
    assert info.value.field == "password"
    with pytest.raises(ValidationError, match=why), db.session() as s:
        accounts.reset_password(s, admin, "theodore-long", password)
    new_name = "theodore-long" if "username" in why else "theo-two"
    with pytest.raises(ValidationError, match=why), db.session() as s:
        accounts.create_user(
            s,
            admin,
            username=new_name.replace("long", "lang"),
            full_name="Theo Two",
            roles=["qa"],
            password=password.replace("Long", "Lang"),
        )
    assert _login(db, "theodore-long", PASSWORD).username == "theodore-long"


def test_none_of_the_last_five_passwords_comes_back(
    db: Database, admin: CurrentUser, make_user: MakeUser
) -> None:
    make_user("qa", username="quinn")
    a, b = PASSWORD, "second-password-b"
    _change(db, "quinn", a, b)
    with pytest.raises(ValidationError, match="last 5 passwords"):
        _change(db, "quinn", b, a)  # A → B → A
    with pytest.raises(ValidationError, match="last 5 passwords"):
        _change(db, "quinn", b, b)
    with pytest.raises(ValidationError, match="last 5 passwords"), db.session() as s:
        accounts.reset_password(s, admin, "quinn", a)  # nor through an administrator
    history = ["third-password-c", "fourth-password-d", "fifth-password-e"]
    for old, new in zip([b, *history], history, strict=False):
        _change(db, "quinn", old, new)
    with pytest.raises(ValidationError, match="last 5 passwords"):
        _change(db, "quinn", "fifth-password-e", a)  # a, b, c, d, e: still the last five
    _change(db, "quinn", "fifth-password-e", "sixth-password-f")
    _change(db, "quinn", "sixth-password-f", a)  # six back: allowed again
    assert _login(db, "quinn", a).username == "quinn"
    with db.reader() as s:  # the old hashes never reach the audit trail
        changes = s.exec(
            select(AuditEvent.changes).where(col(AuditEvent.changes).contains("password_history"))
        ).all()
    assert changes
    assert all("$argon2" not in c for c in changes)
    verify_ok(db)


def test_an_account_an_admin_created_changes_its_password_at_first_login(
    db: Database, admin: CurrentUser
) -> None:
    with db.session() as s:
        accounts.create_user(
            s,
            admin,
            username="nina",
            full_name="Nina New",
            roles=["technician"],
            password="given-by-admin-1",
        )
    assert _user(db, "nina").must_change_password is True
    with pytest.raises(accounts.PasswordExpired, match="set by an administrator"):
        _login(db, "nina", "given-by-admin-1")

    def cli(*args: str, stdin: str) -> Any:
        return runner.invoke(app, ["--db", db.url, *args], input=stdin)

    listed = cli("user", "list", "--as", "nina", "--password-stdin", stdin="given-by-admin-1\n")
    assert listed.exit_code == 1
    assert "set by an administrator" in listed.stderr
    assert "lottrack user passwd nina" in listed.stderr
    same = cli(
        "user", "passwd", "nina", "--password-stdin", stdin="given-by-admin-1\ngiven-by-admin-1\n"
    )
    assert same.exit_code == 2
    assert "last 5 passwords" in same.stderr
    changed = cli(
        "user", "passwd", "nina", "--password-stdin", stdin="given-by-admin-1\nninas-own-pass-7\n"
    )
    assert changed.exit_code == 0, changed.output
    assert _user(db, "nina").must_change_password is False
    assert _login(db, "nina", "ninas-own-pass-7").username == "nina"
