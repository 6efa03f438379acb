"""QA disposition (design §3, §6.2, §6.4): from harvest to a released lot, and every refusal."""

from __future__ import annotations

import datetime as dt
import multiprocessing as mp
from multiprocessing.synchronize import Barrier

import pytest
from sqlmodel import col, select

from lottrack.demo.scenario import CONFORMING_QC, Scenario
from lottrack.kernel.errors import InvalidTransition, PermissionDenied, SignatureRejected
from lottrack.manufacturing import expansion, lots, qc
from lottrack.records.permissions import CurrentUser
from lottrack.records.signatures import Credentials
from lottrack.release import disposition
from lottrack.storage import audit
from lottrack.storage.db import Database
from lottrack.storage.models import AuditEvent, Disposition, Lot, Passage, Signature, User, utcnow
from tests.conftest import verify_ok


def _lot(db: Database, lot_id: int) -> Lot:
    with db.reader() as s:
        lot = s.get(Lot, lot_id)
        assert lot is not None
        return lot


def _dispositions(db: Database, lot_id: int) -> list[Disposition]:
    with db.reader() as s:
        return list(s.exec(select(Disposition).where(Disposition.lot_id == lot_id)).all())


def test_harvest_to_released_lot_is_audited_and_signed(sc: Scenario) -> None:
    subject = sc.subject("TLS-001", dt.date(1970, 3, 2))
    lot_id, _bag = sc.made_lot(subject)
    assert _lot(sc.db, lot_id).status == lots.AWAITING_RELEASE
    sc.release(lot_id)
    assert _lot(sc.db, lot_id).status == lots.RELEASED
    with sc.db.reader() as s:
        (decision,) = disposition.history(s, sc.cast.who("qa"), lot_id)
        events = s.exec(select(AuditEvent.entity).distinct()).all()
    assert decision.decision == "released"
    assert decision.signature is not None
    assert decision.signature.printed_name == "Person Qa"
    assert decision.signature.meaning == "released"
    assert decision.signature.valid
    for table in (
        "harvest",
        "lot",
        "passage",
        "passage_reagent",
        "cell_count",
        "qc_result",
        "product_unit",
        "signature",
        "disposition",
    ):
        assert table in events
    verify_ok(sc.db)


def test_a_technician_cannot_release(sc: Scenario) -> None:
    lot_id, _ = sc.made_lot(sc.subject("TLS-002", dt.date(1980, 1, 1)))
    with (
        pytest.raises(PermissionDenied, match="release, reject or quarantine"),
        sc.db.session() as s,
    ):
        disposition.release(s, sc.cast.who("technician"), lot_id, sc.cast.creds("technician"))
    assert _dispositions(sc.db, lot_id) == []


def test_release_of_a_lot_in_process_is_out_of_order(sc: Scenario) -> None:
    subject = sc.subject("TLS-003", dt.date(1980, 1, 1))
    lot_id = sc.harvest_and_lot(subject, utcnow() - dt.timedelta(days=3))
    with (
        pytest.raises(
            InvalidTransition, match="is in-process; this needs a lot that is awaiting-release"
        ),
        sc.db.session() as s,
    ):
        disposition.release(s, sc.cast.who("qa"), lot_id, sc.cast.creds("qa"))


def test_the_person_who_tested_the_lot_cannot_release_it(sc: Scenario) -> None:
    lot_id, _ = sc.made_lot(
        sc.subject("TLS-004", dt.date(1980, 1, 1)),
        qc_results={k: v for k, v in CONFORMING_QC.items() if k != "karyotype"},
    )
    qa = sc.cast.who("qa")
    with sc.db.session() as s:  # the QA person also works in the lab and tests this lot
        user = s.get(User, qa.id)
        assert user is not None
        audit.set_actor(s, sc.cast.who("admin").id, "root")
        with audit.reason(s, "QA also works in the lab this week"):
            user.roles = "qa,technician"
    with sc.db.session() as s:
        qc.record_result(
            s, qa, lot_id=lot_id, test="karyotype", value_text="46,XY", tested_at=utcnow()
        )
    with pytest.raises(PermissionDenied, match="separation of duties"), sc.db.session() as s:
        disposition.release(s, qa, lot_id, sc.cast.creds("qa"))
    assert _lot(sc.db, lot_id).status == lots.AWAITING_RELEASE


