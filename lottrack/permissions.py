"""The one permission table, and the one check every service calls."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from sqlmodel import Session

from lottrack import audit
from lottrack.errors import PermissionDenied
from lottrack.models import User

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


class Action(StrEnum):
    """Everything a person can do that a rule governs."""

    MANAGE_USERS = "manage users"
    MANAGE_SPECIFICATIONS = "manage specifications"
    MANAGE_SITES = "manage sites"
    VIEW_AUDIT = "view the audit trail"
    REGISTER_SUBJECT = "register subjects"
    RECORD_MANUFACTURING = "record manufacturing steps"
    REGISTER_REAGENT = "register reagent lots"
    RELEASE_REAGENT = "release reagent lots"
    VIEW_BATCH_RECORD = "view batch records"
    DECIDE_DISPOSITION = "release, reject or quarantine lots"
    VIEW_ALLOCATION = "see the allocation"
    MANAGE_ALLOCATION = "import or generate the allocation"
    DISPENSE = "dispense and verify bags"
    RECORD_WEIGHT = "record weights"
    RECORD_INFUSION = "record infusions"
    UNBLIND = "request emergency unblinding"
    EXPORT = "export trial data"
    ISSUE_RELEASE_CERTIFICATE = "issue lot release certificates"
    ISSUE_BLINDED_DOCUMENTS = "issue infusion certificates and labels"


PERMISSIONS: dict[Action, frozenset[str]] = {
    Action.MANAGE_USERS: frozenset({ADMIN}),
    Action.MANAGE_SPECIFICATIONS: frozenset({ADMIN}),
    Action.MANAGE_SITES: frozenset({ADMIN}),
    Action.VIEW_AUDIT: frozenset({QA, ADMIN}),
    Action.REGISTER_SUBJECT: frozenset({TECHNICIAN, PHARMACIST, CLINICIAN}),
    Action.RECORD_MANUFACTURING: frozenset({TECHNICIAN}),
    Action.REGISTER_REAGENT: frozenset({TECHNICIAN, QA}),
    Action.RELEASE_REAGENT: frozenset({QA}),
    Action.VIEW_BATCH_RECORD: frozenset({TECHNICIAN, QA, PHARMACIST}),
    Action.DECIDE_DISPOSITION: frozenset({QA}),
    Action.VIEW_ALLOCATION: frozenset({PHARMACIST}),
    Action.MANAGE_ALLOCATION: frozenset({PHARMACIST}),
    Action.DISPENSE: frozenset({PHARMACIST}),
    Action.RECORD_WEIGHT: frozenset({CLINICIAN, PHARMACIST}),
    Action.RECORD_INFUSION: frozenset({CLINICIAN}),
    Action.UNBLIND: frozenset({INVESTIGATOR}),
    Action.EXPORT: frozenset({QA, PHARMACIST, CLINICIAN, ADMIN}),
    Action.ISSUE_RELEASE_CERTIFICATE: frozenset({QA, PHARMACIST}),
    Action.ISSUE_BLINDED_DOCUMENTS: frozenset({PHARMACIST, CLINICIAN, QA}),
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
    if user is None or not user.active:
        raise PermissionDenied(f"The account '{who.username}' is disabled.")
    if user.locked_at is not None:
        raise PermissionDenied(
            f"The account '{who.username}' is locked; an administrator must unlock it."
        )
    if not allowed(user.role_set, action):
        may = " or ".join(sorted(PERMISSIONS[action]))
        raise PermissionDenied(
            f"{user.full_name} ({', '.join(sorted(user.role_set)) or 'no role'}) may not "
            f"{action.value}; that needs the {may} role."
        )
    audit.set_actor(session, user.id, user.username)
    return user
