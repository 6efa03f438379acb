"""Accounts (design §6.3): lock-out, disabled users, permissions, ageing, audited failures."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from collections.abc import Callable

import pytest
from sqlmodel import select

from lottrack.kernel.errors import AuthenticationFailed, PermissionDenied, ValidationError
from lottrack.records import accounts
from lottrack.records.permissions import CurrentUser
from lottrack.storage import audit
from lottrack.storage.db import Database
from lottrack.storage.models import AuditEvent, User
from tests.conftest import PASSWORD, sessions, verify_ok

MakeUser = Callable[..., CurrentUser]


def _login(db: Database, username: str, password: str) -> CurrentUser:
    with db.session() as s:
        return accounts.authenticate(s, username, password)


def _user(db: Database, username: str) -> User:
    with db.reader() as s:
        user = s.exec(select(User).where(User.username == username)).one()
        return user


def test_right_password_logs_in(db: Database, make_user: MakeUser) -> None:
    tech = make_user("technician", username="tina")
    who = _login(db, "tina", PASSWORD)
    assert who == tech
    assert who.roles == frozenset({"technician"})


def test_logins_and_logouts_are_audited(db: Database, make_user: MakeUser) -> None:
    make_user("technician", username="tina")
    who = _login(db, "tina", PASSWORD)
    with db.session() as s:
        accounts.record_logout(s, who, "logged out")
    _login(db, "tina", PASSWORD)
    with db.session() as s:
        accounts.record_logout(s, who, "idle", 15)
    assert sessions(db, "tina") == [
        ("login", "terminal UI"),
        ("logout", "logged out"),
        ("login", "terminal UI"),
        ("logout", "logged out after 15 minutes without activity"),
    ]
    with pytest.raises(AuthenticationFailed):  # a refused login is no login
        _login(db, "tina", "not-the-password")
    with pytest.raises(ValidationError, match="not a way in"), db.session() as s:
        accounts.authenticate(s, "tina", PASSWORD, via="carrier pigeon")
    with db.session() as s:
        accounts.authenticate(s, "tina", PASSWORD, via="command line")
    assert sessions(db, "tina")[4:] == [("login", "command line")]
    verify_ok(db)


@pytest.mark.parametrize(
    ("why", "minutes"),
    [
        ("bored", None),
        ("", None),
        ("idle", None),
        ("idle", 0),
        ("idle", -5),
        ("idle", float("nan")),
        ("idle", float("inf")),
    ],
)
def test_a_logout_with_a_bad_reason_is_refused_and_nothing_stored(
    db: Database, make_user: MakeUser, why: str, minutes: float | None
) -> None:
    who = make_user("technician", username="tina")
    with pytest.raises(ValidationError, match="Logout"), db.session() as s:
        accounts.record_logout(s, who, why, minutes)
    assert sessions(db, "tina") == []


def test_wrong_password_is_counted_and_audited(db: Database, make_user: MakeUser) -> None:
    make_user("qa", username="quinn")
    with pytest.raises(AuthenticationFailed, match="wrong password"):
        _login(db, "quinn", "not-the-password")
    assert _user(db, "quinn").failed_logins == 1
    with db.reader() as s:
        failed = s.exec(select(AuditEvent).where(AuditEvent.action == "login-failed")).all()
    assert [e.reason for e in failed] == ["failed login"]
    _login(db, "quinn", PASSWORD)  # a success resets the count
    assert _user(db, "quinn").failed_logins == 0
    verify_ok(db)


def test_unknown_username_is_audited_without_saying_it_is_unknown(db: Database) -> None:
    with pytest.raises(AuthenticationFailed) as info:
        _login(db, "nobody", "whatever-pass")
    assert info.value.message == "Unknown username or wrong password."
    with db.reader() as s:
        ev = s.exec(select(AuditEvent).where(AuditEvent.action == "login-failed")).one()
    assert '"nobody"' in ev.changes


def test_five_failures_lock_the_account_until_an_admin_unlocks(
    db: Database, admin: CurrentUser, make_user: MakeUser
) -> None:
    make_user("pharmacist", username="pia")
    for _ in range(4):
        with pytest.raises(AuthenticationFailed):
            _login(db, "pia", "wrong-password")
    with pytest.raises(AuthenticationFailed, match="now locked"):
        _login(db, "pia", "wrong-password")
    assert _user(db, "pia").locked_at is not None
    with pytest.raises(AuthenticationFailed, match="locked"):
        _login(db, "pia", PASSWORD)  # the right password does not help
    with db.session() as s:
        accounts.unlock(s, admin, "pia", "identity confirmed by phone")
    assert _login(db, "pia", PASSWORD).username == "pia"
    verify_ok(db)


def test_disabled_user_cannot_log_in_and_keeps_history(
    db: Database, admin: CurrentUser, make_user: MakeUser
) -> None:
    make_user("clinician", username="wendy")
    with db.session() as s:
        accounts.set_active(s, admin, "wendy", False, "left the hospital")
    with pytest.raises(AuthenticationFailed, match="disabled"):
        _login(db, "wendy", PASSWORD)
    assert _user(db, "wendy").full_name == "Person Wendy"


def test_a_disabled_users_open_session_stops_working(
    db: Database, admin: CurrentUser, make_user: MakeUser
) -> None:
    other_admin = make_user("admin", username="ada")
    with db.session() as s:
        accounts.set_active(s, admin, "ada", False, "left")
    with pytest.raises(PermissionDenied, match="disabled"), db.session() as s:
        accounts.create_user(
            s, other_admin, username="eve", full_name="Eve", roles=["qa"], password=PASSWORD
        )


def test_non_admin_cannot_create_users(db: Database, make_user: MakeUser) -> None:
    qa = make_user("qa", username="quinn", full_name="Quinn Quality")
    with pytest.raises(PermissionDenied) as info, db.session() as s:
        accounts.create_user(
            s, qa, username="mallory", full_name="Mallory", roles=["admin"], password=PASSWORD
        )
    assert info.value.message == (
        "Quinn Quality (qa) may not manage users; that needs the admin role."
    )
    with db.reader() as s:
        assert s.exec(select(User).where(User.username == "mallory")).first() is None


@pytest.mark.parametrize(
    ("username", "roles", "password", "field"),
    [
        ("Bad Name", ["qa"], PASSWORD, "username"),
        ("ok", ["superuser"], PASSWORD, "roles"),
        ("ok", [], PASSWORD, "roles"),
        ("ok", ["qa"], "short", "password"),
        ("root", ["qa"], PASSWORD, "username"),  # taken
    ],
)
def test_bad_account_input_is_refused_and_nothing_stored(
    db: Database, admin: CurrentUser, username: str, roles: list[str], password: str, field: str
) -> None:
    with db.reader() as s:
        before = len(s.exec(select(User)).all())
    with pytest.raises(ValidationError) as info, db.session() as s:
        accounts.create_user(
            s, admin, username=username, full_name="Some One", roles=roles, password=password
        )
    assert info.value.field == field
    with db.reader() as s:
        assert len(s.exec(select(User)).all()) == before


def test_expired_password_must_be_changed(db: Database, make_user: MakeUser) -> None:
    make_user("technician", username="theo")
    with db.session() as s:
        user = s.exec(select(User).where(User.username == "theo")).one()
        audit.set_actor(s, user.id, "theo")
        with audit.reason(s, "test: age the password"):
            user.password_changed_at = user.password_changed_at - dt.timedelta(days=181)
    with pytest.raises(accounts.PasswordExpired):
        _login(db, "theo", PASSWORD)
    with db.session() as s:
        accounts.change_password(s, "theo", PASSWORD, "a-brand-new-pass")
    assert _login(db, "theo", "a-brand-new-pass").username == "theo"


def test_admin_reset_forces_a_change_at_next_login(
    db: Database, admin: CurrentUser, make_user: MakeUser
) -> None:
    make_user("qa", username="quinn")
    with db.session() as s:
        accounts.reset_password(s, admin, "quinn", "temporary-pass-1")
    with pytest.raises(accounts.PasswordExpired):
        _login(db, "quinn", "temporary-pass-1")
    with db.session() as s:
        accounts.change_password(s, "quinn", "temporary-pass-1", "my-own-pass-22")
    assert _login(db, "quinn", "my-own-pass-22").username == "quinn"


def test_a_real_run_hashes_strongly_whatever_the_environment_says() -> None:
    # The cheap profile is the test suite's alone (its conftest switches to it); the old
    # environment variable no longer weakens the hashes of a real run.
    code = "from lottrack.records import accounts\nprint(accounts.hash_password('a-password-1'))\n"
    env = {**os.environ, "LOTTRACK_INSECURE_FAST_PASSWORD_HASHING": "1"}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    )
    assert out.stdout.startswith("$argon2id$v=19$m=65536,t=3,p=4$")


def test_a_locked_accounts_state_is_told_only_to_who_knows_its_password(
    db: Database, admin: CurrentUser, make_user: MakeUser
) -> None:
    make_user("qa", username="quinn")
    for _ in range(5):
        with pytest.raises(AuthenticationFailed):
            _login(db, "quinn", "guess-guess-1")
    with pytest.raises(AuthenticationFailed) as info:
        _login(db, "quinn", "another-guess")
    assert info.value.message == "Unknown username or wrong password."
    with pytest.raises(AuthenticationFailed, match="locked after repeated failures"):
        _login(db, "quinn", PASSWORD)
    with db.session() as s:  # an admin reset also lifts the lock-out
        accounts.reset_password(s, admin, "quinn", "temporary-pass-2", "locked out, called IT")
    with pytest.raises(accounts.PasswordExpired):
        _login(db, "quinn", "temporary-pass-2")
