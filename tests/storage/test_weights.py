"""Body weights (design §5, §6.8): outside 30–200 kg only with an explicit confirmation;
a weight is corrected or voided with a reason, and the rules use the latest valid one."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import func
from sqlmodel import col, select

from lottrack.demo.scenario import Scenario
from lottrack.kernel.errors import InvalidTransition, PermissionDenied, ValidationError
from lottrack.manufacturing import lots, qc
from lottrack.storage.models import AuditEvent, WeightMeasurement, utcnow
from lottrack.trial import visits, weights
from tests.conftest import verify_ok

BORN = dt.date(1959, 12, 1)


def _record(
    sc: Scenario,
    subject: int,
    text: str,
    *,
    confirm: bool = False,
    ago: dt.timedelta = dt.timedelta(hours=1),
) -> int:
    with sc.db.session() as s:
        return visits.record_weight(
            s,
            sc.cast.who("clinician"),
            subject_id=subject,
            weight_text=text,
            measured_at=utcnow() - ago,
            confirm_implausible=confirm,
        ).id


def _stored(sc: Scenario) -> int:
    with sc.db.reader() as s:
        return int(s.exec(select(func.count()).select_from(WeightMeasurement)).one())


def _current_kg(sc: Scenario, subject: int) -> float | None:
    with sc.db.reader() as s:
        row = visits.current_weight(s, subject, utcnow())
        return row.weight_kg if row is not None else None


def test_a_weight_outside_30_to_200_kg_needs_a_confirmation(sc: Scenario) -> None:
    subject = sc.subject("TLS-701", BORN)
    with pytest.raises(
        ValidationError,
        match=r"Weight 250 kg is outside the usual 30–200 kg"
        r".*stored only when you confirm it",
    ) as refused:
        _record(sc, subject, "250 kg")
    assert refused.value.field == visits.CONFIRM_FIELD
    with pytest.raises(ValidationError, match="outside the usual"):
        _record(sc, subject, "20 kg")
    assert _stored(sc) == 0
    _record(sc, subject, "250 kg", confirm=True)
    assert _current_kg(sc, subject) == 250.0
    _record(sc, subject, "70 kg", ago=dt.timedelta(minutes=5))  # plausible: no confirmation
    assert _current_kg(sc, subject) == 70.0
    verify_ok(sc.db)


def test_a_weight_is_corrected_or_voided_with_a_reason(sc: Scenario) -> None:
    subject = sc.subject("TLS-702", BORN)
    first = _record(sc, subject, "72 kg", ago=dt.timedelta(days=2))
    wrong = _record(sc, subject, "250 kg", confirm=True)
    nurse = sc.cast.who("clinician")
    with sc.db.session() as s, pytest.raises(ValidationError, match="Reason"):
        weights.correct_weight(s, nurse, wrong, weight_text="25 kg", reason=" ")
    with sc.db.session() as s, pytest.raises(ValidationError, match="outside the usual"):
        weights.correct_weight(s, nurse, wrong, weight_text="25 kg", reason="typo")
    with sc.db.session() as s, pytest.raises(PermissionDenied):
        weights.correct_weight(
            s, sc.cast.who("technician"), wrong, weight_text="75 kg", reason="typo"
        )
    with sc.db.session() as s:
        kg = weights.correct_weight(
            s, nurse, wrong, weight_text="75 kg", reason="typed 250 for 75"
        ).weight_kg
    assert kg == 75.0
    assert _current_kg(sc, subject) == 75.0
    with sc.db.reader() as s:
        event = s.exec(
            select(AuditEvent)
            .where(AuditEvent.entity == "weight_measurement")
            .order_by(col(AuditEvent.seq).desc())
        ).first()
    assert event is not None
    assert (event.action, event.reason) == ("update", "typed 250 for 75")
    assert json.loads(event.changes)["weight_kg"] == [250.0, 75.0]
    with sc.db.session() as s:
        weights.void_weight(s, nurse, wrong, "weighed with the coat on")
    assert _current_kg(sc, subject) == 72.0  # the one before is the latest valid again
    with sc.db.session() as s, pytest.raises(InvalidTransition, match="it is void"):
        weights.correct_weight(s, nurse, wrong, weight_text="74 kg", reason="again")
    with sc.db.reader() as s:
        rows = weights.weights_of(s, nurse, subject)
    assert [(r.id, r.voided_reason) for r in rows] == [
        (wrong, "weighed with the coat on"),
        (first, None),
    ]
    verify_ok(sc.db)


def test_the_endotoxin_limit_uses_the_latest_valid_weight(sc: Scenario) -> None:
    subject = sc.subject("TLS-703", BORN)
    lot_id, _ = sc.made_lot(subject, weight="70 kg")  # 70 kg, 50 mL: ≤ 7 EU/mL
    wrong = _record(sc, subject, "35 kg", ago=dt.timedelta(minutes=10))
    with sc.db.reader() as s:
        assert qc.endotoxin_limit_for(s, lots.get_lot(s, lot_id)) == pytest.approx(3.5)
    with sc.db.session() as s:
        weights.void_weight(s, sc.cast.who("clinician"), wrong, "another patient's weight")
    with sc.db.reader() as s:
        assert qc.endotoxin_limit_for(s, lots.get_lot(s, lot_id)) == pytest.approx(7.0)


def test_the_endotoxin_refusal_says_what_is_missing_and_where_to_record_it(sc: Scenario) -> None:
    subject = sc.subject("TLS-704", BORN)
    now = utcnow()
    lot_id = sc.harvest_and_lot(subject, now - dt.timedelta(days=12))

    def endotoxin() -> None:
        with sc.db.session() as s:
            qc.record_result(
                s,
                sc.cast.who("technician"),
                lot_id=lot_id,
                test="endotoxin",
                value_text="0.2 EU/mL",
                tested_at=utcnow(),
            )

    with pytest.raises(
        ValidationError,
        match=r"no valid weight of subject TLS-704 is "
        r"recorded .*`lottrack weight record TLS-704 WEIGHT`\); lot \S+ has no "
        r"bag yet \(formulate it first\)\.",
    ) as refused:
        endotoxin()
    assert refused.value.field == "Endotoxin"
    assert (
        "w then a on the ward's patient list or on the pharmacy's allocation"
        in refused.value.message
    )
    done = sc.passages(lot_id, now - dt.timedelta(days=11))
    sc.final_count(lot_id, done + dt.timedelta(minutes=10))
    sc.formulate(lot_id, done + dt.timedelta(minutes=20))
    with pytest.raises(ValidationError, match="no valid weight of subject TLS-704") as refused:
        endotoxin()
    assert "no bag" not in refused.value.message
    _record(sc, subject, "70 kg")
    endotoxin()


def test_only_the_ward_and_the_pharmacy_weigh_and_only_the_pharmacy_schedules(sc: Scenario) -> None:
    subject = sc.subject("TLS-705", BORN)
    for role in ("technician", "qa"):
        with sc.db.session() as s, pytest.raises(PermissionDenied, match="record weights"):
            visits.record_weight(
                s, sc.cast.who(role), subject_id=subject, weight_text="70 kg", measured_at=utcnow()
            )
    assert _stored(sc) == 0
    for role in ("clinician", "technician", "qa"):
        with sc.db.session() as s, pytest.raises(PermissionDenied, match="schedule trial visits"):
            visits.schedule(s, sc.cast.who(role), subject_id=subject, week0=dt.date(2026, 1, 5))
    _record(sc, subject, "70 kg")  # the ward, before any visit
    with sc.db.session() as s:
        visits.record_weight(
            s,
            sc.cast.who("pharmacist"),
            subject_id=subject,
            weight_text="71 kg",
            measured_at=utcnow(),
        )
        visits.schedule(s, sc.cast.who("pharmacist"), subject_id=subject, week0=dt.date(2026, 1, 5))
    assert _stored(sc) == 2
