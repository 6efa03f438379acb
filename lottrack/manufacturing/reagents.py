"""Reagent lots (design §2): registered in quarantine, released or rejected by QA; only a
released lot that has not expired may be recorded as used."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlmodel import Session, select

from lottrack.kernel.errors import InvalidTransition, NotFound, ValidationError
from lottrack.kernel.inputs import clean_text
from lottrack.records.permissions import Action, CurrentUser, authorize
from lottrack.storage import audit
from lottrack.storage.models import ReagentLot, utcnow

QUARANTINE = "quarantine"
RELEASED = "released"
REJECTED = "rejected"
KINDS = ("medium", "supplement", "dissociation", "suspension-media", "other")


@dataclass(frozen=True)
class ReagentLotInfo:
    """A reagent lot as services hand it out."""

    id: int
    name: str
    kind: str
    supplier: str
    lot_number: str
    expiry: dt.date
    status: str

    @property
    def label(self) -> str:
        """``Trypsin-EDTA lot T123 (Supplier)``: how messages name the lot."""
        return f"{self.name} lot {self.lot_number} ({self.supplier})"


def _info(lot: ReagentLot) -> ReagentLotInfo:
    assert lot.id is not None
    return ReagentLotInfo(
        lot.id, lot.name, lot.kind, lot.supplier, lot.lot_number, lot.expiry, lot.status
    )


def _label(lot: ReagentLot) -> str:
    return _info(lot).label


def _row(session: Session, reagent_lot_id: int, *, for_update: bool = False) -> ReagentLot:
    stmt = select(ReagentLot).where(ReagentLot.id == reagent_lot_id)
    lot = session.exec(stmt.with_for_update() if for_update else stmt).first()
    if lot is None:
        raise NotFound(f"No reagent lot with id {reagent_lot_id}.")
    return lot


def register_reagent_lot(
    session: Session,
    who: CurrentUser,
    *,
    name: str,
    kind: str,
    supplier: str,
    lot_number: str,
    expiry: dt.date,
) -> ReagentLotInfo:
    """Register a delivered reagent lot; it stays in quarantine until QA releases it."""
    user = authorize(session, who, Action.REGISTER_REAGENT)
    name = clean_text(name, "Reagent", max_length=200)
    supplier = clean_text(supplier, "Supplier", max_length=200)
    lot_number = clean_text(lot_number, "Lot number", max_length=64)
    if kind not in KINDS:
        raise ValidationError(
            f'Kind: "{str(kind)[:40]}" is not a reagent kind; expected one of {", ".join(KINDS)}.',
            field="Kind",
        )
    if isinstance(expiry, dt.datetime) or not isinstance(expiry, dt.date):
        raise ValidationError(f"Expiry: {expiry!r} is not a date.", field="Expiry")
    if expiry < utcnow().date():
        raise ValidationError(
            f"Expiry: {expiry.isoformat()} has passed; an expired lot "
            "cannot be registered for use.",
            field="Expiry",
        )
    duplicate = session.exec(
        select(ReagentLot).where(
            ReagentLot.name == name,
            ReagentLot.supplier == supplier,
            ReagentLot.lot_number == lot_number,
        )
    ).first()
    if duplicate is not None:
        raise ValidationError(
            f"Lot number: {name} lot {lot_number} from {supplier} is already registered.",
            field="Lot number",
        )
    lot = ReagentLot(
        name=name,
        kind=kind,
        supplier=supplier,
        lot_number=lot_number,
        expiry=expiry,
        created_by=user.id,
    )
    session.add(lot)
    session.flush()
    return _info(lot)


def release_reagent_lot(session: Session, who: CurrentUser, reagent_lot_id: int) -> None:
    """QA releases a quarantined, unexpired reagent lot for use."""
    user = authorize(session, who, Action.RELEASE_REAGENT)
    lot = _row(session, reagent_lot_id, for_update=True)
    if lot.status != QUARANTINE:
        raise InvalidTransition(
            f"Cannot release {_label(lot)}: it is {lot.status}; only a "
            "lot in quarantine can be released."
        )
    if lot.expiry < utcnow().date():
        raise InvalidTransition(
            f"Cannot release {_label(lot)}: it expired on {lot.expiry.isoformat()}."
        )
    with audit.reason(session, f"released for use by QA ({user.username})"):
        lot.status = RELEASED
        lot.released_by = user.id
        lot.released_at = utcnow()


def reject_reagent_lot(
    session: Session, who: CurrentUser, reagent_lot_id: int, reason: str
) -> None:
    """QA rejects a reagent lot (from quarantine, or withdraws a released one)."""
    user = authorize(session, who, Action.RELEASE_REAGENT)
    lot = _row(session, reagent_lot_id, for_update=True)
    why = clean_text(reason, "Reason", max_length=500)
    if lot.status == REJECTED:
        raise InvalidTransition(f"Cannot reject {_label(lot)}: it is already rejected.")
    with audit.reason(session, f"rejected by QA ({user.username}): {why}"):
        lot.status = REJECTED


def require_usable(
    session: Session, reagent_lot_id: int, on: dt.datetime, *, timezone: dt.tzinfo = dt.UTC
) -> ReagentLot:
    """The reagent lot, if it may be recorded as used at ``on``: released, and its expiry
    date not before ``on``'s date in ``timezone`` (the site's zone: a label's expiry date
    is a local date, and the lot is usable through that whole day)."""
    lot = _row(session, reagent_lot_id)
    if lot.status != RELEASED:
        why = "has been rejected" if lot.status == REJECTED else "has not been released by QA"
        raise InvalidTransition(
            f"Cannot use {_label(lot)}: it {why}; only released reagent lots may be used."
        )
    day = on.astimezone(timezone).date()
    if lot.expiry < day:
        raise InvalidTransition(
            f"Cannot use {_label(lot)}: it expired on "
            f"{lot.expiry.isoformat()}, before its use on "
            f"{day.isoformat()}."
        )
    return lot


def get_reagent_lot(session: Session, reagent_lot_id: int) -> ReagentLotInfo:
    """A reagent lot by id."""
    return _info(_row(session, reagent_lot_id))


def list_reagent_lots(session: Session, *, status: str | None = None) -> list[ReagentLotInfo]:
    """Reagent lots by name and lot number, optionally only those with ``status``."""
    stmt = select(ReagentLot).order_by(ReagentLot.name, ReagentLot.lot_number)
    if status is not None:
        stmt = stmt.where(ReagentLot.status == status)
    return [_info(lot) for lot in session.exec(stmt).all()]
