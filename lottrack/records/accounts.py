"""Accounts (design §6.3): argon2 passwords, lock-out, ageing, every failed login audited."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlmodel import Session, select

from lottrack.kernel.errors import AuthenticationFailed, NotFound, PermissionDenied, ValidationError
from lottrack.kernel.inputs import clean_text
from lottrack.records.permissions import ROLES, Action, CurrentUser, authorize, role_conflict
from lottrack.storage import audit, settings
from lottrack.storage.models import User, utcnow

_hasher = PasswordHasher()  # argon2id, RFC 9106 low-memory profile
_dummy_hash: str | None = None
_USERNAME = re.compile(r"^[a-z][a-z0-9._-]{1,31}$")
SYSTEM = "system"
MIN_PASSWORD_LENGTH = 12
"""The floor of the ``password_min_length`` setting (design §6.9)."""
MIN_DISTINCT_CHARACTERS = 5
PASSWORD_HISTORY = 5
"""A new password may not be any of the last five (the current one included)."""


def use_cheap_hashing_in_the_test_suite() -> None:
    """Switch to a cheap argon2 profile, so that a test suite's thousands of logins and
    signatures run in seconds. Only the test suite calls it (its conftest): no setting or
    environment variable reaches it, so a real run never stores a weak hash. Stored
    hashes carry their own parameters, so either profile verifies both (and a login
    under the strong profile rehashes a weak one)."""
    global _hasher, _dummy_hash
    _hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    _dummy_hash = None


class PasswordExpired(AuthenticationFailed):
    """The password is older than the ageing limit; it must be changed first."""

    title = "Password expired"


def hash_password(password: str) -> str:
    """An argon2id hash."""
    return _hasher.hash(password)


def _matches(stored: str, password: str) -> bool:
    try:
        return _hasher.verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def _password_matches(user: User, password: str) -> bool:
    return _matches(user.password_hash, password)


def _as_slow_as_a_real_check(password: str) -> None:
    """Spend on an unknown username the argon2 check a known one costs, so that the time
    of the answer does not tell whether the name exists."""
    global _dummy_hash
    if _dummy_hash is None:
        _dummy_hash = _hasher.hash("no account has this password")
    _matches(_dummy_hash, password)


def _check_password_policy(session: Session, password: str, username: str) -> None:
    minimum = max(MIN_PASSWORD_LENGTH, settings.get_int(session, "password_min_length"))
    if len(password) < minimum:
        raise ValidationError(f"Password: must be at least {minimum} characters.", field="password")
    if password.strip() != password or any(ord(c) < 32 for c in password):
        raise ValidationError(
            "Password: must not start or end with spaces or contain control characters.",
            field="password",
        )
    if password.casefold() == username.strip().casefold():
        raise ValidationError("Password: must not be the username.", field="password")
    if len(set(password)) < MIN_DISTINCT_CHARACTERS:
        raise ValidationError(
            f"Password: use at least {MIN_DISTINCT_CHARACTERS} different characters.",
            field="password",
        )


def _history(user: User) -> list[str]:
    return [h for h in user.password_history.split() if h]


def _check_not_reused(user: User, password: str) -> None:
    """Refuse any of the last :data:`PASSWORD_HISTORY` passwords (the current included)."""
    recent = [user.password_hash, *_history(user)][:PASSWORD_HISTORY]
    if any(_matches(stored, password) for stored in recent):
        raise ValidationError(
            f"Password: must differ from your last {PASSWORD_HISTORY} passwords.", field="password"
        )


def _set_password(user: User, password: str, *, must_change: bool) -> None:
    """Store a new password's hash, keeping the previous ones the reuse rule needs."""
    kept = [user.password_hash, *_history(user)][: PASSWORD_HISTORY - 1]
    user.password_history = " ".join(kept)
    user.password_hash = hash_password(password)
    user.password_changed_at = utcnow()
    user.must_change_password = must_change


