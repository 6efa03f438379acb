"""A corrected or voided weight judges again the endotoxin results that depended on it
(design §5, §6.6, §6.8): the limit is 5 EU/kg × weight ÷ volume, so a weight typed wrong
made a wrong judgement."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlmodel import col, select

from lottrack.demo.scenario import CONFORMING_QC, Scenario
from lottrack.kernel.errors import InvalidTransition
from lottrack.manufacturing import investigations, lots, qc
from lottrack.release import disposition
from lottrack.storage.models import (
    AuditEvent,
    DispensingCheck,
    QCResult,
    Subject,
    WeightMeasurement,
    utcnow,
)
from lottrack.trial import visits, weights
from lottrack.trial.allocation import MSC_FIRST, PLACEBO_FIRST
from tests.conftest import verify_ok

BORN = dt.date(1961, 4, 2)


def _weight_id(sc: Scenario, subject: int) -> int:
    with sc.db.reader() as s:
        row = s.exec(
            select(WeightMeasurement)
            .where(WeightMeasurement.subject_id == subject)
            .order_by(col(WeightMeasurement.id))
        ).first()
        assert row is not None
        assert row.id is not None
        return row.id


def _endotoxin(sc: Scenario, lot_id: int) -> qc.QCRow:
    with sc.db.reader() as s:
        return next(r for r in qc.results(s, lot_id) if r.code == "endotoxin")


def _status(sc: Scenario, lot_id: int) -> str:
    with sc.db.reader() as s:
        return lots.get_lot(s, lot_id).status


def test_a_corrected_weight_judges_the_endotoxin_result_again(sc: Scenario) -> None:
    subject = sc.subject("TLS-801", BORN)
    # 70 kg, 50 mL: limit 7 EU/mL; 5 EU/mL conforms and the lot is released.
    lot_id, _bag = sc.made_lot(subject, qc_results={**CONFORMING_QC, "endotoxin": "5 EU/mL"})
    sc.release(lot_id)
    assert _endotoxin(sc, lot_id).conforms is True
    weight = _weight_id(sc, subject)
    with sc.db.session() as s:
        done = weights.correct_weight(
            s, sc.cast.who("clinician"), weight, weight_text="40 kg", reason="typed 70 for 40"
        )
    row = _endotoxin(sc, lot_id)
    assert (row.conforms, row.limit_text) == (False, "≤ 4 EU/mL")
    assert any(
        "judged again against ≤ 4 EU/mL: it is out of specification" in line
        for line in done.consequences
    )
    assert any("returned to awaiting release" in line for line in done.consequences)
    assert _status(sc, lot_id) == lots.AWAITING_RELEASE
    with sc.db.reader() as s:
        opened = [v for v in investigations.views(s, lot_id) if v.is_open]
        assert len(opened) == 1
        ready = qc.readiness(s, lots.get_lot(s, lot_id))
        assert not ready.ready
        assert ready.open_investigations
        event = s.exec(
            select(AuditEvent)
            .where(AuditEvent.entity == "qc_result", AuditEvent.entity_id == str(row.id))
            .order_by(col(AuditEvent.seq).desc())
        ).first()
    assert event is not None
    assert event.reason is not None
    assert event.reason.startswith(
        f"weight #{weight} corrected from 70 kg to 40 kg (typed 70 for 40)"
    )
    with sc.db.session() as s, pytest.raises(InvalidTransition):
        disposition.release(s, sc.cast.who("qa"), lot_id, sc.cast.creds("qa"), "again")
    verify_ok(sc.db)


def test_a_voided_weight_is_replaced_by_the_latest_valid_one(sc: Scenario) -> None:
    subject = sc.subject("TLS-802", BORN)
    lot_id, _bag = sc.made_lot(subject, qc_results={**CONFORMING_QC, "endotoxin": "5 EU/mL"})
    only = _weight_id(sc, subject)
    nurse = sc.cast.who("clinician")
    with (
        sc.db.session() as s,
        pytest.raises(InvalidTransition, match="Record the right weight first"),
    ):
        weights.void_weight(s, nurse, only, "another patient's weight")
    with sc.db.reader() as s:
        kept = s.get(WeightMeasurement, only)
        assert kept is not None
        assert kept.voided_reason is None
    with sc.db.session() as s:
        visits.record_weight(
            s,
            nurse,
            subject_id=subject,
            weight_text="36 kg",
            measured_at=utcnow() - dt.timedelta(minutes=5),
        )
    with sc.db.session() as s:
        done = weights.void_weight(s, nurse, only, "another patient's weight")
    row = _endotoxin(sc, lot_id)
    assert (row.conforms, row.limit_text) == (False, "≤ 3.6 EU/mL")
    assert any("investigation" in line for line in done.consequences)
    verify_ok(sc.db)


def test_a_weight_no_result_was_judged_against_changes_no_result(sc: Scenario) -> None:
    subject = sc.subject("TLS-803", BORN)
    lot_id, _bag = sc.made_lot(subject)
    sc.release(lot_id)
    nurse = sc.cast.who("clinician")
    with sc.db.session() as s:
        later = visits.record_weight(
            s, nurse, subject_id=subject, weight_text="71 kg", measured_at=utcnow()
        ).id
    with sc.db.reader() as s:
        before = [(r.id, r.limit_text, r.conforms) for r in s.exec(select(QCResult)).all()]
    with sc.db.session() as s:
        done = weights.correct_weight(s, nurse, later, weight_text="72 kg", reason="scale")
    assert done.consequences == ()
    assert _status(sc, lot_id) == lots.RELEASED
    with sc.db.reader() as s:
        assert [(r.id, r.limit_text, r.conforms) for r in s.exec(select(QCResult)).all()] == before


def _dispensed(sc: Scenario, code: str, sequence: str) -> tuple[int, int, int]:
    """A released lot, period 1 dispensed and verified (MSC bag or placebo by the
    sequence); returns (subject id, lot id, dispensing id)."""
    subject = sc.subject(code, BORN)
    lot_id, bag = sc.made_lot(subject)
    sc.release(lot_id)
    v1, _ = sc.enrol(subject, sequence, utcnow().date())
    return subject, lot_id, sc.dispense(v1, msc_bag=bag if sequence == MSC_FIRST else None)


def test_a_corrected_weight_runs_the_dose_checks_again_the_same_for_both_arms(sc: Scenario) -> None:
    said: dict[str, tuple[str, ...]] = {}
    dispensings: dict[str, int] = {}
    for code, sequence in (("TLS-811", MSC_FIRST), ("TLS-812", PLACEBO_FIRST)):
        subject, lot_id, dispensings[code] = _dispensed(sc, code, sequence)
        with sc.db.reader() as s:
            number = lots.get_lot(s, lot_id).lot_number
        with sc.db.session() as s:
            done = weights.correct_weight(
                s,
                sc.cast.who("clinician"),
                _weight_id(sc, subject),
                weight_text="71 kg",
                reason="misread the scale",
            )
        said[code] = tuple(
            line.replace(code, "CODE").replace(number, "LOT") for line in done.consequences
        )
    # What the blinded ward reads back does not tell which visit had MSC.
    assert said["TLS-811"] == said["TLS-812"]
    assert said["TLS-811"][-1] == (
        "The dispensing for CODE period 1 was checked with this weight: its weight and dose "
        "checks were run again with the latest valid weight and stored for the pharmacy."
    )
    with sc.db.reader() as s:
        rechecks = {
            code: [
                (c.number, c.passed)
                for c in s.exec(
                    select(DispensingCheck).where(
                        DispensingCheck.dispensing_id == d, DispensingCheck.stage == weights.RECHECK
                    )
                ).all()
            ]
            for code, d in dispensings.items()
        }
    assert rechecks == {"TLS-811": [(4, True), (5, True)], "TLS-812": [(4, True), (5, True)]}
    # The pharmacy reads the outcome: 140 kg halves the MSC dose, out of the window.
    with sc.db.session() as s:
        done = weights.correct_weight(
            s,
            sc.cast.who("pharmacist"),
            _weight_id(sc, sc_subject(sc, "TLS-811")),
            weight_text="140 kg",
            reason="kg and lb swapped",
        )
    assert "check 5 dose within window: FAILED" in done.consequences[-1]
    verify_ok(sc.db)


def sc_subject(sc: Scenario, code: str) -> int:
    with sc.db.reader() as s:
        found = s.exec(select(Subject).where(Subject.code == code)).first()
        assert found is not None
        assert found.id is not None
        return found.id
