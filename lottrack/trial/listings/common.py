"""What the pharmacy's and the ward's listings both read: a visit, the subject's current
weight (and whether a dispensing may use it), and how often a document was issued.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func
from sqlmodel import Session, select

from lottrack.kernel import calc
from lottrack.kernel.errors import NotFound
from lottrack.storage import settings
from lottrack.storage.models import (
    Certificate,
    Visit,
)
from lottrack.trial import visits


@dataclass(frozen=True)
class WeightInfo:
    """A subject's current weight and whether a dispensing may use it (§5)."""

    weight_kg: float
    weight_text: str
    measured_at: dt.datetime
    age_days: float
    max_age_days: float
    fresh: bool
    warning: str | None
    """The plausibility warning (outside 30–200 kg), or None."""


def current_weight(session: Session, subject_id: int, now: dt.datetime) -> WeightInfo | None:
    """The subject's current weight at ``now`` and whether it is fresh enough, or None."""
    row = visits.current_weight(session, subject_id, now)
    if row is None:
        return None
    max_age = settings.get_float(session, "weight_max_age_days")
    age = calc.weight_age(row.measured_at, now, max_age_days=max_age)
    return WeightInfo(
        row.weight_kg,
        row.weight_text,
        row.measured_at,
        age.age_days,
        max_age,
        age.fresh,
        calc.check_weight(row.weight_kg).warning,
    )


def visit_row(session: Session, visit_id: int) -> Visit:
    """The visit by id."""
    # the statement the dispensing checks read it with: a read sends it once (#18)
    visit = session.exec(select(Visit).where(Visit.id == visit_id)).first()
    if visit is None:
        raise NotFound(f"No visit with id {visit_id}.")
    return visit


def document_copies(session: Session, kind: str, record_type: str, record_id: int) -> int:
    """How many times a document of a record was issued."""
    return int(
        session.exec(
            select(func.count())
            .select_from(Certificate)
            .where(
                Certificate.kind == kind,
                Certificate.record_type == record_type,
                Certificate.record_id == record_id,
            )
        ).one()
    )