def _clean_roles(roles: Iterable[str]) -> str:
    wanted = sorted({r.strip().lower() for r in roles if r.strip()})
    unknown = [r for r in wanted if r not in ROLES]
    if unknown:
        raise ValidationError(
            f"Roles: unknown role {', '.join(unknown)}; choose from {', '.join(ROLES)}.",
            field="roles",
        )
    if not wanted:
        raise ValidationError("Roles: give at least one role.", field="roles")
    conflict = role_conflict(set(wanted))
    if conflict is not None:
        raise ValidationError(f"Roles: {conflict}; give them to different people.", field="roles")
    return ",".join(wanted)


def _validate_username(username: str) -> str:
    username = username.strip().lower()
    if not _USERNAME.match(username):
        raise ValidationError(
            f'Username: "{username}" must be 2–32 characters, start with a letter and use '
            "only a-z, 0-9, '.', '_' or '-'.",
            field="username",
        )
    return username


def _validate_full_name(full_name: str) -> str:
    """The printed name, through the one free-text rule (the form focuses ``full_name``)."""
    try:
        return clean_text(full_name, "Full name", max_length=200)
    except ValidationError as exc:
        raise ValidationError(exc.message, field="full_name") from None


def _reason(text: str) -> str:
    return clean_text(text, "Reason", max_length=500)


def create_first_admin(session: Session, username: str, full_name: str, password: str) -> User:
    """Create the first administrator of an empty database (``lottrack init``)."""
    if session.exec(select(User).limit(1)).first() is not None:
        raise ValidationError("Users already exist; ask an administrator to add you.")
    audit.set_actor(session, None, f"{SYSTEM}:init")
    return _insert_user(session, username, full_name, ["admin"], password)


def _insert_user(
    session: Session,
    username: str,
    full_name: str,
    roles: Iterable[str],
    password: str,
    *,
    must_change: bool = False,
) -> User:
    username = _validate_username(username)
    full_name = _validate_full_name(full_name)
    role_text = _clean_roles(roles)
    _check_password_policy(session, password, username)
    if session.exec(select(User).where(User.username == username)).first() is not None:
        raise ValidationError(f'Username: "{username}" is already taken.', field="username")
    user = User(
        username=username,
        full_name=full_name,
        roles=role_text,
        password_hash=hash_password(password),
        must_change_password=must_change,
    )
    session.add(user)
    session.flush()
    return user


def create_user(
    session: Session,
    who: CurrentUser,
    *,
    username: str,
    full_name: str,
    roles: Iterable[str],
    password: str,
) -> CurrentUser:
    """An administrator adds a person, who must choose their own password at the first
    login. Shared accounts are not allowed: one per person."""
    authorize(session, who, Action.MANAGE_USERS)
    user = _insert_user(session, username, full_name, roles, password, must_change=True)
    return CurrentUser.of(user)


def _find(session: Session, username: str) -> User:
    user = session.exec(select(User).where(User.username == username.strip().lower())).first()
    if user is None:
        raise NotFound(f'No user "{username}".')
    return user


LOGIN_VIA = ("terminal UI", "command line")
"""Where a person logs in from; the ``login`` event says which."""


