"""QC results (design §2): entered with units, conformity computed, retests kept beside."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlmodel import Session, col, select

from lottrack import calc, lots, specifications
from lottrack.errors import InvalidTransition, NotFound, ValidationError
from lottrack.inputs import clean_text
from lottrack.models import (
    Lot,
    ProductUnit,
    QCResult,
    Site,
    SpecItem,
    Subject,
    WeightMeasurement,
    utcnow,
)
from lottrack.permissions import Action, CurrentUser, authorize

#: QC results may be added while the lot is made, awaits release or is held.
QC_OPEN = (lots.IN_PROCESS, lots.AWAITING_RELEASE, lots.QUARANTINED)


@dataclass(frozen=True)
class QCRow:
    """A QC result as the batch record shows it."""

    id: int
    code: str
    test_name: str
    value_text: str
    limit_text: str
    conforms: bool | None
    required: bool
    tested_at: dt.datetime
    retest_of_id: int | None
    superseded: bool


def current_weight(session: Session, subject_id: int) -> WeightMeasurement | None:
    """The subject's latest valid weight."""
    return session.exec(
        select(WeightMeasurement)
        .where(WeightMeasurement.subject_id == subject_id,
               col(WeightMeasurement.voided_reason).is_(None))
        .order_by(col(WeightMeasurement.measured_at).desc(), col(WeightMeasurement.id).desc())
    ).first()


def endotoxin_limit_for(session: Session, lot: Lot) -> float | None:
    """K × current weight ÷ largest bag volume of the lot, or None while either is missing."""
    weight = current_weight(session, lot.subject_id)
    volumes = session.exec(
        select(ProductUnit.volume_ml).where(ProductUnit.lot_id == lot.id,
                                            ProductUnit.kind == "msc")
    ).all()
    if weight is None or not volumes:
        return None
    return calc.endotoxin_limit(weight.weight_kg, max(volumes)).limit_eu_per_ml


def _site_for(session: Session, lot: Lot) -> Site:
    subject = session.get(Subject, lot.subject_id)
    assert subject is not None
    site = session.get(Site, subject.site_id)
    assert site is not None
    return site


def record_result(
    session: Session,
    who: CurrentUser,
    *,
    lot_id: int,
    test: str,
    value_text: str,
    tested_at: dt.datetime,
    method: str = "",
    retest_of_id: int | None = None,
) -> int:
    """Record a QC result for the lot's specification item ``test`` (its code).

    Conformity is computed here. A retest names the result it repeats; the first result
    stays in the record.
    """
    user = authorize(session, who, Action.RECORD_MANUFACTURING)
    lot = lots.get_lot(session, lot_id, for_update=True)
    if lot.status not in QC_OPEN:
        raise InvalidTransition(
            f"Cannot record a QC result: lot {lot.lot_number} is {lot.status}; results are "
            "added while a lot is in process, awaiting release or quarantined."
        )
    if tested_at.tzinfo is None:
        raise ValidationError("Tested at: give a time with its zone.", field="tested_at")
    if tested_at > utcnow() + dt.timedelta(minutes=5):
        raise ValidationError("Tested at: the time is in the future.", field="tested_at")
    method = clean_text(method, "Method", max_length=200, required=False)
    item = specifications.item_by_code(session, lot.spec_id, test)
    if retest_of_id is not None:
        first = session.get(QCResult, retest_of_id)
        if first is None or first.lot_id != lot.id or first.spec_item_id != item.id:
            raise ValidationError(
                f"Retest of: result {retest_of_id} is not a {item.test_name} result of lot "
                f"{lot.lot_number}.", field="retest_of",
            )
    limit = endotoxin_limit_for(session, lot) if item.kind == specifications.ENDOTOXIN else None
    judged = specifications.judge(
        item, value_text, decimal_separator=_site_for(session, lot).decimal_separator,
        endotoxin_limit=limit,
    )
    assert lot.id is not None and item.id is not None and user.id is not None
    result = QCResult(
        lot_id=lot.id, spec_item_id=item.id, value_text=value_text.strip(),
        value_num=judged.value_num, value_cat=judged.value_cat, unit=judged.unit,
        limit_text=judged.limit_text, method=method, tested_at=tested_at.astimezone(dt.UTC),
        tester_id=user.id, conforms=judged.conforms, retest_of_id=retest_of_id,
    )
    session.add(result)
    session.flush()
    assert result.id is not None
    return result.id


def results(session: Session, lot_id: int) -> list[QCRow]:
    """Every result of the lot in specification order; ``superseded`` marks a result that a
    later retest of the same test replaced (it is still shown)."""
    lot = session.get(Lot, lot_id)
    if lot is None:
        raise NotFound(f"No lot with id {lot_id}.")
    spec_items = {i.id: i for i in specifications.items(session, lot.spec_id)}
    rows = session.exec(
        select(QCResult)
        .where(QCResult.lot_id == lot_id, col(QCResult.voided_reason).is_(None))
        .order_by(col(QCResult.tested_at), col(QCResult.id))
    ).all()
    latest: dict[int, int] = {}
    for r in rows:
        assert r.id is not None
        latest[r.spec_item_id] = r.id
    out = [
        QCRow(
            id=r.id or 0, code=spec_items[r.spec_item_id].code,
            test_name=spec_items[r.spec_item_id].test_name, value_text=r.value_text,
            limit_text=r.limit_text, conforms=r.conforms,
            required=spec_items[r.spec_item_id].required, tested_at=r.tested_at,
            retest_of_id=r.retest_of_id, superseded=latest[r.spec_item_id] != r.id,
        )
        for r in rows
    ]
    order = {item_id: i.position for item_id, i in spec_items.items()}
    code_pos = {i.code: order[item_id] for item_id, i in spec_items.items()}
    return sorted(out, key=lambda q: (code_pos[q.code], q.tested_at, q.id))


@dataclass(frozen=True)
class ReleaseReadiness:
    """What stands between a lot and a normal release."""

    missing: tuple[str, ...]
    out_of_spec: tuple[str, ...]

    @property
    def ready(self) -> bool:
        """True when every required result exists and conforms."""
        return not self.missing and not self.out_of_spec


def readiness(session: Session, lot: Lot) -> ReleaseReadiness:
    """Required tests without a result, and required tests whose latest result fails."""
    assert lot.id is not None
    rows = [r for r in results(session, lot.id) if not r.superseded]
    by_code = {r.code: r for r in rows}
    missing: list[str] = []
    failing: list[str] = []
    item: SpecItem
    for item in specifications.items(session, lot.spec_id):
        if not item.required:
            continue
        row = by_code.get(item.code)
        if row is None:
            missing.append(item.test_name)
        elif row.conforms is False:
            failing.append(f"{item.test_name} {row.value_text} (limit {row.limit_text})")
    return ReleaseReadiness(tuple(missing), tuple(failing))
