"""A corrected or voided weight judges again the endotoxin results that depended on it
(design §5, §6.6, §6.8): the limit is 5 EU/kg × weight ÷ volume, so a weight typed wrong
made a wrong judgement."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from sqlmodel import col, select

from lottrack import disposition, investigations, lots, qc
from lottrack.db import Database
from lottrack.errors import InvalidTransition
from lottrack.models import AuditEvent, QCResult, WeightMeasurement, utcnow
from lottrack.permissions import CurrentUser
from lottrack.scenario import CONFORMING_QC, Scenario
from lottrack.trial import visits, weights
from tests.conftest import verify_ok
from tests.factories import make_scenario

BORN = dt.date(1961, 4, 2)


@pytest.fixture
def sc(db: Database, admin: CurrentUser, make_user: Callable[..., CurrentUser]) -> Scenario:
    return make_scenario(db, admin, make_user)


def _weight_id(sc: Scenario, subject: int) -> int:
    with sc.db.reader() as s:
        row = s.exec(select(WeightMeasurement).where(WeightMeasurement.subject_id == subject)
                     .order_by(col(WeightMeasurement.id))).first()
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
    lot_id, _bag = sc.made_lot(subject, qc_results={**CONFORMING_QC,
                                                    "endotoxin": "5 EU/mL"})
    sc.release(lot_id)
    assert _endotoxin(sc, lot_id).conforms is True
    weight = _weight_id(sc, subject)
    with sc.db.session() as s:
        done = weights.correct_weight(s, sc.cast.who("clinician"), weight,
                                      weight_text="40 kg", reason="typed 70 for 40")
    row = _endotoxin(sc, lot_id)
    assert (row.conforms, row.limit_text) == (False, "≤ 4 EU/mL")
    assert any("judged again against ≤ 4 EU/mL: it is out of specification" in line
               for line in done.consequences)
    assert any("returned to awaiting release" in line for line in done.consequences)
    assert _status(sc, lot_id) == lots.AWAITING_RELEASE
    with sc.db.reader() as s:
        opened = [v for v in investigations.views(s, lot_id) if v.is_open]
        assert len(opened) == 1
        ready = qc.readiness(s, lots.get_lot(s, lot_id))
        assert not ready.ready
        assert ready.open_investigations
        event = s.exec(select(AuditEvent).where(AuditEvent.entity == "qc_result",
                                                AuditEvent.entity_id == str(row.id))
                       .order_by(col(AuditEvent.seq).desc())).first()
    assert event is not None
    assert event.reason is not None
    assert event.reason.startswith(f"weight #{weight} corrected from 70 kg to 40 kg "
                                   "(typed 70 for 40)")
    with sc.db.session() as s, pytest.raises(InvalidTransition):
        disposition.release(s, sc.cast.who("qa"), lot_id, sc.cast.creds("qa"), "again")
    verify_ok(sc.db)


def test_a_voided_weight_is_replaced_by_the_latest_valid_one(sc: Scenario) -> None:
    subject = sc.subject("TLS-802", BORN)
    lot_id, _bag = sc.made_lot(subject, qc_results={**CONFORMING_QC,
                                                    "endotoxin": "5 EU/mL"})
    only = _weight_id(sc, subject)
    nurse = sc.cast.who("clinician")
    with sc.db.session() as s, pytest.raises(InvalidTransition,
                                             match="Record the right weight first"):
        weights.void_weight(s, nurse, only, "another patient's weight")
    with sc.db.reader() as s:
        assert s.get(WeightMeasurement, only).voided_reason is None  # nothing stored
    with sc.db.session() as s:
        visits.record_weight(s, nurse, subject_id=subject, weight_text="36 kg",
                             measured_at=utcnow() - dt.timedelta(minutes=5))
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
        later = visits.record_weight(s, nurse, subject_id=subject, weight_text="71 kg",
                                     measured_at=utcnow()).id
    with sc.db.reader() as s:
        before = [(r.id, r.limit_text, r.conforms) for r in s.exec(select(QCResult)).all()]
    with sc.db.session() as s:
        done = weights.correct_weight(s, nurse, later, weight_text="72 kg", reason="scale")
    assert done.consequences == ()
    assert _status(sc, lot_id) == lots.RELEASED
    with sc.db.reader() as s:
        assert [(r.id, r.limit_text, r.conforms)
                for r in s.exec(select(QCResult)).all()] == before
