"""Whose thaw or move of a bag it was, for the blinded lab and QA (design §7).

A cryopreserved bag is thawed by the lab before its lot is released (a post-thaw test), or
by the pharmacy when it prepares the bag for a visit: the pharmacy takes a subject's MSC bag
out of the store and thaws it only for a visit of the MSC arm, so the moment of that thaw or
move, and any count made after the thaw, would date the MSC period to a blinded reader of
the batch record. So:

- blinded readers see a bag's thaw, and its post-thaw counts, only when a blinded person
  (the lab) recorded the thaw (:func:`pharmacy_thaws` names the others), and a bag's
  moves only when a blinded person recorded them (:func:`unblinded_people` names the
  others);
- from its lot's first release on, the lab neither thaws nor moves its bags
  (:func:`require_lab_may_thaw`, :func:`require_lab_may_move`), in the same words whatever
  happened to the bag since, so that no refusal tells whether the pharmacy took it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import ColumnElement, literal, or_
from sqlmodel import Session, col, select

from lottrack.kernel.errors import InvalidTransition
from lottrack.manufacturing.lots import RELEASED_STATES
from lottrack.records.permissions import UNBLINDED_ROLES, CurrentUser
from lottrack.storage.models import AuditEvent, CellCount, Disposition, Lot, ProductUnit, User

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


def visible_counts(
    session: Session, who: CurrentUser, counts: Sequence[CellCount]
) -> list[CellCount]:
    """``counts`` as ``who`` reads them: a blinded reader not those of bags the pharmacy
    thawed (two statements when one of them counts a bag, none otherwise)."""
    unit_ids = {c.unit_id for c in counts if c.unit_id is not None}
    if who.unblinded or not unit_ids:
        return list(counts)
    bags = session.exec(select(ProductUnit).where(col(ProductUnit.id).in_(unit_ids))).all()
    hidden = pharmacy_thaws(session, bags)
    return [c for c in counts if c.unit_id not in hidden]


def holds_unblinded_role() -> ColumnElement[bool]:
    """True, in SQL, for a ``User`` who holds an unblinded role: roles are stored
    comma-separated (``User.roles``), so a role is held when ``,role,`` is in ``,roles,``,
    as ``User.role_set`` reads them."""
    roles = literal(",") + col(User.roles) + literal(",")
    return or_(*(roles.like(f"%,{role},%") for role in sorted(UNBLINDED_ROLES)))


def unblinded_people(session: Session) -> set[int]:
    """The ids of the people who hold an unblinded role (one statement): what they record
    of a bag is the pharmacy's, which blinded readers do not see."""
    ids = session.exec(select(User.id).where(holds_unblinded_role())).all()
    return {user_id for user_id in ids if user_id is not None}


def ever_released(session: Session, lot: Lot) -> bool:
    """Whether ``lot`` is released now or was released once (a correction can send a
    released lot back to awaiting release; its bags may have reached the pharmacy)."""
    return lot.status in RELEASED_STATES or (
        session.exec(
            select(Disposition.id).where(
                Disposition.lot_id == lot.id, col(Disposition.decision).in_(RELEASED_STATES)
            )
        ).first()
        is not None
    )


def require_lab_may_thaw(session: Session, lot: Lot, name: str) -> None:
    """Refuse a thaw by the lab once ``lot`` has been released (whatever it is now)."""
    if ever_released(session, lot):
        raise InvalidTransition(
            f"Cannot thaw {name}: lot {lot.lot_number} has been released; from its release "
            "on, the pharmacy thaws its bags."
        )


def require_lab_may_move(session: Session, lot: Lot, name: str) -> None:
    """Refuse a move recorded by the lab once ``lot`` has been released (whatever it is
    now): where the bag was last recorded would tell whether the pharmacy took it."""
    if ever_released(session, lot):
        raise InvalidTransition(
            f"Cannot move {name}: lot {lot.lot_number} has been released; from its release "
            "on, the pharmacy records its bags' moves."
        )