def test_a_missing_required_result_blocks_release(sc: Scenario) -> None:
    partial = {k: v for k, v in CONFORMING_QC.items() if k not in ("mycoplasma", "cd105")}
    lot_id, _ = sc.made_lot(sc.subject("TLS-005", dt.date(1980, 1, 1)), qc_results=partial)
    with (
        pytest.raises(InvalidTransition, match="no result yet for CD105, Mycoplasma"),
        sc.db.session() as s,
    ):
        disposition.release(s, sc.cast.who("qa"), lot_id, sc.cast.creds("qa"))
    assert _dispositions(sc.db, lot_id) == []


def test_out_of_spec_allows_only_the_exceptional_path_with_all_four_records(
    sc: Scenario,
) -> None:
    results = dict(CONFORMING_QC, viability_fresh="75 %")
    lot_id, _ = sc.made_lot(sc.subject("TLS-006", dt.date(1980, 1, 1)), qc_results=results)
    sc.conclude_investigations(lot_id)  # QA: no laboratory error, the 75 % stands
    with (
        pytest.raises(
            InvalidTransition,
            match=r"out of specification: Viability, fresh "
            r"final product 75 % \(limit ≥ 80 %\)\. Only an exceptional release",
        ),
        sc.db.session() as s,
    ):
        disposition.release(s, sc.cast.who("qa"), lot_id, sc.cast.creds("qa"))
    records = disposition.ExceptionalRelease(
        physician_request="Dr A: no alternative therapy; request dated today",
        risk_evaluation="",
        physician_acceptance="accepted by Dr A",
        sponsor_notified_at=utcnow(),
    )
    with pytest.raises(Exception, match="risk evaluation: required"), sc.db.session() as s:
        disposition.release_exceptional(
            s,
            sc.cast.who("qa"),
            lot_id,
            sc.cast.creds("qa"),
            records,
            "viability 75 %, clinical need",
        )
    complete = disposition.ExceptionalRelease(
        physician_request=records.physician_request,
        risk_evaluation="Viability 75 % vs 80 %: dose computed on viable cells; low risk",
        physician_acceptance=records.physician_acceptance,
        sponsor_notified_at=utcnow() - dt.timedelta(minutes=10),
    )
    with sc.db.session() as s:
        disposition.release_exceptional(
            s,
            sc.cast.who("qa"),
            lot_id,
            sc.cast.creds("qa"),
            complete,
            "viability 75 %, clinical need",
        )
    assert _lot(sc.db, lot_id).status == lots.RELEASED_EXCEPTIONAL
    (decision,) = _dispositions(sc.db, lot_id)
    assert decision.risk_evaluation == complete.risk_evaluation
    verify_ok(sc.db)


def test_an_unconfirmed_recount_blocks_the_way_to_release(sc: Scenario) -> None:
    subject = sc.subject("TLS-007", dt.date(1980, 1, 1))
    now = utcnow()
    lot_id = sc.harvest_and_lot(subject, now - dt.timedelta(days=12))
    sc.passages(lot_id, now - dt.timedelta(days=11))
    sc.final_count(lot_id, now - dt.timedelta(hours=3), spread=True)
    with pytest.raises(InvalidTransition, match="recount"):
        sc.formulate(lot_id, now - dt.timedelta(hours=2))
    assert _lot(sc.db, lot_id).status == lots.IN_PROCESS
    sc.final_count(lot_id, now - dt.timedelta(hours=2))
    sc.weight(subject, "70 kg", now - dt.timedelta(days=1))
    sc.formulate(lot_id, now - dt.timedelta(hours=1))
    sc.qc(lot_id, now - dt.timedelta(minutes=30))
    sc.release(lot_id)
    assert _lot(sc.db, lot_id).status == lots.RELEASED


def test_a_wrong_password_at_signing_writes_nothing_and_is_counted(sc: Scenario) -> None:
    lot_id, _ = sc.made_lot(sc.subject("TLS-008", dt.date(1980, 1, 1)))
    qa = sc.cast.who("qa")
    with (
        pytest.raises(SignatureRejected, match="Wrong password; nothing was signed"),
        sc.db.session() as s,
    ):
        disposition.release(s, qa, lot_id, Credentials("qa", "not-my-password"))
    with pytest.raises(SignatureRejected, match="not yours"), sc.db.session() as s:
        disposition.release(s, qa, lot_id, Credentials("qa2", "correct-horse-1"))
    with sc.db.reader() as s:
        assert s.exec(select(Signature)).all() == []
        user = s.get(User, qa.id)
        assert user is not None
        assert user.failed_logins == 2
    assert _lot(sc.db, lot_id).status == lots.AWAITING_RELEASE
    assert _dispositions(sc.db, lot_id) == []
    sc.release(lot_id)  # signed with the right password: the failure streak ends
    with sc.db.reader() as s:
        user = s.get(User, qa.id)
        assert user is not None
        assert user.failed_logins == 0
    verify_ok(sc.db)


