"""QC results (design §2): entered with units, conformity computed, retests kept beside.

A result typed wrong is corrected with a reason (re-read and re-judged as if typed), or
voided with a reason (it stays in the record, marked void, and no longer counts: a voided
required result is missing for release). Nothing is ever retyped silently.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, func
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from lottrack.kernel import calc
from lottrack.kernel.errors import InvalidTransition, NotFound, ValidationError
from lottrack.kernel.inputs import clean_text
from lottrack.manufacturing import deviations, investigations, lots, specifications
from lottrack.records.permissions import Action, CurrentUser, authorize
from lottrack.storage import audit
from lottrack.storage.models import (
    Lot,
    ProductUnit,
    QCResult,
    Site,
    SpecItem,
    Subject,
    WeightMeasurement,
    utcnow,
)

#: QC results may be added while the lot is made, awaits release or is held.
QC_OPEN = (lots.IN_PROCESS, lots.AWAITING_RELEASE, lots.QUARANTINED)
#: A result may be corrected or voided while results may be added, and after release (the
#: lot then returns to awaiting release, where the result can be replaced). Not once the
#: lot is rejected: that decision is final, and no one could sign again on the changed
#: record.
QC_CORRECTABLE = (*QC_OPEN, *sorted(lots.RELEASED_STATES))


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
    method: str = ""
    voided_reason: str | None = None
    """Set on a voided result (listed only when asked for); it never supersedes another."""
    investigation_note: str = ""
    """How an OOS investigation bears on this result (opened by it, a retest in it, the
    original invalidated or standing, a retest not counted), else empty."""


def current_weight(session: Session, subject_id: int) -> WeightMeasurement | None:
    """The subject's latest valid weight."""
    return session.exec(
        select(WeightMeasurement)
        .where(
            WeightMeasurement.subject_id == subject_id,
            col(WeightMeasurement.voided_reason).is_(None),
        )
        .order_by(col(WeightMeasurement.measured_at).desc(), col(WeightMeasurement.id).desc())
    ).first()


def endotoxin_limit_for(
    session: Session, lot: Lot, *, weight_kg: float | None = None
) -> float | None:
    """K × current weight (or ``weight_kg``) ÷ largest bag volume of the lot, or None while
    either is missing."""
    if weight_kg is None:
        weight = current_weight(session, lot.subject_id)
        weight_kg = weight.weight_kg if weight is not None else None
    volumes = session.exec(
        select(ProductUnit.volume_ml).where(ProductUnit.lot_id == lot.id, ProductUnit.kind == "msc")
    ).all()
    if weight_kg is None or not volumes:
        return None
    return calc.endotoxin_limit(weight_kg, max(volumes)).limit_eu_per_ml


def _require_endotoxin_inputs(session: Session, lot: Lot, item: SpecItem) -> None:
    """Say what the endotoxin limit still lacks: the subject's weight (who records it,
    and where) and/or the bag (formulation)."""
    subject = session.get(Subject, lot.subject_id)
    code = subject.code if subject is not None else "?"
    missing = []
    if current_weight(session, lot.subject_id) is None:
        missing.append(
            f"no valid weight of subject {code} is recorded (a clinician or "
            "pharmacist records it, before any visit too: w then a on the "
            "ward's patient list or on the pharmacy's allocation screen, or "
            f"`lottrack weight record {code} WEIGHT`)"
        )
    if not session.exec(select(ProductUnit.id).where(ProductUnit.lot_id == lot.id)).first():
        missing.append(f"lot {lot.lot_number} has no bag yet (formulate it first)")
    raise ValidationError(
        "Endotoxin: the limit is 5 EU/kg × the subject's weight ÷ the bag volume; "
        + "; ".join(missing)
        + ".",
        field=item.test_name,
    )


def _site_for(session: Session, lot: Lot) -> Site:
    subject = session.get(Subject, lot.subject_id)
    assert subject is not None
    site = session.get(Site, subject.site_id)
    assert site is not None
    return site


def _checked_tested_at(tested_at: dt.datetime) -> dt.datetime:
    """The test time in UTC: with its zone, and not in the future."""
    if tested_at.tzinfo is None:
        raise ValidationError("Tested at: give a time with its zone.", field="tested_at")
    if tested_at > utcnow() + dt.timedelta(minutes=5):
        raise ValidationError("Tested at: the time is in the future.", field="tested_at")
    return tested_at.astimezone(dt.UTC)