def authenticate(
    session: Session, username: str, password: str, *, via: str = "terminal UI"
) -> CurrentUser:
    """Log in (from the terminal UI, or to run one command on the command line). A failure
    is committed (counted and audited) before it is refused; a success is audited.

    The message never says whether the username exists.
    """
    if via not in LOGIN_VIA:
        raise ValidationError(
            f'Login: "{str(via)[:40]}" is not a way in; expected one of {", ".join(LOGIN_VIA)}.',
            field="via",
        )
    user = session.exec(select(User).where(User.username == username.strip().lower())).first()
    refused = "Unknown username or wrong password."
    if user is None:
        _as_slow_as_a_real_check(password)
        session.rollback()
        audit.set_actor(session, None, f"{SYSTEM}:login")
        audit.log_event(
            session,
            "login-failed",
            "user",
            "",
            reason="unknown username",
            changes={"username": username[:64]},
        )
        session.commit()
        raise AuthenticationFailed(refused)
    if not user.active or user.locked_at is not None:
        # Say why only to someone who knows the password: the state of an account is
        # not disclosed to whoever types its name.
        right = _password_matches(user, password)
        state = "disabled" if not user.active else "locked"
        _record_failure(session, user, f"login refused: account {state}", count=False)
        if not right:
            raise AuthenticationFailed(refused)
        if state == "disabled":
            raise AuthenticationFailed(f"The account '{user.username}' is disabled.")
        raise AuthenticationFailed(
            f"The account '{user.username}' is locked after repeated failures; "
            "an administrator must unlock it."
        )
    if not _password_matches(user, password):
        locked = _record_failure(session, user, "failed login")
        if locked:
            raise AuthenticationFailed(
                f"{refused} The account is now locked; an administrator must unlock it."
            )
        raise AuthenticationFailed(refused)
    if user.must_change_password:
        raise PasswordExpired(
            "Your password was set by an administrator (a new account or "
            "a reset); choose your own to continue."
        )
    max_age = settings.get_int(session, "password_max_age_days")
    if utcnow() - user.password_changed_at > dt.timedelta(days=max_age):
        raise PasswordExpired("Your password has expired; choose a new one to continue.")
    audit.set_actor(session, user.id, user.username)
    if user.failed_logins:
        with audit.reason(session, "successful login resets the failure count"):
            user.failed_logins = 0
    _rehash_if_outdated(session, user, password)
    audit.log_event(session, "login", "user", user.id or "", reason=via)
    return CurrentUser.of(user)


def _rehash_if_outdated(session: Session, user: User, password: str) -> None:
    """Store the hash again with today's argon2 parameters when it was made with others
    (the password is known right now, and only now)."""
    if _hasher.check_needs_rehash(user.password_hash):
        with audit.reason(session, "password rehashed with the current argon2 parameters"):
            user.password_hash = hash_password(password)


LOGOUT_REASONS = ("logged out", "idle")


def record_logout(
    session: Session, who: CurrentUser, why: str, idle_minutes: float | None = None
) -> None:
    """Audit the end of a terminal session: ``logged out`` by the person, or ``idle``
    (logged out by the terminal after ``idle_minutes`` without activity)."""
    if why not in LOGOUT_REASONS:
        raise ValidationError(
            f'Logout: "{str(why)[:40]}" is not a reason; expected one of '
            f"{', '.join(LOGOUT_REASONS)}.",
            field="reason",
        )
    if why == "idle" and (idle_minutes is None or not 0 < idle_minutes < 10**6):
        raise ValidationError(
            "Logout: the idle time must be a positive number of minutes.", field="idle_minutes"
        )
    audit.set_actor(session, who.id, who.username)
    text = (
        f"logged out after {idle_minutes:g} minutes without activity"
        if why == "idle"
        else "logged out"
    )
    audit.log_event(session, "logout", "user", who.id, reason=text)


def _record_failure(session: Session, user: User, why: str, *, count: bool = True) -> bool:
    """Discard the action's uncommitted work, count and audit the failure, commit.

    Returns True when this failure locked the account.
    """
    user_id = user.id
    session.rollback()
    fresh = session.get(User, user_id)
    assert fresh is not None
    audit.set_actor(session, fresh.id, fresh.username)
    locked_now = False
    if count:
        limit = settings.get_int(session, "lockout_failures")
        with audit.reason(session, why):
            fresh.failed_logins += 1
            if fresh.failed_logins >= limit and fresh.locked_at is None:
                fresh.locked_at = utcnow()
                locked_now = True
    audit.log_event(session, "login-failed", "user", fresh.id or "", reason=why)
    session.commit()
    return locked_now


