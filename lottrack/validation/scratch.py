"""The scratch installation the operational qualification runs on: a SQLite database in
a temporary folder (created and removed by the run), one person per role, a site, and
three subjects built through the real services (:mod:`lottrack.demo.scenario`):

* ``A`` — MSC-first, lot released, both visits scheduled from today;
* ``B`` — MSC-first, lot awaiting release (not dispensable);
* ``C`` — placebo-first, lot released.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from lottrack.demo.scenario import Cast, Scenario
from lottrack.install.bootstrap import initialise
from lottrack.records.accounts import hash_password
from lottrack.records.permissions import CurrentUser
from lottrack.storage import audit
from lottrack.storage.db import Database
from lottrack.storage.models import User, utcnow
from lottrack.trial.allocation import MSC_FIRST, PLACEBO_FIRST

PEOPLE = {  # scenario part → (username, full name, roles)
    "admin": ("v-admin", "Val Admin", "admin"),
    "technician": ("v-tech", "Val Technician", "technician"),
    "qa": ("v-qa", "Val Quality", "qa"),
    "pharmacist": ("v-pharm", "Val Pharmacist", "pharmacist"),
    "pharmacist2": ("v-pharm2", "Val Second Pharmacist", "pharmacist"),
    "clinician": ("v-ward", "Val Ward", "clinician"),
    "investigator": ("v-inv", "Val Investigator", "clinician,investigator"),
}


@dataclass(frozen=True)
class Subject:
    """A subject of the scratch trial: ids of the subject, its lot, MSC bag and visits."""

    id: int
    lot_id: int
    bag_id: int
    visits: tuple[int, int]


@dataclass
class Scratch:
    """The scratch database with its people and subjects; checks add to it in order."""

    folder: Path
    db: Database
    cast: Cast
    scenario: Scenario
    subjects: dict[str, Subject]
    notes: dict[str, int] = field(default_factory=dict)
    """Ids that a check leaves for a later one (e.g. the dispensing of subject A)."""

    def who(self, part: str) -> CurrentUser:
        """The person playing ``part`` (``pharmacist``, ``clinician`` …)."""
        return self.cast.who(part)


def build(folder: Path) -> Scratch:
    """Create the scratch database in ``folder`` (which the caller removes)."""
    db = Database(f"sqlite:///{folder / 'scratch.db'}")
    initialise(db)
    users: dict[str, CurrentUser] = {}
    passwords: dict[str, str] = {}
    with db.session() as session:
        audit.set_actor(session, None, "system:validation")
        for part, (username, name, roles) in PEOPLE.items():
            passwords[part] = secrets.token_urlsafe(18)
            user = User(
                username=username,
                full_name=name,
                roles=roles,
                password_hash=hash_password(passwords[part]),
            )
            session.add(user)
            session.flush()
            users[part] = CurrentUser.of(user)
    cast = Cast(users, passwords)
    sc = Scenario.create(db, cast, site_name="Validation scratch site")
    today = utcnow().date()
    subjects: dict[str, Subject] = {}
    for name, code, sequence, release, born in (
        ("A", "VAL-001", MSC_FIRST, True, dt.date(1961, 2, 14)),
        ("B", "VAL-002", MSC_FIRST, False, dt.date(1958, 9, 3)),
        ("C", "VAL-003", PLACEBO_FIRST, True, dt.date(1970, 11, 21)),
    ):
        subject_id = sc.subject(code, born)
        lot_id, bag_id = sc.made_lot(subject_id, weight="70 kg")
        if release:
            sc.release(lot_id)
        visits = sc.enrol(subject_id, sequence, today)
        subjects[name] = Subject(subject_id, lot_id, bag_id, visits)
    return Scratch(folder, db, cast, sc, subjects)
