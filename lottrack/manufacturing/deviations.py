"""Deviations (design §6.7): a planned or unplanned departure recorded on a lot.

Anyone who records on the lot opens one (what happened, the impact on the product, the
corrective action); QA closes it with a signature. An open deviation blocks a normal
release; an exceptional release names the deviations it accepts. An entry beyond a
plausibility rule (§6.8) is accepted when it names an open deviation that explains it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, col, select

from lottrack.kernel.errors import InvalidTransition, NotFound, PermissionDenied, ValidationError
from lottrack.kernel.inputs import clean_paragraphs, show
from lottrack.manufacturing import lots
from lottrack.records import signatures
from lottrack.records.permissions import Action, CurrentUser, authorize
from lottrack.records.signatures import Credentials, SignatureView
from lottrack.storage import audit
from lottrack.storage.audit import row_content
from lottrack.storage.models import Deviation, DeviationLink, Lot, User, utcnow

MAX_TEXT = 2000
#: A deviation is opened while the lot is made, awaits release or is held.
OPEN_STATES = (lots.IN_PROCESS, lots.AWAITING_RELEASE, lots.QUARANTINED)


def _para(value: str, field: str, label: str) -> str:
    try:
        return clean_paragraphs(value or "", label, max_length=MAX_TEXT)
    except ValidationError as exc:
        raise ValidationError(exc.message, field=field) from None


def open_deviation(
    session: Session,
    who: CurrentUser,
    *,
    lot_id: int,
    planned: bool,
    description: str,
    impact: str,
    corrective_action: str,
) -> int:
    """Open a deviation on a lot; returns its id."""
    user = authorize(session, who, Action.OPEN_DEVIATION)
    lot = lots.get_lot(session, lot_id, for_update=True)
    if lot.status not in OPEN_STATES:
        raise InvalidTransition(
            f"Cannot open a deviation: lot {lot.lot_number} is {lot.status}; deviations are "
            "opened while a lot is in process, awaiting release or quarantined."
        )
    if not isinstance(planned, bool):
        raise ValidationError("Planned: say planned or unplanned.", field="planned")
    assert user.id is not None
    row = Deviation(
        lot_id=lot_id,
        planned=planned,
        description=_para(description, "description", "What happened"),
        impact=_para(impact, "impact", "Impact on the product"),
        corrective_action=_para(corrective_action, "corrective_action", "Corrective action"),
        opened_at=utcnow(),
        opened_by=user.id,
    )
    session.add(row)
    session.flush()
    assert row.id is not None
    return row.id


def closing_content(dev: Deviation) -> dict[str, Any]:
    """What QA's closing signature covers: the deviation as opened and what names it."""
    table = dev.__table__  # type: ignore[attr-defined]
    head = row_content(table, {c.name: getattr(dev, c.name) for c in table.columns})
    for key in ("closure", "closed_at", "closed_by", "signature_id"):
        head.pop(key)
    return head


def close_deviation(
    session: Session, who: CurrentUser, creds: Credentials, deviation_id: int, closure: str
) -> None:
    """QA closes a deviation with a signature and its closing assessment; the person who
    opened it cannot close it."""
    authorize(session, who, Action.CLOSE_QUALITY_RECORD)
    dev = session.get(Deviation, deviation_id)
    if dev is None:
        raise NotFound(f"No deviation with id {deviation_id}.")
    lots.get_lot(session, dev.lot_id, for_update=True)
    session.refresh(dev)
    if dev.closed_at is not None:
        raise InvalidTransition(f"Deviation #{dev.id} is already closed.")
    text = clean_paragraphs(closure or "", "Closing assessment", max_length=MAX_TEXT)
    if who.id == dev.opened_by:
        raise PermissionDenied(
            f"{who.full_name} opened deviation #{dev.id} and so may not "
            "close it (separation of duties)."
        )
    signature = signatures.sign(
        session,
        who,
        creds,
        meaning="concluded",
        record_type="deviation",
        record_id=dev.id or 0,
        content=closing_content(dev),
    )
    with audit.reason(session, f"deviation closed by QA: {text}"[:500]):
        dev.closure = text
        dev.closed_at = utcnow()
        dev.closed_by = who.id
        dev.signature_id = signature.id
    session.flush()


def require_open(session: Session, lot: Lot, deviation_id: int, doing: str) -> Deviation:
    """The open deviation ``deviation_id`` of ``lot`` that an entry names, or a refusal."""
    dev = session.get(Deviation, deviation_id)
    if dev is None or dev.lot_id != lot.id:
        raise ValidationError(
            f"Deviation: #{deviation_id} is not a deviation of lot {lot.lot_number}.",
            field="deviation",
        )
    if dev.closed_at is not None:
        raise ValidationError(
            f"Deviation: #{deviation_id} is closed; {doing} needs an open "
            "deviation that explains it.",
            field="deviation",
        )
    return dev


