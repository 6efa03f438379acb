"""Whose thaw a bag's thaw was, for the blinded lab and QA (design §7).

A cryopreserved bag is thawed by the lab before its lot is released (a post-thaw test), or
by the pharmacy when it prepares the bag for a visit: the pharmacy thaws a subject's MSC bag
only for a visit of the MSC arm, so the moment of that thaw, and any count made after it,
would date the MSC period to a blinded reader of the batch record. So:

- blinded readers see a bag's thaw, and its post-thaw counts, only when a blinded person
  (the lab) recorded the thaw (:func:`pharmacy_thaws` names the others);
- from its lot's first release on, the lab thaws no bag (:func:`require_lab_may_thaw`),
  in the same words whatever happened to the bag since, so that no refusal tells whether
  the pharmacy dispensed it.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlmodel import Session, col, select

from lottrack.kernel.errors import InvalidTransition
from lottrack.manufacturing.lots import RELEASED_STATES
from lottrack.records.permissions import UNBLINDED_ROLES
from lottrack.storage.models import AuditEvent, Disposition, Lot, ProductUnit, User

_THAW_CHANGE = '%"thawed!_at"%'
"""An audited change of a bag's thaw (``_`` escaped: LIKE reads it as any character)."""


def pharmacy_thaws(session: Session, units: Iterable[ProductUnit]) -> set[int]:
    """The ids of the thawed bags among ``units`` whose thaw an unblinded person recorded
    (one statement; none when no bag is thawed)."""
    thawed = {str(u.id): u.id for u in units if u.thawed_at is not None and u.id is not None}
    if not thawed:
        return set()
    rows = session.exec(
        select(AuditEvent.entity_id, User)
        .join(User, col(User.id) == col(AuditEvent.user_id))
        .where(
            AuditEvent.entity == "product_unit",
            col(AuditEvent.entity_id).in_(list(thawed)),
            AuditEvent.action == "update",
            col(AuditEvent.changes).like(_THAW_CHANGE, escape="!"),
        )
    ).all()
    return {thawed[entity_id] for entity_id, user in rows if user.role_set & UNBLINDED_ROLES}


def require_lab_may_thaw(session: Session, lot: Lot, name: str) -> None:
    """Refuse a thaw by the lab once ``lot`` has been released (whatever it is now)."""
    released = lot.status in RELEASED_STATES or (
        session.exec(
            select(Disposition.id).where(
                Disposition.lot_id == lot.id, col(Disposition.decision).in_(RELEASED_STATES)
            )
        ).first()
        is not None
    )
    if released:
        raise InvalidTransition(
            f"Cannot thaw {name}: lot {lot.lot_number} has been released; from its release "
            "on, the pharmacy thaws its bags."
        )
