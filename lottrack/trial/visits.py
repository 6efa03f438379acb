"""Crossover visits (period 1 at week 0, period 2 at week 24) and body weights."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlmodel import Session, col, select

from lottrack.kernel import calc
from lottrack.kernel.errors import NotFound, ValidationError
from lottrack.kernel.units import Dim, parse_quantity
from lottrack.records.permissions import Action, CurrentUser, authorize
from lottrack.storage import settings
from lottrack.storage.models import Site, Subject, Visit, WeightMeasurement, utcnow


def schedule(
    session: Session, who: CurrentUser, *, subject_id: int, week0: dt.date
) -> tuple[int, int]:
    """Create both visits of a subject: period 1 on ``week0``, period 2 24 weeks later
    (the unblinded pharmacy, which allocates, schedules)."""
    authorize(session, who, Action.SCHEDULE_VISITS)
    subject = session.get(Subject, subject_id)
    if subject is None:
        raise NotFound(f"No subject with id {subject_id}.")
    if session.exec(select(Visit).where(Visit.subject_id == subject_id)).first() is not None:
        raise ValidationError(f"Subject {subject.code} already has visits.")
    weeks = settings.get_int(session, "period2_week")
    try:
        week_later = week0 + dt.timedelta(weeks=weeks)
    except OverflowError:
        raise ValidationError(
            f"Week 0: {week0.isoformat()} is too late; period 2, {weeks} "
            "weeks later, would fall after the year 9999.",
            field="week0",
        ) from None
    v1 = Visit(subject_id=subject_id, period=1, planned_date=week0)
    v2 = Visit(subject_id=subject_id, period=2, planned_date=week_later)
    session.add_all([v1, v2])
    session.flush()
    assert v1.id is not None and v2.id is not None
    return v1.id, v2.id


@dataclass(frozen=True)
class WeightRecorded:
    """A recorded weight and whether it is plausible."""

    id: int
    weight_kg: float
    warning: str | None


def record_weight(
    session: Session,
    who: CurrentUser,
    *,
    subject_id: int,
    weight_text: str,
    measured_at: dt.datetime,
    confirm_implausible: bool = False,
) -> WeightRecorded:
    """Record a body weight (kg, lb …). ≤ 0 is refused; outside 30–200 kg it is stored
    only with ``confirm_implausible`` (design §6.8), else refused saying so."""
    user = authorize(session, who, Action.RECORD_WEIGHT)
    subject = session.get(Subject, subject_id)
    if subject is None:
        raise NotFound(f"No subject with id {subject_id}.")
    site = session.get(Site, subject.site_id)
    parsed = parse_quantity(
        weight_text, "Weight", Dim.MASS, decimal_separator=site.decimal_separator if site else "."
    )
    if measured_at.tzinfo is None:
        raise ValidationError("Measured at: give a time with its zone.", field="measured_at")
    if measured_at > utcnow() + dt.timedelta(minutes=5):
        raise ValidationError("Measured at: the time is in the future.", field="measured_at")
    check = calc.check_weight(parsed.value)
    require_confirmation(check, confirm_implausible)
    assert user.id is not None
    row = WeightMeasurement(
        subject_id=subject_id,
        measured_at=measured_at,
        weight_kg=parsed.value,
        weight_text=parsed.text,
        recorded_by=user.id,
    )
    session.add(row)
    session.flush()
    assert row.id is not None
    return WeightRecorded(row.id, parsed.value, check.warning)


CONFIRM_FIELD = "confirm_implausible"
"""The field a refused implausible weight names: confirm it (a flag, a second key)."""


def require_confirmation(check: calc.WeightCheck, confirmed: bool) -> None:
    """Refuse a weight outside 30–200 kg unless the person confirmed it."""
    if check.warning is not None and not confirmed:
        raise ValidationError(
            f"{check.warning} It is stored only when you confirm it.",
            field=CONFIRM_FIELD,
            title="Confirm the weight",
        )


def current_weight(session: Session, subject_id: int, at: dt.datetime) -> WeightMeasurement | None:
    """The latest valid weight measured at or before ``at``."""
    return session.exec(
        select(WeightMeasurement)
        .where(
            WeightMeasurement.subject_id == subject_id,
            col(WeightMeasurement.voided_reason).is_(None),
            col(WeightMeasurement.measured_at) <= at,
        )
        .order_by(col(WeightMeasurement.measured_at).desc(), col(WeightMeasurement.id).desc())
    ).first()