def _judge(session: Session, lot: Lot, item: SpecItem, value_text: str) -> specifications.Judgement:
    """Parse ``value_text`` with the site's decimal separator and judge it against the
    item (endotoxin against the limit from the subject's current weight and the bag)."""
    limit = endotoxin_limit_for(session, lot) if item.kind == specifications.ENDOTOXIN else None
    if item.kind == specifications.ENDOTOXIN and limit is None:
        _require_endotoxin_inputs(session, lot, item)
    return specifications.judge(
        item,
        value_text,
        decimal_separator=_site_for(session, lot).decimal_separator,
        endotoxin_limit=limit,
    )


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
    investigation_id: int | None = None,
    reason: str = "",
) -> int:
    """Record a QC result for the lot's specification item ``test`` (its code).

    Conformity is computed here. An out-of-specification result opens an investigation
    on the lot at once (design §6.6). A retest is recorded only against an open
    investigation (``investigation_id``, or ``retest_of_id`` naming a result in it) with
    a ``reason``; the first result stays in the record, and which counts is decided when
    QA closes the investigation.
    """
    user = authorize(session, who, Action.RECORD_MANUFACTURING)
    lot = lots.get_lot(session, lot_id, for_update=True)
    if lot.status not in QC_OPEN:
        raise InvalidTransition(
            f"Cannot record a QC result: lot {lot.lot_number} is {lot.status}; results are "
            "added while a lot is in process, awaiting release or quarantined."
        )
    tested_at = _checked_tested_at(tested_at)
    method = clean_text(method, "Method", max_length=200, required=False)
    item = specifications.item_by_code(session, lot.spec_id, test)
    inv, why = investigations.check_new_result(
        session,
        lot,
        item,
        retest_of_id=retest_of_id,
        investigation_id=investigation_id,
        reason=reason,
    )
    if inv is not None:
        retest_of_id = retest_of_id or inv.result_id
    judged = _judge(session, lot, item, value_text)
    assert lot.id is not None and item.id is not None and user.id is not None
    result = QCResult(
        lot_id=lot.id,
        spec_item_id=item.id,
        value_text=value_text.strip(),
        value_num=judged.value_num,
        value_cat=judged.value_cat,
        unit=judged.unit,
        limit_text=judged.limit_text,
        method=method,
        tested_at=tested_at,
        tester_id=user.id,
        conforms=judged.conforms,
        retest_of_id=retest_of_id,
    )
    session.add(result)
    session.flush()
    assert result.id is not None
    if inv is not None:
        investigations.add_retest(session, inv, result, why)
    elif judged.conforms is False:
        investigations.open_for(session, lot, result, item)
    return result.id


def results(session: Session, lot_id: int, *, include_voided: bool = False) -> list[QCRow]:
    """Every valid result of the lot in specification order; ``superseded`` marks a result
    that a later retest of the same test replaced (it is still shown). Voided results are
    left out (they count for nothing) unless ``include_voided``, for screens that show the
    whole record."""
    lot = session.get(Lot, lot_id)
    if lot is None:
        raise NotFound(f"No lot with id {lot_id}.")
    spec_items = {i.id: i for i in specifications.items(session, lot.spec_id)}
    rows = result_rows(session, lot_id)
    if not include_voided:
        rows = [r for r in rows if r.voided_reason is None]
    standing = investigations.standing(session, [lot_id])
    latest: dict[int, int] = {}
    for r in rows:
        assert r.id is not None
        if r.voided_reason is None and r.id not in standing.not_counted:
            latest[r.spec_item_id] = r.id
    for (_lot, item_id), result_id in standing.deciding.items():
        latest[item_id] = result_id
    notes = investigations.result_notes(session, lot_id)
    out = [
        QCRow(
            id=r.id or 0,
            code=spec_items[r.spec_item_id].code,
            test_name=spec_items[r.spec_item_id].test_name,
            value_text=r.value_text,
            limit_text=r.limit_text,
            conforms=r.conforms,
            required=spec_items[r.spec_item_id].required,
            tested_at=r.tested_at,
            retest_of_id=r.retest_of_id,
            superseded=(
                r.voided_reason is None
                and r.id not in standing.not_counted
                and latest.get(r.spec_item_id) != r.id
            ),
            method=r.method,
            voided_reason=r.voided_reason,
            investigation_note=notes.get(r.id or 0, ""),
        )
        for r in rows
    ]
    order = {item_id: i.position for item_id, i in spec_items.items()}
    code_pos = {i.code: order[item_id] for item_id, i in spec_items.items()}
    return sorted(out, key=lambda q: (code_pos[q.code], q.tested_at, q.id))


