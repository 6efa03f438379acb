"""Correcting and voiding a body weight (design §6.8): a weight typed wrong is corrected
with a reason (read again as if typed, the 30–200 kg confirmation included), a weight
that should not count is voided with a reason; every rule (the dose, the endotoxin limit,
dispensing check 4) then uses the latest valid weight."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, col, select

from lottrack import audit, calc
from lottrack.errors import InvalidTransition, NotFound, ValidationError
from lottrack.inputs import clean_text
from lottrack.models import Site, Subject, WeightMeasurement
from lottrack.permissions import Action, CurrentUser, authorize
from lottrack.trial.visits import require_confirmation
from lottrack.units import Dim, format_quantity, parse_quantity


@dataclass(frozen=True)
class WeightRow:
    """A recorded weight as the screens list it (voided ones marked)."""

    id: int
    measured_at_text: str
    weight_text: str
    weight_kg: float
    voided_reason: str | None


def _open(session: Session, who: CurrentUser, weight_id: int, doing: str
          ) -> WeightMeasurement:
    authorize(session, who, Action.RECORD_WEIGHT)
    row = session.get(WeightMeasurement, weight_id)
    if row is None:
        raise NotFound(f"No weight with id {weight_id}.")
    if row.voided_reason is not None:
        raise InvalidTransition(f"Cannot {doing} weight #{weight_id}: it is void "
                                f"({row.voided_reason}).")
    return row


def correct_weight(session: Session, who: CurrentUser, weight_id: int, *, weight_text: str,
                   reason: str, confirm_implausible: bool = False) -> float:
    """Correct a weight with a reason (audited: old value, new value, reason); returns the
    corrected kg. Outside 30–200 kg it needs ``confirm_implausible`` as when recorded."""
    row = _open(session, who, weight_id, "correct")
    why = clean_text(reason, "Reason", max_length=500)
    subject = session.get(Subject, row.subject_id)
    site = session.get(Site, subject.site_id) if subject is not None else None
    parsed = parse_quantity(weight_text, "Weight", Dim.MASS,
                            decimal_separator=site.decimal_separator if site else ".")
    require_confirmation(calc.check_weight(parsed.value), confirm_implausible)
    if parsed.value == row.weight_kg and parsed.text == row.weight_text:
        raise ValidationError("Correction: the weight would not change.", field="Correction")
    with audit.reason(session, why):
        row.weight_kg = parsed.value
        row.weight_text = parsed.text
    session.flush()
    return parsed.value


def void_weight(session: Session, who: CurrentUser, weight_id: int, reason: str) -> None:
    """Void a weight with a reason: it stays in the record, marked void, and no rule
    uses it (the one before it is the latest again)."""
    row = _open(session, who, weight_id, "void")
    why = clean_text(reason, "Reason", max_length=500)
    with audit.reason(session, why):
        row.voided_reason = why
    session.flush()


def weights_of(session: Session, who: CurrentUser, subject_id: int) -> list[WeightRow]:
    """Every weight of a subject, newest first, voided ones included and marked."""
    authorize(session, who, Action.RECORD_WEIGHT)
    rows = session.exec(select(WeightMeasurement)
                        .where(WeightMeasurement.subject_id == subject_id)
                        .order_by(col(WeightMeasurement.measured_at).desc(),
                                  col(WeightMeasurement.id).desc())).all()
    return [WeightRow(r.id or 0, f"{r.measured_at:%Y-%m-%d %H:%M} UTC",
                      r.weight_text or format_quantity(r.weight_kg, Dim.MASS), r.weight_kg,
                      r.voided_reason) for r in rows]
