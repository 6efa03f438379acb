"""The one permission table, and the one check every service calls."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import bindparam
from sqlalchemy import select as sa_select
from sqlalchemy.orm.util import identity_key
from sqlmodel import Session, col

from lottrack.kernel.errors import PermissionDenied
from lottrack.storage import audit, fastsql
from lottrack.storage.models import User

TECHNICIAN = "technician"
QA = "qa"
PHARMACIST = "pharmacist"
CLINICIAN = "clinician"
INVESTIGATOR = "investigator"
ADMIN = "admin"

ROLES: tuple[str, ...] = (TECHNICIAN, QA, PHARMACIST, CLINICIAN, INVESTIGATOR, ADMIN)
ROLE_NAMES = {
    TECHNICIAN: "lab technician",
    QA: "quality assurance",
    PHARMACIST: "unblinded pharmacist",
    CLINICIAN: "ward clinician (blinded)",
    INVESTIGATOR: "investigator (may request emergency unblinding)",
    ADMIN: "system administrator",
}
UNBLINDED_ROLES = frozenset({PHARMACIST})
MASKED = "blinded"
"""What a blinded reader sees in place of a value that would tell which visit a bag served:
a bag's status once it may have left the lab, its kit code in the lab's views, the reason
and fields of its dispensing and infusion in the audit trail (design §7)."""
GMP_ROLES = frozenset({TECHNICIAN, QA, PHARMACIST, CLINICIAN, INVESTIGATOR})
EXCLUSIVE_ROLES: tuple[tuple[str, frozenset[str]], ...] = (
    (PHARMACIST, frozenset({CLINICIAN, INVESTIGATOR})),
    (ADMIN, GMP_ROLES),
)
"""Roles one person cannot hold together (design §7): the unblinded pharmacist records no
blinded observation and requests no unblinding; the administrator records no GMP data."""


def role_conflict(roles: frozenset[str] | set[str]) -> str | None:
    """Why ``roles`` cannot be held by one person, or None when they can."""
    for role, excluded in EXCLUSIVE_ROLES:
        clash = sorted(excluded & roles) if role in roles else []
        if clash:
            why = (
                "sees the allocation and must not record blinded observations or request unblinding"
                if role == PHARMACIST
                else "records no GMP data"
            )
            return (
                f"the {role} role cannot be combined with {' or '.join(clash)} for one "
                f"person (the {role} {why})"
            )
    return None


class Action(StrEnum):
    """Everything a person can do that a rule governs."""

    MANAGE_USERS = "manage users"
    MANAGE_SPECIFICATIONS = "manage specifications"
    MANAGE_SITES = "manage sites"
    VIEW_AUDIT = "view the audit trail"
    VERIFY_AUDIT = "verify the audit trail"
    BACK_UP = "back up the database"
    REGISTER_SUBJECT = "register subjects"
    RECORD_MANUFACTURING = "record manufacturing steps"
    REGISTER_REAGENT = "register reagent lots"
    RELEASE_REAGENT = "release reagent lots"
    VIEW_BATCH_RECORD = "view batch records"
    DECIDE_DISPOSITION = "release, reject or quarantine lots"
    VIEW_ALLOCATION = "see the allocation"
    MANAGE_ALLOCATION = "import or generate the allocation"
    SCHEDULE_VISITS = "schedule trial visits"
    DISPENSE = "dispense and verify bags"
    RECORD_WEIGHT = "record weights"
    RECORD_INFUSION = "record infusions"
    UNBLIND = "request emergency unblinding"
    EXPORT = "export trial data"
    ISSUE_RELEASE_CERTIFICATE = "issue lot release certificates"
    ISSUE_BLINDED_DOCUMENTS = "issue infusion certificates and labels"
    RUN_VALIDATION = "run the validation and issue its report"
    OPEN_DEVIATION = "open deviations on a lot"
    CLOSE_QUALITY_RECORD = "close investigations and deviations"
    APPROVE_SPECIFICATIONS = "approve specification versions"
    VIEW_SPECIFICATIONS = "see specification versions"


PERMISSIONS: dict[Action, frozenset[str]] = {
    Action.MANAGE_USERS: frozenset({ADMIN}),
    Action.MANAGE_SPECIFICATIONS: frozenset({ADMIN}),
    Action.MANAGE_SITES: frozenset({ADMIN}),
    Action.VIEW_AUDIT: frozenset({QA, ADMIN}),
    Action.VERIFY_AUDIT: frozenset({QA, ADMIN}),
    Action.BACK_UP: frozenset({QA, ADMIN}),
    Action.REGISTER_SUBJECT: frozenset({TECHNICIAN, PHARMACIST, CLINICIAN}),
    Action.RECORD_MANUFACTURING: frozenset({TECHNICIAN}),
    Action.REGISTER_REAGENT: frozenset({TECHNICIAN, QA}),
    Action.RELEASE_REAGENT: frozenset({QA}),
    Action.VIEW_BATCH_RECORD: frozenset({TECHNICIAN, QA, PHARMACIST}),
    Action.DECIDE_DISPOSITION: frozenset({QA}),
    Action.VIEW_ALLOCATION: frozenset({PHARMACIST}),
    Action.MANAGE_ALLOCATION: frozenset({PHARMACIST}),
    Action.SCHEDULE_VISITS: frozenset({PHARMACIST}),
    Action.DISPENSE: frozenset({PHARMACIST}),
    Action.RECORD_WEIGHT: frozenset({CLINICIAN, PHARMACIST}),
    Action.RECORD_INFUSION: frozenset({CLINICIAN}),
    Action.UNBLIND: frozenset({INVESTIGATOR}),
    Action.EXPORT: frozenset({QA, PHARMACIST, CLINICIAN, ADMIN}),
    Action.ISSUE_RELEASE_CERTIFICATE: frozenset({QA, PHARMACIST}),
    Action.ISSUE_BLINDED_DOCUMENTS: frozenset({PHARMACIST, CLINICIAN, QA}),
    Action.RUN_VALIDATION: frozenset({QA, ADMIN}),
    Action.OPEN_DEVIATION: frozenset({TECHNICIAN, QA}),
    Action.CLOSE_QUALITY_RECORD: frozenset({QA}),
    Action.APPROVE_SPECIFICATIONS: frozenset({QA}),
    Action.VIEW_SPECIFICATIONS: frozenset({ADMIN, QA}),
}


@dataclass(frozen=True)
class CurrentUser:
    """The logged-in person, as services receive it (never a live ORM row)."""

    id: int
    username: str
    full_name: str
    roles: frozenset[str]

    @property
    def unblinded(self) -> bool:
        """True when the person may see the allocation."""
        return bool(self.roles & UNBLINDED_ROLES)

    @classmethod
    def of(cls, user: User) -> CurrentUser:
        """Snapshot of a user row."""
        assert user.id is not None
        return cls(user.id, user.username, user.full_name, user.role_set)


def allowed(roles: frozenset[str], action: Action) -> bool:
    """Whether someone holding ``roles`` may take ``action`` (the UI uses this to hide)."""
    return bool(roles & PERMISSIONS[action])


def authorize(session: Session, who: CurrentUser, action: Action) -> User:
    """The check every service calls first.

    Re-reads the account (so a disabled or locked user, or a role taken away, stops
    working at once), refuses with :class:`PermissionDenied` naming the action and the
    roles that may take it, and attaches the person to the session for the audit trail.
    """
    user = session.get(User, who.id)
    if user is None:
        raise PermissionDenied(f"The account '{who.username}' is disabled.")
    check_account(
        who,
        action,
        active=user.active,
        locked=user.locked_at is not None,
        roles=user.role_set,
        full_name=user.full_name,
    )
    audit.set_actor(session, user.id, user.username)
    return user


_ACCOUNT = sa_select(
    col(User.active), col(User.locked_at), col(User.roles), col(User.full_name)
).where(col(User.id) == bindparam("id"))
_STATEMENTS = fastsql.Statements()


def authorize_read(reader: fastsql.DriverReader, who: CurrentUser, action: Action) -> None:
    """:func:`authorize` for a read on the bare driver (:mod:`lottrack.storage.fastsql`): the same
    account re-read and the same refusals."""
    found = reader.rows(
        _STATEMENTS.get(reader.dialect, "account", lambda: _ACCOUNT), {"id": who.id}
    )
    _check_found(who, action, found)


def authorize_session_read(session: Session, who: CurrentUser, action: Action) -> None:
    """:func:`authorize` for a read session that reads on as the driver's SQL
    (:func:`lottrack.storage.fastsql.session_rows`): the account as this read already loaded it,
    else re-read in one driver statement; the same refusals."""
    user = session.identity_map.get(identity_key(User, who.id))
    if isinstance(user, User):
        check_account(
            who,
            action,
            active=user.active,
            locked=user.locked_at is not None,
            roles=user.role_set,
            full_name=user.full_name,
        )
        return
    prepared = _STATEMENTS.get(session.get_bind().dialect, "account", lambda: _ACCOUNT)
    _check_found(who, action, fastsql.session_rows(session, prepared, {"id": who.id}))


def _check_found(who: CurrentUser, action: Action, found: list[tuple[object, ...]]) -> None:
    if not found:
        raise PermissionDenied(f"The account '{who.username}' is disabled.")
    active, locked_at, roles, full_name = found[0]
    check_account(
        who,
        action,
        active=bool(active),
        locked=locked_at is not None,
        roles=frozenset(r for r in str(roles).split(",") if r),
        full_name=str(full_name),
    )


def check_account(
    who: CurrentUser,
    action: Action,
    *,
    active: bool,
    locked: bool,
    roles: frozenset[str],
    full_name: str,
) -> None:
    """Refuse a disabled or locked account, or one whose roles do not allow ``action``."""
    if not active:
        raise PermissionDenied(f"The account '{who.username}' is disabled.")
    conflict = role_conflict(roles)
    if conflict is not None:
        raise PermissionDenied(
            f"The account '{who.username}' holds roles that cannot be "
            f"combined: {conflict}. An administrator must correct its "
            "roles first."
        )
    if locked:
        raise PermissionDenied(
            f"The account '{who.username}' is locked; an administrator must unlock it."
        )
    if not allowed(roles, action):
        may = " or ".join(sorted(PERMISSIONS[action]))
        raise PermissionDenied(
            f"{full_name} ({', '.join(sorted(roles)) or 'no role'}) may not "
            f"{action.value}; that needs the {may} role."
        )
