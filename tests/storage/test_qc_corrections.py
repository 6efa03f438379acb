"""Corrections and voids of QC results (design §2, §3, §6.1, §6.2): a transcription error
is corrected with a reason and judged again, never retyped; a void keeps the result in the
record and counts it as missing."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import func
from sqlmodel import col, select

from lottrack.demo.scenario import CONFORMING_QC, Scenario
from lottrack.kernel.errors import InvalidTransition, PermissionDenied, ValidationError
from lottrack.manufacturing import lots, qc
from lottrack.records.permissions import CurrentUser
from lottrack.records.signatures import Credentials
from lottrack.release import disposition
from lottrack.storage.db import Database
from lottrack.storage.models import AuditEvent, Lot, QCResult, utcnow
from tests.conftest import PASSWORD, verify_ok

BORN = dt.date(1975, 6, 1)


def result_of(db: Database, lot_id: int, code: str) -> QCResult:
    """The lot's first result for ``code`` (a detached copy)."""
    with db.reader() as s:
        row = next(r for r in qc.results(s, lot_id, include_voided=True) if r.code == code)
        result = s.get(QCResult, row.id)
        assert result is not None
        s.expunge(result)
        return result


def status(db: Database, lot_id: int) -> str:
    with db.reader() as s:
        lot = s.get(Lot, lot_id)
        assert lot is not None
        return lot.status


def readiness(db: Database, lot_id: int) -> qc.ReleaseReadiness:
    with db.reader() as s:
        return qc.readiness(s, lots.get_lot(s, lot_id))


def events(db: Database, entity: str) -> list[AuditEvent]:
    with db.reader() as s:
        return list(
            s.exec(
                select(AuditEvent).where(AuditEvent.entity == entity).order_by(col(AuditEvent.seq))
            ).all()
        )


def release_signature_valid(sc: Scenario, lot_id: int) -> bool:
    with sc.db.reader() as s:
        (decision,) = disposition.history(s, sc.cast.who("qa"), lot_id)
    assert decision.signature is not None
    return decision.signature.valid


@contextmanager
def nothing_changed(db: Database, result_id: int) -> Iterator[None]:
    """The block stores nothing: no audit event, the result and its lot as they were."""

    def state() -> tuple[Any, ...]:
        with db.reader() as s:
            trail = s.exec(select(func.count()).select_from(AuditEvent)).one()
            result = s.get(QCResult, result_id)
            assert result is not None
            lot = s.get(Lot, result.lot_id)
            assert lot is not None
            return (
                trail,
                lot.status,
                result.value_text,
                result.value_num,
                result.conforms,
                result.limit_text,
                result.method,
                result.tested_at,
                result.voided_reason,
            )

    before = state()
    yield
    assert state() == before


def test_a_corrected_value_is_judged_again_and_audited_with_its_reason(sc: Scenario) -> None:
    lot_id, _ = sc.made_lot(
        sc.subject("TLS-201", BORN), qc_results=dict(CONFORMING_QC, viability_fresh="75 %")
    )
    assert readiness(sc.db, lot_id).out_of_spec  # as typed: 75 % against ≥ 80 %
    first = result_of(sc.db, lot_id, "viability_fresh")
    assert first.id is not None
    reason = "transcription error: the worksheet reads 85 %"
    with sc.db.session() as s:
        row = qc.correct_result(
            s, sc.cast.who("technician"), first.id, value_text="85 %", reason=reason
        )
    assert (row.value_text, row.conforms, row.limit_text) == ("85 %", True, "≥ 80 %")
    corrected = result_of(sc.db, lot_id, "viability_fresh")
    assert (corrected.value_num, corrected.conforms) == (85.0, True)
    assert (corrected.tester_id, corrected.tested_at) == (first.tester_id, first.tested_at)
    # The 75 % opened an investigation when it was typed; it stays open until QA closes it.
    assert readiness(sc.db, lot_id).open_records[0].startswith("investigation #")
    sc.conclude_investigations(lot_id, conclusion="transcription error, corrected to 85 %")
    assert readiness(sc.db, lot_id).ready
    assert status(sc.db, lot_id) == lots.AWAITING_RELEASE
    event = events(sc.db, "qc_result")[-1]
    assert (event.action, event.entity_id, event.reason) == ("update", str(first.id), reason)
    assert event.username == "technician"
    changes = json.loads(event.changes)
    assert changes["value_text"] == ["75 %", "85 %"]
    assert changes["value_num"] == [75.0, 85.0]
    assert changes["conforms"] == [False, True]
    verify_ok(sc.db)