# ------------------------------------------------------------- corrections and voids


def _open_result(
    session: Session, who: CurrentUser, result_id: int, doing: str
) -> tuple[QCResult, Lot, SpecItem]:
    """The result, its lot (locked) and its test, once the person may change it and the
    lot's state allows it; a voided result is not changed again."""
    authorize(session, who, Action.RECORD_MANUFACTURING)
    result = session.get(QCResult, result_id)
    if result is None:
        raise NotFound(f"No QC result with id {result_id}.")
    lot = lots.get_lot(session, result.lot_id, for_update=True)
    item = session.get(SpecItem, result.spec_item_id)
    assert item is not None
    what = f"{doing} the {item.test_name} result #{result_id}"
    if lot.status not in QC_CORRECTABLE:
        raise InvalidTransition(
            f"Cannot {what}: lot {lot.lot_number} is {lot.status}; its QC results are "
            "corrected or voided while it is in process, awaiting release, quarantined or "
            "released, not once it is rejected (the decision is final)."
        )
    session.refresh(result)  # as it is now that the lot is locked (another terminal)
    if result.voided_reason is not None:
        raise InvalidTransition(f"Cannot {what}: it is void ({result.voided_reason}).")
    return result, lot, item


def correct_result(
    session: Session,
    who: CurrentUser,
    result_id: int,
    *,
    value_text: str,
    reason: str,
    method: str | None = None,
    tested_at: dt.datetime | None = None,
) -> QCRow:
    """Correct a recorded QC result with a reason (audited: old value, new value, reason).

    The value is read and judged again exactly as when it is recorded (site's decimal
    separator, units; conformity computed; endotoxin against the limit from the subject's
    current weight and the bag volume). ``method`` and ``tested_at`` are corrected when
    given. A retest stays a retest, and retests of this result stay beside it. A
    correction of a released lot returns it to awaiting release (its release signature
    shows invalidated). Refused on a rejected lot and on a voided result. Returns the
    result as it now stands.
    """
    result, lot, item = _open_result(session, who, result_id, "correct")
    why = clean_text(reason, "Reason", max_length=500)
    new: dict[str, Any] = {}
    value_text = str(value_text).strip()
    if value_text != result.value_text:
        judged = _judge(session, lot, item, value_text)
        new.update(
            value_text=value_text,
            value_num=judged.value_num,
            value_cat=judged.value_cat,
            unit=judged.unit,
            limit_text=judged.limit_text,
            conforms=judged.conforms,
        )
    if method is not None:
        new["method"] = clean_text(method, "Method", max_length=200, required=False)
    if tested_at is not None:
        new["tested_at"] = _checked_tested_at(tested_at)
    changes = {k: v for k, v in new.items() if getattr(result, k) != v}
    if not changes:
        raise ValidationError(
            f"Correction: no value of the {item.test_name} result would change.", field="Correction"
        )
    with audit.reason(session, why):
        for key, value in changes.items():
            setattr(result, key, value)
    if (
        result.conforms is False
        and result.retest_of_id is None
        and not any(
            inv.result_id == result.id
            for inv in investigations.for_item(session, result.lot_id, item.id or 0)
        )
    ):
        session.flush()
        investigations.open_for(session, lot, result, item)
    lots.after_correction(session, lot, why)
    assert lot.id is not None
    return next(r for r in results(session, lot.id) if r.id == result_id)