def test_a_correction_after_release_invalidates_the_signature_and_blocks_the_lot(
    sc: Scenario,
) -> None:
    lot_id, _ = sc.made_lot(sc.subject("TLS-009", dt.date(1980, 1, 1)))
    sc.release(lot_id)
    with sc.db.reader() as s:
        first = s.exec(
            select(Passage).where(col(Passage.lot_id) == lot_id).order_by(col(Passage.number))
        ).first()
        assert first is not None
    with sc.db.session() as s:
        expansion.correct_passage(
            s,
            sc.cast.who("technician"),
            first.id or 0,
            reason="transcription error in seeded cells",
            cells_seeded_text="6e6 cells",
        )
    assert _lot(sc.db, lot_id).status == lots.AWAITING_RELEASE
    with sc.db.reader() as s:
        (decision,) = disposition.history(s, sc.cast.who("qa"), lot_id)
    assert decision.signature is not None
    assert not decision.signature.valid
    assert "INVALIDATED" in decision.signature.status
    sc.release(lot_id)  # QA decides again on the corrected record
    with sc.db.reader() as s:
        old, new = disposition.history(s, sc.cast.who("qa"), lot_id)
    assert old.signature is not None
    assert new.signature is not None
    assert (old.signature.valid, new.signature.valid) == (False, True)
    verify_ok(sc.db)


def test_quarantine_and_lift_return_the_lot_where_it_was(sc: Scenario) -> None:
    lot_id, _ = sc.made_lot(sc.subject("TLS-010", dt.date(1980, 1, 1)))
    with sc.db.session() as s:
        disposition.quarantine(
            s,
            sc.cast.who("qa"),
            lot_id,
            sc.cast.creds("qa"),
            "temperature excursion in the incubator log",
        )
    assert _lot(sc.db, lot_id).status == lots.QUARANTINED
    with pytest.raises(InvalidTransition), sc.db.session() as s:
        disposition.release(s, sc.cast.who("qa"), lot_id, sc.cast.creds("qa"))
    with sc.db.session() as s:
        disposition.lift_quarantine(
            s,
            sc.cast.who("qa"),
            lot_id,
            sc.cast.creds("qa"),
            "excursion assessed: within validated range",
        )
    assert _lot(sc.db, lot_id).status == lots.AWAITING_RELEASE
    with sc.db.session() as s:
        disposition.reject(s, sc.cast.who("qa"), lot_id, sc.cast.creds("qa"), "sponsor decision")
    assert _lot(sc.db, lot_id).status == lots.REJECTED
    assert [d.decision for d in _dispositions(sc.db, lot_id)] == [
        "quarantined",
        "quarantine-lifted",
        "rejected",
    ]


def _release_worker(
    url: str, lot_id: int, who: CurrentUser, password: str, queue: mp.Queue[str], meet: Barrier
) -> None:
    db = Database(url)
    try:
        meet.wait(60)  # both QA people sign at the same moment
        with db.session() as s:
            disposition.release(s, who, lot_id, Credentials(who.username, password))
        queue.put("released")
    except InvalidTransition as exc:
        queue.put(f"refused: {exc.message}")
    finally:
        db.dispose()


@pytest.mark.concurrency
def test_two_qa_releasing_at_once_record_exactly_one_disposition(sc: Scenario) -> None:
    lot_id, _ = sc.made_lot(sc.subject("TLS-011", dt.date(1980, 1, 1)))
    ctx = mp.get_context("spawn")
    queue: mp.Queue[str] = ctx.Queue()
    meet = ctx.Barrier(2)
    procs = [
        ctx.Process(
            target=_release_worker,
            args=(sc.db.url, lot_id, sc.cast.who(role), sc.cast.passwords[role], queue, meet),
        )
        for role in ("qa", "qa2")
    ]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    outcomes = [queue.get(timeout=5) for _ in procs]
    assert outcomes.count("released") == 1
    (refusal,) = [o for o in outcomes if o != "released"]
    assert refusal.startswith("refused: Cannot release the lot: lot")
    assert "is released" in refusal
    assert [d.decision for d in _dispositions(sc.db, lot_id)] == ["released"]
    verify_ok(sc.db)