def test_method_and_test_time_are_corrected_too(sc: Scenario) -> None:
    lot_id, _ = sc.made_lot(sc.subject("TLS-202", BORN))
    first = result_of(sc.db, lot_id, "sterility")
    assert first.id is not None
    tested = first.tested_at - dt.timedelta(hours=3)
    with sc.db.session() as s:
        qc.correct_result(
            s,
            sc.cast.who("technician"),
            first.id,
            value_text="no growth",
            method="BacT/ALERT, 14 days",
            tested_at=tested,
            reason="wrong method and time copied from the previous lot",
        )
    corrected = result_of(sc.db, lot_id, "sterility")
    assert (corrected.value_text, corrected.method) == ("no growth", "BacT/ALERT, 14 days")
    assert corrected.tested_at == tested
    changes = json.loads(events(sc.db, "qc_result")[-1].changes)
    assert set(changes) == {"method", "tested_at"}  # the value itself did not change


def test_a_correction_after_release_invalidates_the_signature_and_reopens_the_lot(
    sc: Scenario,
) -> None:
    lot_id, _ = sc.made_lot(sc.subject("TLS-203", BORN))
    sc.release(lot_id)
    assert release_signature_valid(sc, lot_id)
    cd73 = result_of(sc.db, lot_id, "cd73")
    assert cd73.id is not None
    reason = "digits transposed: the cytometer printout reads 91.9 %"
    with sc.db.session() as s:
        row = qc.correct_result(
            s, sc.cast.who("technician"), cd73.id, value_text="91.9 %", reason=reason
        )
    assert row.conforms is False
    assert status(sc.db, lot_id) == lots.AWAITING_RELEASE
    assert not release_signature_valid(sc, lot_id)
    assert readiness(sc.db, lot_id).out_of_spec == ("CD73 91.9 % (limit ≥ 95 %)",)
    # The corrected value is out of specification: an investigation opens at once.
    assert readiness(sc.db, lot_id).open_records[0].startswith("investigation #")
    correction, reopened = events(sc.db, "qc_result")[-1], events(sc.db, "lot")[-1]
    assert correction.reason == reason
    assert json.loads(correction.changes)["value_text"] == ["99.1 %", "91.9 %"]
    assert json.loads(reopened.changes)["status"] == [lots.RELEASED, lots.AWAITING_RELEASE]
    assert reopened.reason == (
        f"batch record corrected after release ({reason}); release signature invalidated"
    )
    with sc.db.session() as s, pytest.raises(InvalidTransition, match="investigation #"):
        disposition.release(s, sc.cast.who("qa"), lot_id, sc.cast.creds("qa"))
    sc.conclude_investigations(lot_id)
    with sc.db.session() as s, pytest.raises(InvalidTransition, match="out of specification"):
        disposition.release(s, sc.cast.who("qa"), lot_id, sc.cast.creds("qa"))
    verify_ok(sc.db)


def test_endotoxin_is_judged_against_the_limit_from_the_current_weight(sc: Scenario) -> None:
    subject = sc.subject("TLS-204", BORN)
    lot_id, _ = sc.made_lot(subject)  # 70 kg, 50 mL bag: ≤ 7 EU/mL
    endotoxin = result_of(sc.db, lot_id, "endotoxin")
    assert endotoxin.id is not None
    assert endotoxin.limit_text == "≤ 7 EU/mL"
    sc.weight(subject, "50 kg", utcnow() - dt.timedelta(minutes=10))  # now ≤ 5 EU/mL
    with sc.db.session() as s:
        row = qc.correct_result(
            s,
            sc.cast.who("technician"),
            endotoxin.id,
            value_text="6 EU/mL",
            reason="dilution factor left out",
        )
    assert (row.value_text, row.limit_text, row.conforms) == ("6 EU/mL", "≤ 5 EU/mL", False)


def test_a_retest_stays_a_retest_and_the_first_result_can_be_corrected(
    sc: Scenario,
) -> None:
    lot_id, _ = sc.made_lot(
        sc.subject("TLS-205", BORN), qc_results=dict(CONFORMING_QC, cd105="93.5 %")
    )
    first = result_of(sc.db, lot_id, "cd105")
    assert first.id is not None
    tech = sc.cast.who("technician")
    with sc.db.session() as s:
        retest_id = qc.record_result(
            s,
            tech,
            lot_id=lot_id,
            test="cd105",
            value_text="97 %",
            tested_at=utcnow(),
            retest_of_id=first.id,
            reason="OOS investigation: repeat staining",
        )
    with sc.db.session() as s:
        row = qc.correct_result(
            s,
            tech,
            retest_id,
            value_text="97.4 %",
            reason="rounded when typed; printout reads 97.4 %",
        )
    assert (row.retest_of_id, row.superseded, row.conforms) == (first.id, False, True)
    with sc.db.session() as s:  # the first result, although a retest followed it
        qc.correct_result(s, tech, first.id, value_text="93.8 %", reason="printout reads 93.8 %")
    with sc.db.reader() as s:
        rows = [r for r in qc.results(s, lot_id) if r.code == "cd105"]
    assert [(r.id, r.value_text, r.superseded, r.retest_of_id) for r in rows] == [
        (first.id, "93.8 %", False, None),
        (retest_id, "97.4 %", False, first.id),
    ]
    assert not readiness(sc.db, lot_id).ready  # the investigation is open
    sc.conclude_investigations(lot_id, lab_error=True, conclusion="staining error")
    with sc.db.reader() as s:
        rows = [r for r in qc.results(s, lot_id) if r.code == "cd105"]
    assert [(r.id, r.superseded) for r in rows] == [(first.id, False), (retest_id, False)]
    assert rows[0].investigation_note.startswith("invalidated")
    assert readiness(sc.db, lot_id).ready  # the retest decides
    verify_ok(sc.db)


