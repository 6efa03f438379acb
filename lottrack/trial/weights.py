"""Correcting and voiding a body weight (design §6.8): a weight typed wrong is corrected
with a reason (read again as if typed, the 30–200 kg confirmation included), a weight
that should not count is voided with a reason; every rule (the dose, the endotoxin limit,
dispensing check 4) then uses the latest valid weight.

An endotoxin result judged against the limit the changed weight gave is judged again at
once (audited with the weight's reason): a result that no longer conforms opens an OOS
investigation, and a released lot returns to awaiting release (its release signature no
longer matches). The subject's MSC lot exists whatever the arm, so what a blinded person
reads back is the same for both arms."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, col, select

from lottrack.kernel import calc
from lottrack.kernel.errors import InvalidTransition, NotFound, ValidationError
from lottrack.kernel.inputs import clean_text
from lottrack.kernel.units import Dim, format_quantity, parse_quantity
from lottrack.manufacturing import investigations, lots, qc, specifications
from lottrack.records.permissions import Action, CurrentUser, authorize
from lottrack.storage import audit
from lottrack.storage.models import (
    Dispensing,
    DispensingCheck,
    Lot,
    ProductUnit,
    QCResult,
    Site,
    SpecItem,
    Subject,
    Visit,
    WeightMeasurement,
    utcnow,
)
from lottrack.trial import dispensing
from lottrack.trial.visits import require_confirmation


@dataclass(frozen=True)
class WeightRow:
    """A recorded weight as the screens list it (voided ones marked)."""

    id: int
    measured_at_text: str
    weight_text: str
    weight_kg: float
    voided_reason: str | None


def _open(session: Session, who: CurrentUser, weight_id: int, doing: str) -> WeightMeasurement:
    authorize(session, who, Action.RECORD_WEIGHT)
    row = session.get(WeightMeasurement, weight_id)
    if row is None:
        raise NotFound(f"No weight with id {weight_id}.")
    if row.voided_reason is not None:
        raise InvalidTransition(
            f"Cannot {doing} weight #{weight_id}: it is void ({row.voided_reason})."
        )
    return row


@dataclass(frozen=True)
class WeightChange:
    """A corrected or voided weight and what followed from it."""

    weight_kg: float | None
    """The corrected weight; None when it was voided."""
    consequences: tuple[str, ...] = ()
    """Each endotoxin result judged again, investigation opened or lot returned to
    awaiting release, in words."""


def correct_weight(
    session: Session,
    who: CurrentUser,
    weight_id: int,
    *,
    weight_text: str,
    reason: str,
    confirm_implausible: bool = False,
) -> WeightChange:
    """Correct a weight with a reason (audited: old value, new value, reason). Outside
    30–200 kg it needs ``confirm_implausible`` as when recorded. Endotoxin results judged
    against the old weight are judged again against the corrected one."""
    row = _open(session, who, weight_id, "correct")
    why = clean_text(reason, "Reason", max_length=500)
    site = _site_of(session, row.subject_id)
    parsed = parse_quantity(
        weight_text, "Weight", Dim.MASS, decimal_separator=site.decimal_separator if site else "."
    )
    require_confirmation(calc.check_weight(parsed.value), confirm_implausible)
    if parsed.value == row.weight_kg and parsed.text == row.weight_text:
        raise ValidationError("Correction: the weight would not change.", field="Correction")
    old_kg = row.weight_kg
    with audit.reason(session, why):
        row.weight_kg = parsed.value
        row.weight_text = parsed.text
    session.flush()
    done = _judge_again(
        session,
        row,
        old_kg,
        parsed.value,
        f"weight #{weight_id} corrected from "
        f"{format_quantity(old_kg, Dim.MASS)} to "
        f"{format_quantity(parsed.value, Dim.MASS)} ({why})",
    )
    return WeightChange(parsed.value, done + _check_dispensings_again(session, who, row))


def void_weight(session: Session, who: CurrentUser, weight_id: int, reason: str) -> WeightChange:
    """Void a weight with a reason: it stays in the record, marked void, and no rule
    uses it (the one before it is the latest again, and endotoxin results judged against
    the voided one are judged again against it). Refused while such a result would be
    left without any valid weight: record the right weight first."""
    row = _open(session, who, weight_id, "void")
    why = clean_text(reason, "Reason", max_length=500)
    latest = session.exec(
        select(WeightMeasurement)
        .where(
            WeightMeasurement.subject_id == row.subject_id,
            col(WeightMeasurement.voided_reason).is_(None),
            WeightMeasurement.id != row.id,
        )
        .order_by(col(WeightMeasurement.measured_at).desc(), col(WeightMeasurement.id).desc())
    ).first()
    done = _judge_again(
        session,
        row,
        row.weight_kg,
        latest.weight_kg if latest is not None else None,
        f"weight #{weight_id} voided ({why})",
    )
    with audit.reason(session, why):
        row.voided_reason = why
    session.flush()
    return WeightChange(None, done + _check_dispensings_again(session, who, row))


RECHECK = "weight-change"
"""The stage of the checks 4 and 5 run again when the weight a dispensing used changes."""


def _check_dispensings_again(
    session: Session, who: CurrentUser, row: WeightMeasurement
) -> tuple[str, ...]:
    """Run checks 4 (current weight) and 5 (dose) again, with the latest valid weight, for
    every dispensing not yet infused that was checked with ``row``, and store them for the
    pharmacy (stage :data:`RECHECK`; the signed checks stay as signed). What a blinded
    person reads back is the same for both arms; the pharmacy also reads the outcomes."""
    said: list[str] = []
    now = utcnow()
    for used in session.exec(
        select(Dispensing)
        .where(Dispensing.weight_id == row.id, Dispensing.status != "infused")
        .order_by(col(Dispensing.id))
    ).all():
        visit = session.get(Visit, used.visit_id)
        unit = session.get(ProductUnit, used.unit_id)
        subject = session.get(Subject, row.subject_id)
        assert visit is not None and unit is not None and used.id is not None
        # Checks 4 and 5 do not read the arm (check 6 does, and is not run again here).
        run = dispensing.run_checks(session, visit, unit, unit.kind, now)
        again = [c for c in run.checks if c.number in (4, 5)]
        for c in again:
            session.add(
                DispensingCheck(
                    dispensing_id=used.id,
                    stage=RECHECK,
                    number=c.number,
                    name=c.name,
                    passed=c.passed,
                    detail=c.detail[:1000],
                    checked_at=now,
                    checked_by=who.id,
                )
            )
        session.flush()
        line = (
            f"The dispensing for {subject.code if subject else '?'} period {visit.period} "
            "was checked with this weight: its weight and dose checks were run again "
            "with the latest valid weight and stored for the pharmacy."
        )
        if who.unblinded:
            line += (
                " "
                + "; ".join(
                    f"check {c.number} {c.name}: {'passed' if c.passed else 'FAILED'} ({c.detail})"
                    for c in again
                )
                + "."
            )
        said.append(line)
    return tuple(said)


def _site_of(session: Session, subject_id: int) -> Site | None:
    subject = session.get(Subject, subject_id)
    return session.get(Site, subject.site_id) if subject is not None else None


def _judge_again(
    session: Session, row: WeightMeasurement, old_kg: float, new_kg: float | None, why: str
) -> tuple[str, ...]:
    """Judge again every valid endotoxin result of the subject's lots (not rejected) whose
    limit was the one ``old_kg`` gave, against ``new_kg``; returns what changed, in words.
    A result that no longer conforms opens an investigation (unless it is a retest or has
    one), and a released lot returns to awaiting release."""
    site = _site_of(session, row.subject_id)
    separator = site.decimal_separator if site is not None else "."
    lot_ids = session.exec(
        select(Lot.id)
        .where(Lot.subject_id == row.subject_id, col(Lot.status).in_(qc.QC_CORRECTABLE))
        .order_by(col(Lot.id))
    ).all()
    judged_against: list[tuple[Lot, QCResult, SpecItem]] = []
    for lot_id in lot_ids:
        lot = lots.get_lot(session, lot_id or 0, for_update=True)
        old_limit = qc.endotoxin_limit_for(session, lot, weight_kg=old_kg)
        if old_limit is None:
            continue  # no bag yet: no endotoxin result was judged
        judged_against += [
            (lot, result, item)
            for result, item in session.exec(
                select(QCResult, SpecItem)
                .where(
                    QCResult.spec_item_id == SpecItem.id,
                    QCResult.lot_id == lot.id,
                    SpecItem.kind == specifications.ENDOTOXIN,
                    col(QCResult.voided_reason).is_(None),
                )
                .order_by(col(QCResult.id))
            ).all()
            if result.limit_text == specifications.limit_text(item, endotoxin_limit=old_limit)
        ]
    if judged_against and new_kg is None:
        lot, result, _item = judged_against[0]
        raise InvalidTransition(
            f"Cannot void weight #{row.id}: the endotoxin result #{result.id} of lot "
            f"{lot.lot_number} was judged against it and no other valid weight of the "
            "subject is recorded. Record the right weight first, then void this one."
        )
    said: list[str] = []
    changed: dict[int, Lot] = {}
    for lot, result, item in judged_against:
        assert new_kg is not None and lot.id is not None
        judged = specifications.judge(
            item,
            result.value_text,
            decimal_separator=separator,
            endotoxin_limit=qc.endotoxin_limit_for(session, lot, weight_kg=new_kg),
        )
        if (judged.limit_text, judged.conforms) == (result.limit_text, result.conforms):
            continue
        with audit.reason(session, f"{why}: endotoxin limit judged again"):
            result.limit_text = judged.limit_text
            result.conforms = judged.conforms
        session.flush()
        changed[lot.id] = lot
        verdict = "conforms" if judged.conforms else "is out of specification"
        said.append(
            f"Lot {lot.lot_number}: the endotoxin result {result.value_text} "
            f"judged again against {judged.limit_text}: it {verdict}."
        )
        if (
            judged.conforms is False
            and result.retest_of_id is None
            and not any(
                inv.result_id == result.id
                for inv in investigations.for_item(session, lot.id, item.id or 0)
            )
        ):
            inv = investigations.open_for(session, lot, result, item)
            said.append(
                f"Lot {lot.lot_number}: OOS investigation #{inv.id} opened; the lot "
                "cannot be released until QA closes it."
            )
    for lot in changed.values():
        was = lot.status
        lots.after_correction(session, lot, why)
        if lot.status != was:
            said.append(
                f"Lot {lot.lot_number} returned to awaiting release: its release "
                "signature no longer matches the batch record."
            )
    return tuple(said)


def weights_of(session: Session, who: CurrentUser, subject_id: int) -> list[WeightRow]:
    """Every weight of a subject, newest first, voided ones included and marked."""
    authorize(session, who, Action.RECORD_WEIGHT)
    rows = session.exec(
        select(WeightMeasurement)
        .where(WeightMeasurement.subject_id == subject_id)
        .order_by(col(WeightMeasurement.measured_at).desc(), col(WeightMeasurement.id).desc())
    ).all()
    return [
        WeightRow(
            r.id or 0,
            f"{r.measured_at:%Y-%m-%d %H:%M} UTC",
            r.weight_text or format_quantity(r.weight_kg, Dim.MASS),
            r.weight_kg,
            r.voided_reason,
        )
        for r in rows
    ]