def check_password_for_signature(
    session: Session, who: CurrentUser, username: str, password: str
) -> User:
    """Both components of an e-signature; a failure counts towards the lock-out."""
    user = session.get(User, who.id)
    if user is None or not user.active or user.locked_at is not None:
        raise AuthenticationFailed("This account may not sign.")
    if username.strip().lower() != user.username:
        _record_failure(session, user, "signature refused: username is not the signer's")
        raise AuthenticationFailed("The username is not yours; sign with your own account.")
    if not _password_matches(user, password):
        locked = _record_failure(session, user, "signature refused: wrong password")
        suffix = " The account is now locked." if locked else ""
        raise AuthenticationFailed("Wrong password; nothing was signed." + suffix)
    if user.failed_logins:  # the lock-out counts consecutive failures
        audit.set_actor(session, user.id, user.username)
        with audit.reason(session, "successful signature resets the failure count"):
            user.failed_logins = 0
    return user


def change_password(session: Session, username: str, old: str, new: str) -> None:
    """A person changes their own password (also when it has expired, or was set by an
    administrator). An unknown username gets the answer, and takes the time, of a wrong
    password."""
    user = session.exec(select(User).where(User.username == username.strip().lower())).first()
    if user is None:
        _as_slow_as_a_real_check(old)
        raise AuthenticationFailed("Unknown username or wrong password.")
    if not user.active or user.locked_at is not None or not _password_matches(user, old):
        if user.active and user.locked_at is None:
            _record_failure(session, user, "password change refused: wrong password")
        raise AuthenticationFailed("Unknown username or wrong password.")
    _check_password_policy(session, new, user.username)
    _check_not_reused(user, new)
    audit.set_actor(session, user.id, user.username)
    with audit.reason(session, "password changed by its owner"):
        _set_password(user, new, must_change=False)
        user.failed_logins = 0


def reset_password(
    session: Session, who: CurrentUser, username: str, new: str, reason: str = ""
) -> None:
    """An administrator sets a temporary password (which also lifts a lock-out); the owner
    must change it at the next login."""
    authorize(session, who, Action.MANAGE_USERS)
    user = _find(session, username)
    _check_password_policy(session, new, user.username)
    _check_not_reused(user, new)
    why = f"password reset by administrator {who.username}"
    given = clean_text(reason, "Reason", max_length=500, required=False)
    with audit.reason(session, f"{why}: {given}" if given else why):
        _set_password(user, new, must_change=True)
        user.locked_at = None
        user.failed_logins = 0


def set_active(
    session: Session, who: CurrentUser, username: str, active: bool, reason: str
) -> None:
    """Disable (or re-enable) an account; a disabled user keeps their history."""
    authorize(session, who, Action.MANAGE_USERS)
    user = _find(session, username)
    if user.id == who.id and not active:
        raise ValidationError("You cannot disable your own account.")
    with audit.reason(session, _reason(reason)):
        user.active = active


def unlock(session: Session, who: CurrentUser, username: str, reason: str) -> None:
    """Lift a lock-out and reset the failure count."""
    authorize(session, who, Action.MANAGE_USERS)
    user = _find(session, username)
    if user.locked_at is None and user.failed_logins == 0:
        raise ValidationError(f"The account '{user.username}' is not locked.")
    with audit.reason(session, _reason(reason)):
        user.locked_at = None
        user.failed_logins = 0


def set_roles(
    session: Session, who: CurrentUser, username: str, roles: Iterable[str], reason: str
) -> None:
    """Change a person's roles."""
    authorize(session, who, Action.MANAGE_USERS)
    user = _find(session, username)
    if user.id == who.id:
        raise PermissionDenied(
            "Roles: you cannot change your own roles; another administrator must do it."
        )
    role_text = _clean_roles(roles)
    with audit.reason(session, _reason(reason)):
        user.roles = role_text


def list_users(session: Session, who: CurrentUser) -> list[dict[str, object]]:
    """Every account with its state (for admins)."""
    authorize(session, who, Action.MANAGE_USERS)
    rows = session.exec(select(User).order_by(User.username)).all()
    return [
        {
            "username": u.username,
            "full_name": u.full_name,
            "roles": u.roles,
            "active": u.active,
            "locked": u.locked_at is not None,
            "failed_logins": u.failed_logins,
            "password_changed_at": u.password_changed_at,
        }
        for u in rows
    ]