def test_refused_corrections_store_nothing(sc: Scenario) -> None:
    lot_id, _ = sc.made_lot(sc.subject("TLS-206", BORN))
    cd90 = result_of(sc.db, lot_id, "cd90")
    assert cd90.id is not None
    tech, reason = sc.cast.who("technician"), "transcription error"
    refusals: list[tuple[type[Exception], str, dict[str, Any], CurrentUser]] = [
        (ValidationError, "Reason", {"value_text": "98.8 %", "reason": "  "}, tech),
        (
            ValidationError,
            "no value of the CD90 result would change",
            {"value_text": " 98.7 % ", "reason": reason},
            tech,
        ),
        (
            ValidationError,
            'CD90: "70 mL" is a volume',
            {"value_text": "70 mL", "reason": reason},
            tech,
        ),
        (
            ValidationError,
            "Tested at: the time is in the future",
            {
                "value_text": "98.8 %",
                "reason": reason,
                "tested_at": utcnow() + dt.timedelta(days=1),
            },
            tech,
        ),
        (
            PermissionDenied,
            "record manufacturing steps",
            {"value_text": "98.8 %", "reason": reason},
            sc.cast.who("qa"),
        ),
    ]
    with nothing_changed(sc.db, cd90.id):
        for error, message, kwargs, who in refusals:
            with sc.db.session() as s, pytest.raises(error, match=message):
                qc.correct_result(s, who, cd90.id, **kwargs)
        with sc.db.session() as s, pytest.raises(ValidationError, match="Reason"):
            qc.void_result(s, tech, cd90.id, "")
        with sc.db.session() as s, pytest.raises(PermissionDenied):
            qc.void_result(s, sc.cast.who("qa"), cd90.id, reason)
    verify_ok(sc.db)


def test_a_rejected_lot_refuses_corrections_and_voids(sc: Scenario) -> None:
    lot_id, _ = sc.made_lot(
        sc.subject("TLS-207", BORN),
        qc_results=dict(CONFORMING_QC, sterility="growth: S. epidermidis"),
    )
    with sc.db.session() as s:
        disposition.reject(s, sc.cast.who("qa"), lot_id, sc.cast.creds("qa"), "sterility failed")
    sterility = result_of(sc.db, lot_id, "sterility")
    assert sterility.id is not None
    rule = (
        r"Cannot correct the Sterility \(aerobic/anaerobic culture\) result #\d+: lot "
        r"L-\w+ is rejected; .* not once it is rejected"
    )
    with nothing_changed(sc.db, sterility.id):
        with sc.db.session() as s, pytest.raises(InvalidTransition, match=rule):
            qc.correct_result(
                s,
                sc.cast.who("technician"),
                sterility.id,
                value_text="no growth",
                reason="wrong sample",
            )
        with sc.db.session() as s, pytest.raises(InvalidTransition, match="Cannot void"):
            qc.void_result(s, sc.cast.who("technician"), sterility.id, "wrong sample")