def void_result(session: Session, who: CurrentUser, result_id: int, reason: str) -> None:
    """Void a QC result with a reason (it stays in the record, marked void, and counts for
    nothing: a voided required result is missing until a new one is recorded; when a
    retest is voided, the result it repeated is the latest again). A void on a released
    lot returns it to awaiting release. Refused on a rejected lot."""
    result, lot, _item = _open_result(session, who, result_id, "void")
    investigations.require_not_investigated(session, result_id, f"void the result #{result_id}")
    why = clean_text(reason, "Reason", max_length=500)
    with audit.reason(session, why):
        result.voided_reason = why
    lots.after_correction(session, lot, why)


@dataclass(frozen=True)
class ReleaseReadiness:
    """What stands between a lot and a normal release."""

    missing: tuple[str, ...]
    out_of_spec: tuple[str, ...]
    open_investigations: tuple[str, ...] = ()
    """Open OOS investigations, each in words: any blocks every release."""
    open_deviations: tuple[str, ...] = ()
    """Open deviations, each in words: any blocks a normal release (an exceptional
    release names those it accepts)."""

    @property
    def open_records(self) -> tuple[str, ...]:
        """Open investigations and deviations: any of them blocks a normal release."""
        return self.open_investigations + self.open_deviations

    @property
    def ready(self) -> bool:
        """True when every required result exists and conforms and nothing is open."""
        return not self.missing and not self.out_of_spec and not self.open_records


def missing_of(session: Session, lot_ids: Select[Any] | list[int]) -> dict[int, tuple[str, ...]]:
    """The required tests without a counted result of each lot of ``lot_ids`` (ids, or a
    query of ids) that lacks any, in specification order, by lot id: the ``missing`` of
    :func:`readiness_of` (a result counts unless voided or set aside by an investigation),
    decided in the database in one statement, so that a list of thousands of lots reads
    the few missing tests rather than every result (#18: the technician's list)."""
    counted = (
        sa_select(col(QCResult.id))
        .where(col(QCResult.spec_item_id) == col(SpecItem.id), *_counted_of_lot())
        .correlate(Lot, SpecItem)
        .exists()
    )
    out: dict[int, list[str]] = {}
    for lot_id, test_name in session.execute(
        sa_select(col(Lot.id), col(SpecItem.test_name))
        .join(SpecItem, col(SpecItem.spec_id) == col(Lot.spec_id))
        .where(col(Lot.id).in_(lot_ids), col(SpecItem.required), ~counted)
        .order_by(col(Lot.id), col(SpecItem.position), col(SpecItem.id))
    ).all():
        out.setdefault(lot_id, []).append(test_name)
    return {lot_id: tuple(names) for lot_id, names in out.items()}


def _counted_of_lot() -> tuple[Any, ...]:
    """The conditions of a result of the lot ``Lot`` that counts (not voided, not set aside
    by an investigation), in SQL: :func:`missing_of` and :func:`lacks_result` test with
    them."""
    return (
        col(QCResult.lot_id) == col(Lot.id),
        col(QCResult.voided_reason).is_(None),
        col(QCResult.id).not_in(investigations.not_counted_ids()),
    )


def result_rows(session: Session, lot_id: int) -> list[QCResult]:
    """Every result of the lot, voided ones included, in the order tested: one statement
    for whoever reads them in a read session (the batch record's results and timeline:
    :mod:`lottrack.storage.read_once` answers the second from the first)."""
    return list(
        session.exec(
            select(QCResult)
            .where(QCResult.lot_id == lot_id)
            .order_by(col(QCResult.tested_at), col(QCResult.id))
        ).all()
    )


def lacks_result() -> tuple[ColumnElement[bool], Any, ColumnElement[bool]]:
    """True, in SQL, for the lot ``Lot`` of the enclosing query when it lacks a counted
    result of a required test: the lots :func:`missing_of` names (and whose
    :func:`readiness_of` has ``missing``). Decided by counting, in one pass over the lot's
    results: fewer required tests with a counted result than its specification requires
    (#18: the technician's list tells which of thousands of lots owe the lab a result
    without naming each missing test, in a third of the time).

    Returns the condition, the table of each specification's number of required tests
    it reads (counted once, not for each lot: a quarter less time at N = 1000) and the
    condition to outer-join that table to ``Lot`` on."""
    required = (
        sa_select(col(SpecItem.spec_id), func.count().label("tests"))
        .where(col(SpecItem.required))
        .group_by(col(SpecItem.spec_id))
        .subquery("required_tests")
    )
    with_result = (
        sa_select(func.count(col(QCResult.spec_item_id).distinct()))
        .select_from(QCResult)
        .join(SpecItem, col(SpecItem.id) == col(QCResult.spec_item_id))
        .where(
            col(SpecItem.spec_id) == col(Lot.spec_id),
            col(SpecItem.required),
            *_counted_of_lot(),
        )
        .correlate(Lot)
        .scalar_subquery()
    )
    lacking = func.coalesce(required.c.tests, 0) > with_result
    return lacking, required, required.c.spec_id == col(Lot.spec_id)


