"""Out-of-specification investigations (design §6.6): an OOS result opens one at once; a
retest counts only against an open investigation, with a reason; QA concludes it with a
signature; an open investigation blocks release."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlmodel import col, select

from lottrack.demo.scenario import CONFORMING_QC, Scenario
from lottrack.kernel.errors import (
    InvalidTransition,
    PermissionDenied,
    SignatureRejected,
    ValidationError,
)
from lottrack.manufacturing import investigations, lots, qc
from lottrack.records.signatures import Credentials
from lottrack.release import disposition
from lottrack.storage.models import Investigation, InvestigationRetest, QCResult, utcnow
from lottrack.views.listings import review_queue
from tests.conftest import verify_ok

BORN = dt.date(1968, 4, 2)
OOS_ENDOTOXIN = dict(CONFORMING_QC, endotoxin="4.0 EU/mL")
"""35 kg and a 50 mL bag: the limit is 5 × 35 ÷ 50 = 3.5 EU/mL."""


def _oos_lot(sc: Scenario, code: str) -> int:
    lot_id, _ = sc.made_lot(sc.subject(code, BORN), weight="35 kg", qc_results=OOS_ENDOTOXIN)
    return lot_id


def _endotoxin_rows(sc: Scenario, lot_id: int) -> list[qc.QCRow]:
    with sc.db.reader() as s:
        return [r for r in qc.results(s, lot_id) if r.code == "endotoxin"]


def _investigations(sc: Scenario, lot_id: int) -> list[investigations.InvestigationView]:
    with sc.db.reader() as s:
        return investigations.list_for_lot(s, sc.cast.who("qa"), lot_id)


def _flag(sc: Scenario, lot_id: int) -> str:
    with sc.db.reader() as s:
        return next(i for i in review_queue(s, sc.cast.who("qa")) if i.lot_id == lot_id).flag


def _retest(
    sc: Scenario,
    lot_id: int,
    value: str,
    *,
    reason: str = "",
    retest_of_id: int | None = None,
    investigation_id: int | None = None,
) -> int:
    with sc.db.session() as s:
        return qc.record_result(
            s,
            sc.cast.who("technician"),
            lot_id=lot_id,
            test="endotoxin",
            value_text=value,
            tested_at=utcnow(),
            method="LAL",
            retest_of_id=retest_of_id,
            investigation_id=investigation_id,
            reason=reason,
        )


def _close(
    sc: Scenario,
    inv_id: int,
    *,
    lab_error: bool,
    who: str = "qa",
    password: str | None = None,
    conclusion: str = "reviewed the raw data",
) -> None:
    creds = sc.cast.creds(who)
    if password is not None:
        creds = Credentials(creds.username, password)
    with sc.db.session() as s:
        investigations.close(
            s, sc.cast.who(who), creds, inv_id, lab_error=lab_error, conclusion=conclusion
        )


def test_an_oos_result_opens_an_investigation_at_once_and_blocks_release(sc: Scenario) -> None:
    lot_id = _oos_lot(sc, "TLS-401")
    (inv,) = _investigations(sc, lot_id)
    (original,) = _endotoxin_rows(sc, lot_id)
    assert (inv.result_id, inv.is_open, inv.opened_by) == (original.id, True, "Person Technician")
    assert inv.result_text == "Endotoxin 4.0 EU/mL (limit ≤ 3.5 EU/mL)"
    assert abs((utcnow() - inv.opened_at).total_seconds()) < 120
    with sc.db.reader() as s:
        ready = qc.readiness(s, lots.get_lot(s, lot_id))
    assert not ready.ready
    assert ready.open_records == (f"investigation #{inv.id} open: {inv.result_text}",)
    assert _flag(sc, lot_id) == "INVESTIGATION OPEN, OUT OF SPEC"
    with (
        sc.db.session() as s,
        pytest.raises(InvalidTransition, match=f"investigation #{inv.id} open"),
    ):
        disposition.release(s, sc.cast.who("qa"), lot_id, sc.cast.creds("qa"))
    verify_ok(sc.db)


def test_a_retest_needs_an_open_investigation_and_a_reason(sc: Scenario) -> None:
    lot_id = _oos_lot(sc, "TLS-402")
    (original,) = _endotoxin_rows(sc, lot_id)
    (inv,) = _investigations(sc, lot_id)
    with pytest.raises(ValidationError, match="Retest reason: nothing was typed"):
        _retest(sc, lot_id, "0.3 EU/mL", retest_of_id=original.id)
    with pytest.raises(
        InvalidTransition,
        match=f"investigation #{inv.id} is open on "
        "Endotoxin 4.0 EU/mL .*record the result as a retest",
    ):
        _retest(sc, lot_id, "0.3 EU/mL")
    with sc.db.reader() as s:
        conforming = next(r for r in qc.results(s, lot_id) if r.code == "cd73")
    with sc.db.session() as s, pytest.raises(ValidationError, match="not an investigation"):
        qc.record_result(
            s,
            sc.cast.who("technician"),
            lot_id=lot_id,
            test="cd73",
            value_text="99 %",
            tested_at=utcnow(),
            retest_of_id=conforming.id,
            reason="again",
        )
    assert len(_endotoxin_rows(sc, lot_id)) == 1  # nothing stored
    retest = _retest(
        sc,
        lot_id,
        "0.3 EU/mL",
        investigation_id=inv.id,
        reason="sample tube suspected contaminated; fresh aliquot",
    )
    rows = _endotoxin_rows(sc, lot_id)
    assert [(r.id, r.value_text, r.conforms, r.superseded) for r in rows] == [
        (original.id, "4.0 EU/mL", False, False),
        (retest, "0.3 EU/mL", True, False),
    ]
    assert rows[1].investigation_note.startswith(f"retest in open investigation #{inv.id}")
    assert rows[0].investigation_note == f"opened investigation #{inv.id} (open)"
    assert _flag(sc, lot_id) == "INVESTIGATION OPEN, OUT OF SPEC"  # never "ready"
    with sc.db.reader() as s:
        link = s.exec(select(InvestigationRetest)).one()
        stored = s.get(QCResult, retest)
    assert (link.result_id, link.reason) == (
        retest,
        "sample tube suspected contaminated; fresh aliquot",
    )
    assert stored is not None
    assert stored.retest_of_id == original.id
    verify_ok(sc.db)


def test_lab_error_invalidates_the_original_and_the_retest_stands(sc: Scenario) -> None:
    lot_id = _oos_lot(sc, "TLS-403")
    (inv,) = _investigations(sc, lot_id)
    retest = _retest(sc, lot_id, "0.3 EU/mL", investigation_id=inv.id, reason="re-run")
    with pytest.raises(PermissionDenied, match="close investigations"):
        _close(sc, inv.id, lab_error=True, who="technician")
    with pytest.raises(SignatureRejected):
        _close(sc, inv.id, lab_error=True, password="wrong-password-1")
    assert _investigations(sc, lot_id)[0].is_open
    _close(sc, inv.id, lab_error=True, conclusion="pipetting error found on the worksheet")
    (closed,) = _investigations(sc, lot_id)
    assert closed.conclusion == investigations.LAB_ERROR
    assert closed.signature is not None
    assert closed.signature.valid
    assert closed.signature.printed_name == "Person Qa"
    assert closed.closed_by == "Person Qa"
    rows = _endotoxin_rows(sc, lot_id)
    assert [r.id for r in rows][1] == retest
    assert rows[0].investigation_note.startswith("invalidated: laboratory error")
    assert _flag(sc, lot_id) == "ready"
    with pytest.raises(InvalidTransition, match="is closed"):
        _retest(sc, lot_id, "0.2 EU/mL", investigation_id=inv.id, reason="again")
    with pytest.raises(InvalidTransition, match="already closed"):
        _close(sc, inv.id, lab_error=False)
    sc.release(lot_id)
    verify_ok(sc.db)


def test_no_lab_error_lets_the_original_stand(sc: Scenario) -> None:
    lot_id = _oos_lot(sc, "TLS-404")
    (inv,) = _investigations(sc, lot_id)
    _retest(sc, lot_id, "0.3 EU/mL", investigation_id=inv.id, reason="confirmatory run")
    _close(sc, inv.id, lab_error=False, conclusion="no assignable cause")
    with sc.db.reader() as s:
        ready = qc.readiness(s, lots.get_lot(s, lot_id))
    assert ready.out_of_spec == ("Endotoxin 4.0 EU/mL (limit ≤ 3.5 EU/mL)",)
    assert ready.open_records == ()
    assert _flag(sc, lot_id) == "OUT OF SPEC"
    rows = _endotoxin_rows(sc, lot_id)
    assert rows[1].investigation_note.startswith("retest not counted")
    with pytest.raises(InvalidTransition, match="concluded that Endotoxin 4.0 EU/mL .*stands"):
        _retest(sc, lot_id, "0.2 EU/mL")
    with sc.db.session() as s, pytest.raises(InvalidTransition, match="Only an exceptional"):
        disposition.release(s, sc.cast.who("qa"), lot_id, sc.cast.creds("qa"))


def test_closing_rules(sc: Scenario) -> None:
    lot_id = _oos_lot(sc, "TLS-405")
    (inv,) = _investigations(sc, lot_id)
    with pytest.raises(ValidationError, match="has no retest"):
        _close(sc, inv.id, lab_error=True)
    with pytest.raises(ValidationError, match="Conclusion: nothing was typed"):
        _close(sc, inv.id, lab_error=False, conclusion="  ")
    (original,) = _endotoxin_rows(sc, lot_id)
    with sc.db.session() as s, pytest.raises(InvalidTransition, match="belongs to investigation"):
        qc.void_result(s, sc.cast.who("technician"), original.id, "wrong sample")
    with sc.db.reader() as s:
        stored = s.exec(select(Investigation).where(col(Investigation.id) == inv.id)).one()
    assert (stored.conclusion, stored.signature_id) == (None, None)


def test_an_open_investigation_blocks_the_exceptional_release_too(sc: Scenario) -> None:
    lot_id = _oos_lot(sc, "TLS-406")
    records = disposition.ExceptionalRelease(
        "Dr A: written request",
        "risk judged low",
        "Dr A accepted",
        utcnow() - dt.timedelta(minutes=5),
    )
    with sc.db.session() as s, pytest.raises(InvalidTransition, match="investigation #"):
        disposition.release_exceptional(
            s, sc.cast.who("qa"), lot_id, sc.cast.creds("qa"), records, "clinical need"
        )
    sc.conclude_investigations(lot_id)
    with sc.db.session() as s:
        disposition.release_exceptional(
            s, sc.cast.who("qa"), lot_id, sc.cast.creds("qa"), records, "clinical need"
        )
    verify_ok(sc.db)


def test_the_release_certificate_lists_each_investigation_and_its_conclusion(sc: Scenario) -> None:
    from certificates.release import render_release
    from lottrack.views.documents.builders import build_release_data
    from tests.certificates.pdftext import text

    lot_id = _oos_lot(sc, "TLS-407")
    (inv,) = _investigations(sc, lot_id)
    _retest(sc, lot_id, "0.3 EU/mL", investigation_id=inv.id, reason="fresh aliquot")
    _close(sc, inv.id, lab_error=True, conclusion="pipetting error on the worksheet")
    sc.release(lot_id)
    with sc.db.reader() as s:
        data = build_release_data(s, sc.cast.who("qa"), lot_id)
    (line,) = data.quality_records
    assert (line.kind, line.reference) == ("Investigation", f"#{inv.id}")
    assert line.what == (
        "Endotoxin 4.0 EU/mL (limit ≤ 3.5 EU/mL); retest 0.3 EU/mL (fresh aliquot)"
    )
    assert line.outcome.startswith("assignable laboratory error found")
    assert "pipetting error on the worksheet (Person Qa)" in line.outcome
    printed = " ".join(text(render_release(data)).split())
    assert f"Investigation #{inv.id}: Endotoxin 4.0 EU/mL" in printed
    assert "invalidated: laboratory error" in printed  # beside the original result