def test_a_voided_required_result_is_missing_for_release(sc: Scenario) -> None:
    lot_id, _ = sc.made_lot(sc.subject("TLS-208", BORN))
    assert readiness(sc.db, lot_id).ready
    mycoplasma = result_of(sc.db, lot_id, "mycoplasma")
    assert mycoplasma.id is not None
    tech, reason = sc.cast.who("technician"), "entered on the wrong lot (sample of TLS-209)"
    with sc.db.session() as s:
        qc.void_result(s, tech, mycoplasma.id, reason)
    ready = readiness(sc.db, lot_id)
    assert (ready.ready, ready.missing) == (False, ("Mycoplasma",))
    with (
        sc.db.session() as s,
        pytest.raises(InvalidTransition, match="no result yet for Mycoplasma"),
    ):
        disposition.release(s, sc.cast.who("qa"), lot_id, sc.cast.creds("qa"))
    with sc.db.reader() as s:
        assert mycoplasma.id not in {r.id for r in qc.results(s, lot_id)}
        (shown,) = [r for r in qc.results(s, lot_id, include_voided=True) if r.id == mycoplasma.id]
    assert (shown.voided_reason, shown.value_text, shown.superseded) == (
        reason,
        "not detected",
        False,
    )
    event = events(sc.db, "qc_result")[-1]
    assert (event.action, event.reason) == ("void", reason)
    assert json.loads(event.changes) == {"voided_reason": [None, reason]}
    # Voided once is enough; a void result is not corrected either.
    with nothing_changed(sc.db, mycoplasma.id):
        with sc.db.session() as s, pytest.raises(InvalidTransition, match="it is void"):
            qc.void_result(s, tech, mycoplasma.id, "again")
        with sc.db.session() as s, pytest.raises(InvalidTransition, match="it is void"):
            qc.correct_result(s, tech, mycoplasma.id, value_text="detected", reason="r")
    with sc.db.session() as s:  # a new result fills the gap
        qc.record_result(
            s, tech, lot_id=lot_id, test="mycoplasma", value_text="not detected", tested_at=utcnow()
        )
    assert readiness(sc.db, lot_id).ready
    verify_ok(sc.db)


def test_voiding_a_retest_makes_the_first_result_the_latest_again(sc: Scenario) -> None:
    lot_id, _ = sc.made_lot(sc.subject("TLS-210", BORN))
    first = result_of(sc.db, lot_id, "cd34")
    assert first.id is not None
    tech = sc.cast.who("technician")
    with sc.db.session() as s:  # a new result of a conforming test: no investigation
        retest_id = qc.record_result(
            s, tech, lot_id=lot_id, test="cd34", value_text="1 %", tested_at=utcnow()
        )
    assert readiness(sc.db, lot_id).ready
    with sc.db.session() as s:
        qc.void_result(s, tech, retest_id, "sample of another lot was run")
    with sc.db.reader() as s:
        rows = [r for r in qc.results(s, lot_id, include_voided=True) if r.code == "cd34"]
    assert [(r.id, r.superseded, r.voided_reason is not None) for r in rows] == [
        (first.id, False, False),
        (retest_id, False, True),
    ]
    assert readiness(sc.db, lot_id).ready


def test_a_void_after_release_reopens_the_lot_with_the_result_missing(sc: Scenario) -> None:
    lot_id, _ = sc.made_lot(sc.subject("TLS-211", BORN))
    sc.release(lot_id)
    viability = result_of(sc.db, lot_id, "viability_fresh")
    assert viability.id is not None
    with sc.db.session() as s:
        qc.void_result(s, sc.cast.who("technician"), viability.id, "measured on the wrong sample")
    assert status(sc.db, lot_id) == lots.AWAITING_RELEASE
    assert not release_signature_valid(sc, lot_id)
    assert readiness(sc.db, lot_id).missing == ("Viability, fresh final product",)
    verify_ok(sc.db)


def test_who_corrected_or_voided_a_result_may_not_release_the_lot(
    sc: Scenario, make_user: Callable[..., CurrentUser]
) -> None:
    """Separation of duties (§6.4): a correction is a recording. Someone holding both
    roles who corrected one QC result, or voided one, is refused as releaser; a QA
    person who touched nothing releases."""
    both = make_user("technician", "qa", username="tessa")
    creds = Credentials("tessa", PASSWORD)
    for code, act in (("TLS-211", "correct"), ("TLS-212", "void")):
        lot_id, _ = sc.made_lot(sc.subject(code, BORN))
        cd90 = result_of(sc.db, lot_id, "cd90")
        assert cd90.id is not None
        with sc.db.session() as s:
            if act == "correct":
                qc.correct_result(
                    s,
                    both,
                    cd90.id,
                    value_text="98.9 %",
                    reason="transcription error: worksheet reads 98.9 %",
                )
            else:
                qc.void_result(s, both, cd90.id, "entered on the wrong lot")
                qc.record_result(
                    s,
                    sc.cast.who("technician"),
                    lot_id=lot_id,
                    test="cd90",
                    value_text="98.7 %",
                    tested_at=utcnow(),
                )
        with pytest.raises(PermissionDenied, match="separation of duties"), sc.db.session() as s:
            disposition.release(s, both, lot_id, creds, "batch record reviewed")
        assert status(sc.db, lot_id) == lots.AWAITING_RELEASE
        sc.release(lot_id)  # the scenario's QA person recorded nothing of it
        assert status(sc.db, lot_id) == lots.RELEASED
