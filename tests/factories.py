"""A scenario (site, reagents, one person per role) on the test database."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from sqlalchemy import event
from sqlmodel import Session

from lottrack.demo.scenario import Cast, Scenario
from lottrack.manufacturing import formulation
from lottrack.records.permissions import CurrentUser
from lottrack.storage.db import Database
from lottrack.storage.models import utcnow
from tests.conftest import PASSWORD

ROLES = {
    "technician": ("technician",),
    "qa": ("qa",),
    "qa2": ("qa",),
    "pharmacist": ("pharmacist",),
    "pharmacist2": ("pharmacist",),
    "clinician": ("clinician",),
    "investigator": ("clinician", "investigator"),
}


def make_scenario(
    db: Database, admin: CurrentUser, make_user: Callable[..., CurrentUser]
) -> Scenario:
    """Everything a subject's journey needs, created through the services."""
    people = {"admin": admin}
    passwords = {"admin": "root-password-1"}
    for key, roles in ROLES.items():
        people[key] = make_user(*roles, username=key)
        passwords[key] = PASSWORD
    return Scenario.create(db, Cast(people, passwords))


def thawed_bag(sc: Scenario, code: str, thawed_ago: dt.timedelta) -> tuple[int, int]:
    """A new subject ``code`` whose lot is released in one cryopreserved bag (formulated
    4 h ago), thawed ``thawed_ago`` by the pharmacy; (subject id, bag id)."""
    subject, bag = frozen_bag(sc, code)
    with sc.db.session() as s:
        formulation.record_thaw(s, sc.cast.who("pharmacist"), bag, utcnow() - thawed_ago)
    return subject, bag


def frozen_bag(sc: Scenario, code: str) -> tuple[int, int]:
    """A new subject ``code`` whose lot is released in one cryopreserved bag (formulated
    4 h ago), not thawed; (subject id, bag id)."""
    subject, lot_id, (bag,) = frozen_lot(sc, code)
    sc.qc(lot_id, utcnow() - dt.timedelta(hours=3))
    sc.release(lot_id)
    return subject, bag


def frozen_lot(
    sc: Scenario, code: str, *, bags: int = 1, volume: str = "50 mL"
) -> tuple[int, int, tuple[int, ...]]:
    """A new subject ``code`` whose lot was formulated 4 h ago into ``bags`` cryopreserved
    bags of ``volume``, before its QC results; (subject id, lot id, bag ids)."""
    subject = sc.subject(code, dt.date(1970, 1, 1))
    now = utcnow()
    lot_id = sc.harvest_and_lot(subject, now - dt.timedelta(days=14))
    sc.passages(lot_id, now - dt.timedelta(days=13))
    sc.weight(subject, "70 kg", now - dt.timedelta(days=1))
    sc.final_count(lot_id, now - dt.timedelta(hours=5))
    with sc.db.session() as s:
        made = formulation.formulate(
            s,
            sc.cast.who("technician"),
            lot_id=lot_id,
            volume_text=volume,
            storage="vapour-phase LN2",
            cryopreserve=True,
            formulated_at=now - dt.timedelta(hours=4),
            bags=bags,
        )
    return subject, lot_id, tuple(u.id for u in made.units)


def statements_sent(db: Database, read: Callable[[Session], object]) -> int:
    """How many statements ``read`` sends to the database, in a read session of its own."""
    sent: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        sent.append(statement)

    with db.reader() as s:
        event.listen(db.engine, "before_cursor_execute", count)
        try:
            read(s)
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
    return len(sent)
