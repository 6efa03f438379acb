"""The lot lifecycle (design §3): states, the lookups of a lot (its site, specification and
passages) and the guards every manufacturing service uses."""

from __future__ import annotations

from sqlmodel import Session, col, select

from lottrack.facility.sites import site_row
from lottrack.facility.subjects import subject_row
from lottrack.kernel.errors import InvalidTransition, NotFound
from lottrack.storage import audit
from lottrack.storage.models import Lot, Passage, Site, Specification

IN_PROCESS = "in-process"
AWAITING_RELEASE = "awaiting-release"
RELEASED = "released"
RELEASED_EXCEPTIONAL = "released-exceptional"
REJECTED = "rejected"
QUARANTINED = "quarantined"

STATUSES = (IN_PROCESS, AWAITING_RELEASE, RELEASED, RELEASED_EXCEPTIONAL, REJECTED, QUARANTINED)
RELEASED_STATES = frozenset({RELEASED, RELEASED_EXCEPTIONAL})
#: Lots whose bags may be dispensed.
DISPENSABLE = RELEASED_STATES


def get_lot(session: Session, lot_id: int, *, for_update: bool = False) -> Lot:
    """The lot, locked against concurrent changes when ``for_update`` (PostgreSQL row lock;
    SQLite write sessions already hold the database write lock)."""
    stmt = select(Lot).where(Lot.id == lot_id)
    if for_update:
        stmt = stmt.with_for_update()
    lot = session.exec(stmt).first()
    if lot is None:
        raise NotFound(f"No lot with id {lot_id}.")
    return lot


def find_lot(session: Session, lot_number: str) -> Lot:
    """A lot by its number."""
    lot = session.exec(select(Lot).where(Lot.lot_number == lot_number.strip())).first()
    if lot is None:
        raise NotFound(f'No lot "{lot_number}".')
    return lot


def lot_site(session: Session, lot: Lot) -> Site:
    """The site of the lot's subject (decimal separator, time zone, FIN, product codes)."""
    return site_row(session, subject_row(session, lot.subject_id).site_id)


def lot_spec(session: Session, lot: Lot) -> Specification:
    """The specification version the lot was created under."""
    spec = session.get(Specification, lot.spec_id)
    if spec is None:
        raise NotFound(f"Lot {lot.lot_number}: specification id {lot.spec_id} is missing.")
    return spec


def passages_of(session: Session, lot_id: int) -> list[Passage]:
    """The lot's passages, P0 first."""
    return list(
        session.exec(
            select(Passage).where(Passage.lot_id == lot_id).order_by(col(Passage.number))
        ).all()
    )


def passage_row(session: Session, passage_id: int) -> Passage:
    """A passage by id."""
    passage = session.get(Passage, passage_id)
    if passage is None:
        raise NotFound(f"No passage with id {passage_id}.")
    return passage


def passage_label(number: int) -> str:
    """``P0``, ``P1``, …: a passage as the lab names it."""
    return f"P{number}"


def require_status(lot: Lot, allowed: frozenset[str] | tuple[str, ...] | str, doing: str) -> None:
    """Refuse ``doing`` unless the lot is in one of ``allowed``, naming the rule."""
    allowed_set = {allowed} if isinstance(allowed, str) else set(allowed)
    if lot.status in allowed_set:
        return
    wanted = " or ".join(sorted(allowed_set))
    raise InvalidTransition(
        f"Cannot {doing}: lot {lot.lot_number} is {lot.status}; this needs a lot that is {wanted}."
    )


def require_open_for_manufacturing(lot: Lot, doing: str) -> None:
    """Passages, counts and formulation only while the lot is in process."""
    if lot.status != IN_PROCESS:
        raise InvalidTransition(
            f"Cannot {doing}: lot {lot.lot_number} is {lot.status}; manufacturing records can "
            "only be added while a lot is in process (no passage after formulation)."
        )


def set_status(session: Session, lot: Lot, status: str, reason: str) -> None:
    """Move a lot to ``status`` (audited with the reason)."""
    assert status in STATUSES
    with audit.reason(session, reason):
        lot.status = status


def after_correction(session: Session, lot: Lot, reason: str) -> None:
    """A batch-record correction on a released lot returns it to awaiting release.

    The release signature then no longer matches the batch record and shows as
    invalidated; the lot cannot be dispensed until QA decides again.
    """
    if lot.status in RELEASED_STATES:
        set_status(
            session,
            lot,
            AWAITING_RELEASE,
            f"batch record corrected after release ({reason}); release signature invalidated",
        )