def readiness(session: Session, lot: Lot) -> ReleaseReadiness:
    """Required tests without a result, and required tests whose latest result fails."""
    assert lot.id is not None
    return readiness_of(session, [lot])[lot.id]


def readiness_of(
    session: Session,
    lots: Sequence[Lot],
    *,
    lot_ids: Select[Any] | list[int] | None = None,
    open_records: tuple[investigations.Standing, dict[int, tuple[str, ...]]] | None = None,
) -> dict[int, ReleaseReadiness]:
    """:func:`readiness` of each lot, by lot id, in a fixed number of reads whatever the
    number of lots: the tests of their specifications, their valid results, and how
    investigations and deviations bear on them (``open_records``: those already read,
    by :func:`investigations.standing` and :func:`deviations.open_by_lot`, for lots that
    include these, by a list that shows them for more lots than it judges).

    For each required test of a lot's specification (in specification order), the test is
    missing when the lot has no valid result for it, and failing when its latest valid
    result (by test time, then entry) does not conform. The results are read for the lots'
    ids, or for ``lot_ids`` when given: a query of lot ids that includes theirs (for a
    long list, say ``SELECT id FROM lot WHERE status IN …``, in place of every id)."""
    if not lots:
        return {}
    spec_ids = sorted({lot.spec_id for lot in lots})
    required: dict[int, list[tuple[int, str]]] = {spec_id: [] for spec_id in spec_ids}
    for item in session.exec(
        select(SpecItem)
        .where(col(SpecItem.spec_id).in_(spec_ids))
        .order_by(col(SpecItem.spec_id), col(SpecItem.position), col(SpecItem.id))
    ).all():
        assert item.id is not None
        if item.required:
            required[item.spec_id].append((item.id, item.test_name))
    among = lot_ids if lot_ids is not None else [lot.id for lot in lots]
    standing, open_deviations = (
        open_records
        if open_records is not None
        else (investigations.standing(session, among), deviations.open_by_lot(session, among))
    )
    latest: dict[tuple[int, int], tuple[str, str, bool | None]] = {}
    for result_id, lot_id, item_id, value_text, limit_text, conforms in session.execute(
        sa_select(
            col(QCResult.id),
            col(QCResult.lot_id),
            col(QCResult.spec_item_id),
            col(QCResult.value_text),
            col(QCResult.limit_text),
            col(QCResult.conforms),
        )
        .where(col(QCResult.lot_id).in_(among), col(QCResult.voided_reason).is_(None))
        .order_by(col(QCResult.tested_at), col(QCResult.id))
    ).all():
        if result_id in standing.not_counted:
            continue
        decided = standing.deciding.get((lot_id, item_id))
        if decided is not None and decided != result_id:
            continue  # the original that an investigation let stand decides
        latest[lot_id, item_id] = (value_text, limit_text, conforms)  # the last one stays
    out: dict[int, ReleaseReadiness] = {}
    for lot in lots:
        assert lot.id is not None
        missing: list[str] = []
        failing: list[str] = []
        for item_id, test_name in required[lot.spec_id]:
            row = latest.get((lot.id, item_id))
            if row is None:
                missing.append(test_name)
            elif row[2] is False:
                failing.append(f"{test_name} {row[0]} (limit {row[1]})")
        out[lot.id] = ReleaseReadiness(
            tuple(missing),
            tuple(failing),
            standing.open_by_lot.get(lot.id, ()),
            open_deviations.get(lot.id, ()),
        )
    return out