def link(session: Session, deviation_id: int, record_type: str, record_id: int, note: str) -> None:
    """Record that ``record_type`` #``record_id`` names the deviation (and why)."""
    session.add(
        DeviationLink(
            deviation_id=deviation_id, record_type=record_type, record_id=record_id, note=note[:500]
        )
    )
    session.flush()


def check_accepted(session: Session, lot: Lot, deviation_ids: Sequence[int]) -> list[int]:
    """For an exceptional release: the deviations it accepts, each of this lot; every
    open deviation of the lot must be among them."""
    named = sorted(set(deviation_ids))
    rows = {
        d.id: d for d in session.exec(select(Deviation).where(Deviation.lot_id == lot.id)).all()
    }
    for dev_id in named:
        if dev_id not in rows:
            raise ValidationError(
                f"Accepted deviations: #{dev_id} is not a deviation of lot {lot.lot_number}.",
                field="deviations",
            )
    unnamed = [d for i, d in rows.items() if d.closed_at is None and i not in named]
    if unnamed:
        raise InvalidTransition(
            f"Cannot release lot {lot.lot_number} under exception: open deviation(s) "
            f"{', '.join(f'#{d.id}' for d in unnamed)} not named as accepted; name each one "
            "the release accepts, or have QA close it."
        )
    return named


def open_by_lot(session: Session, lot_ids: Any) -> dict[int, tuple[str, ...]]:
    """Lot id → its open deviations in words, for the lots ``lot_ids`` (ids or a query)."""
    out: dict[int, list[str]] = {}
    for dev_id, lot_id, description in session.exec(  # columns: lists read thousands (#18)
        select(Deviation.id, Deviation.lot_id, Deviation.description)
        .where(col(Deviation.lot_id).in_(lot_ids), col(Deviation.closed_at).is_(None))
        .order_by(col(Deviation.id))
    ).all():
        out.setdefault(lot_id, []).append(f"deviation #{dev_id} open: {show(description, 60)}")
    return {k: tuple(v) for k, v in out.items()}


@dataclass(frozen=True)
class DeviationView:
    """A deviation as the batch record, the QA screen and the certificate show it."""

    id: int
    lot_id: int
    planned: bool
    description: str
    impact: str
    corrective_action: str
    opened_at: dt.datetime
    opened_by: str
    closure: str
    closed_at: dt.datetime | None
    closed_by: str | None
    signature: SignatureView | None
    named_by: tuple[str, ...]
    """The records that name it (an entry it explains, a release that accepts it)."""

    @property
    def is_open(self) -> bool:
        """True until QA closes it."""
        return self.closed_at is None

    @property
    def summary(self) -> str:
        """One line: kind, what happened, open or closed."""
        kind = "planned" if self.planned else "unplanned"
        state = "OPEN" if self.is_open else f"closed by {self.closed_by}"
        return f"Deviation #{self.id} ({kind}): {show(self.description, 80)} — {state}"


def views(session: Session, lot_id: int) -> list[DeviationView]:
    """Every deviation of the lot, oldest first."""
    devs = session.exec(
        select(Deviation).where(Deviation.lot_id == lot_id).order_by(col(Deviation.id))
    ).all()
    if not devs:
        return []
    people = {u.id: u.full_name for u in session.exec(select(User)).all()}
    links = session.exec(
        select(DeviationLink)
        .where(col(DeviationLink.deviation_id).in_([d.id for d in devs]))
        .order_by(col(DeviationLink.id))
    ).all()
    out = []
    for dev in devs:
        assert dev.id is not None
        sig = None
        if dev.signature_id is not None:
            s = session.get(signatures.Signature, dev.signature_id)
            sig = signatures.view(s, closing_content(dev)) if s is not None else None
        named = tuple(
            f"{lk.record_type.replace('_', ' ')} #{lk.record_id}: {lk.note}"
            for lk in links
            if lk.deviation_id == dev.id
        )
        out.append(
            DeviationView(
                dev.id,
                dev.lot_id,
                dev.planned,
                dev.description,
                dev.impact,
                dev.corrective_action,
                dev.opened_at,
                people.get(dev.opened_by, "?"),
                dev.closure,
                dev.closed_at,
                people.get(dev.closed_by) if dev.closed_by is not None else None,
                sig,
                named,
            )
        )
    return out


def list_for_lot(session: Session, who: CurrentUser, lot_id: int) -> list[DeviationView]:
    """:func:`views` for a person who may read the batch record."""
    authorize(session, who, Action.VIEW_BATCH_RECORD)
    lots.get_lot(session, lot_id)
    return views(session, lot_id)
