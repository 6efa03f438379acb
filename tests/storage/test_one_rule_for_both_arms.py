"""One rule for both arms (design §7, §8 as extended by issue #15): the release rule that
holds a placebo visit to the subject's MSC lot, limits checked again when the infusion
starts, the visit window, and side doors closed to blinded staff — each refusal the same
for MSC and placebo, and nothing stored. On SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import text
from sqlmodel import select

from lottrack.demo.scenario import Scenario
from lottrack.kernel.errors import InvalidTransition, LotTrackError, NotFound
from lottrack.manufacturing import formulation, qc
from lottrack.storage import audit
from lottrack.storage.models import CustodyEvent, Dispensing, Infusion, ProductUnit, Visit, utcnow
from lottrack.trial import allocation, dispensing, export, ward
from lottrack.trial import listings as trial_listings
from lottrack.views import listings
from lottrack.views.documents.blinded_builders import build_label_data, find_unit
from tests.conftest import verify_ok
from tests.factories import thawed_bag

MSC_FIRST, PLACEBO_FIRST = allocation.MSC_FIRST, allocation.PLACEBO_FIRST
ARMS = {MSC_FIRST: "TLS-301", PLACEBO_FIRST: "TLS-302"}


def _subject(
    sc: Scenario, code: str, sequence: str, *, release: bool = True
) -> tuple[int, int, int, tuple[int, int]]:
    """(subject, lot, MSC bag, visits): enrolled today; the lot released unless told."""
    subject = sc.subject(code, dt.date(1968, 7, 14))
    lot_id, bag = sc.made_lot(subject)
    if release:
        sc.release(lot_id)
    return subject, lot_id, bag, sc.enrol(subject, sequence, utcnow().date())


def _period1_bag(sequence: str, bag: int) -> int | None:
    return bag if sequence == MSC_FIRST else None


def _prepare(sc: Scenario, visit_id: int, msc_bag: int | None) -> Any:
    with sc.db.session() as s:
        return dispensing.prepare(
            s,
            sc.cast.who("pharmacist"),
            sc.cast.creds("pharmacist"),
            visit_id=visit_id,
            unit_id=msc_bag,
            placebo=None if msc_bag else dispensing.PlaceboPreparation(sc.media_id),
        )


def _refused(fn: Callable[[], object], error: type[LotTrackError] = InvalidTransition) -> str:
    with pytest.raises(error) as info:
        fn()
    return info.value.message


def _sterility_growth(sc: Scenario, lot_id: int) -> None:
    """A correction after release: the lot goes back to awaiting release."""
    with sc.db.reader() as s:
        result = next(
            r for r in qc.results(s, lot_id) if r.test_name.lower().startswith("sterility")
        )
    with sc.db.session() as s:
        qc.correct_result(
            s,
            sc.cast.who("technician"),
            result.id,
            value_text="growth: S. epidermidis",
            reason="the plate was read again: growth",
        )


# ------------------------------------------------------------------ the release rule


@pytest.mark.parametrize("sequence", [MSC_FIRST, PLACEBO_FIRST])
def test_period_1_of_either_arm_needs_the_subjects_msc_lot_released(
    sc: Scenario, sequence: str
) -> None:
    """A placebo-first subject whose MSC lot awaits release is refused like an MSC-first
    one: check 2 reads the subject's MSC lot for both arms. Nothing is stored."""
    _, _, bag, (v1, _) = _subject(sc, ARMS[sequence], sequence, release=False)
    message = _refused(lambda: _prepare(sc, v1, _period1_bag(sequence, bag)))
    assert "check 2 (lot released) failed" in message
    assert "is awaiting-release" in message
    with sc.db.reader() as s:
        assert s.exec(select(Dispensing)).first() is None
        assert s.exec(select(ProductUnit).where(ProductUnit.kind == "placebo")).first() is None
        assert s.get(Visit, v1).status == "planned"  # type: ignore[union-attr]


@pytest.mark.parametrize("sequence", [MSC_FIRST, PLACEBO_FIRST])
def test_a_release_signature_edited_behind_the_programs_back_stops_check_2(
    sc: Scenario, sequence: str
) -> None:
    """The lot still says released, but a QC value was changed with plain SQL: the release
    signature no longer matches the batch record, and check 2 fails for both arms."""
    _, lot_id, bag, (v1, _) = _subject(sc, ARMS[sequence], sequence)
    with sc.db.engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE qc_result SET value_text = '70 %' WHERE lot_id = :lot "
                "AND value_text = '94 %'"
            ),
            {"lot": lot_id},
        )
    message = _refused(lambda: _prepare(sc, v1, _period1_bag(sequence, bag)))
    assert "check 2 (lot released) failed: the release signature of lot" in message
    assert "INVALIDATED" in message
    with sc.db.reader() as s:
        assert s.exec(select(Dispensing)).first() is None


def _dispensed_then_corrected(sc: Scenario, sequence: str) -> tuple[int, str, str]:
    """Period 1 dispensed and verified, then the lot goes back to awaiting release."""
    _, lot_id, bag, (v1, _) = _subject(sc, ARMS[sequence], sequence)
    sc.dispense(v1, msc_bag=_period1_bag(sequence, bag))
    _sterility_growth(sc, lot_id)
    nurse = sc.cast.who("clinician")
    with sc.db.reader() as s:
        view = ward.ward_visit(s, nurse, v1)
    assert view.kit_code is not None
    return v1, view.subject_code, view.kit_code


def test_a_lot_back_to_awaiting_release_stops_the_bedside_for_both_arms(sc: Scenario) -> None:
    nurse = sc.cast.who("clinician")
    messages = []
    for sequence in (MSC_FIRST, PLACEBO_FIRST):
        v1, code, kit = _dispensed_then_corrected(sc, sequence)

        def check(v1: int = v1, code: str = code, kit: str = kit) -> None:
            with sc.db.session() as s:
                ward.bedside_check(
                    s,
                    nurse,
                    visit_id=v1,
                    subject_code=code,
                    date_of_birth=dt.date(1968, 7, 14),
                    kit_code=kit,
                )

        messages.append(_refused(check))
    assert (
        messages[0]
        == messages[1]
        == (
            "Cannot start the bedside check: the subject's product is not released with a valid "
            "QA signature (QA must review the lot again); do not infuse; call the pharmacy."
        )
    )
    with sc.db.reader() as s:
        assert s.exec(select(Infusion)).first() is None
    verify_ok(sc.db)


def test_a_lot_back_to_awaiting_release_stops_the_start_of_the_infusion(sc: Scenario) -> None:
    """The bedside check passed; then QA's release falls: the start is refused alike."""
    nurse = sc.cast.who("clinician")
    messages = []
    for sequence in (MSC_FIRST, PLACEBO_FIRST):
        _, lot_id, bag, (v1, _) = _subject(sc, ARMS[sequence], sequence)
        sc.dispense(v1, msc_bag=_period1_bag(sequence, bag))
        with sc.db.reader() as s:
            view = ward.ward_visit(s, nurse, v1)
        assert view.kit_code is not None
        with sc.db.session() as s:
            infusion_id = ward.bedside_check(
                s,
                nurse,
                visit_id=v1,
                subject_code=view.subject_code,
                date_of_birth=view.date_of_birth,
                kit_code=view.kit_code,
            )
        _sterility_growth(sc, lot_id)

        def start(infusion_id: int = infusion_id) -> None:
            with sc.db.session() as s:
                ward.start_infusion(s, nurse, infusion_id, utcnow())

        messages.append(_refused(start))
        with sc.db.reader() as s:
            assert s.get(Infusion, infusion_id).started_at is None  # type: ignore[union-attr]
    assert messages[0] == messages[1]
    assert messages[0].startswith(
        "Cannot start the infusion: the subject's product is not released"
    )


def test_second_verification_repeats_the_release_rule(sc: Scenario) -> None:
    for sequence in (MSC_FIRST, PLACEBO_FIRST):
        _, lot_id, bag, (v1, _) = _subject(sc, ARMS[sequence], sequence)
        prepared = _prepare(sc, v1, _period1_bag(sequence, bag))
        _sterility_growth(sc, lot_id)

        def verify(prepared: Any = prepared) -> None:
            with sc.db.session() as s:
                dispensing.second_verify(
                    s,
                    sc.cast.who("pharmacist2"),
                    sc.cast.creds("pharmacist2"),
                    prepared.dispensing_id,
                )

        assert "check 2 (lot released) failed" in _refused(verify)
        with sc.db.reader() as s:
            d = s.get(Dispensing, prepared.dispensing_id)
            assert d is not None
            assert d.status == "prepared"


# ---------------------------------------------------------------- limits at the act


def _at_bedside(sc: Scenario, sequence: str) -> tuple[int, int]:
    """Period 1 dispensed, verified and identity-checked; (dispensing id, infusion id)."""
    _, _, bag, (v1, _) = _subject(sc, ARMS[sequence], sequence)
    dispensing_id = sc.dispense(v1, msc_bag=_period1_bag(sequence, bag))
    return dispensing_id, sc.bedside_check(v1)


def test_the_use_by_is_checked_again_when_the_infusion_starts(sc: Scenario) -> None:
    """Checked at the bedside in time, started after the use-by: refused, both arms alike."""
    nurse = sc.cast.who("clinician")
    messages = []
    for sequence in (MSC_FIRST, PLACEBO_FIRST):
        dispensing_id, infusion_id = _at_bedside(sc, sequence)
        with sc.db.session() as s:  # the bag waited on the ward: its use-by is behind us
            audit.set_actor(s, nurse.id, nurse.username)
            d = s.get(Dispensing, dispensing_id)
            assert d is not None
            with audit.reason(s, "test: the bag waited on the ward"):
                d.use_by = utcnow() - dt.timedelta(minutes=1)

        def start(infusion_id: int = infusion_id) -> None:
            with sc.db.session() as s:
                ward.start_infusion(s, nurse, infusion_id, utcnow())

        messages.append(_refused(start))
        with sc.db.reader() as s:
            assert s.get(Infusion, infusion_id).started_at is None  # type: ignore[union-attr]
    assert (
        messages[0]
        == messages[1]
        == (
            "Cannot start the infusion: the bag has passed its use-by time; do not infuse; call "
            "the pharmacy."
        )
    )


def test_the_ward_screen_says_a_bag_is_past_its_use_by_before_anything_is_typed(
    sc: Scenario,
) -> None:
    """Verified, then left past its use-by: the ward's visit says "Stop" before the bedside
    check is opened, in the same words for both arms (nothing before that)."""
    nurse = sc.cast.who("clinician")
    seen = []
    for sequence in (MSC_FIRST, PLACEBO_FIRST):
        _, _, bag, (v1, _) = _subject(sc, ARMS[sequence], sequence)
        dispensing_id = sc.dispense(v1, msc_bag=_period1_bag(sequence, bag))
        with sc.db.reader() as s:
            assert trial_listings.ward_visit_detail(s, nurse, v1).stop is None  # in time
        with sc.db.session() as s:
            audit.set_actor(s, nurse.id, nurse.username)
            d = s.get(Dispensing, dispensing_id)
            assert d is not None
            with audit.reason(s, "test: the bag waited on the ward"):
                d.use_by = utcnow() - dt.timedelta(minutes=1)
        with sc.db.reader() as s:
            detail = trial_listings.ward_visit_detail(s, nurse, v1)
        seen.append((detail.state, detail.stop))
    assert seen[0] == seen[1] == ("ready for bedside check", "the bag has passed its use-by time")


def test_the_thaw_limit_is_checked_again_when_the_infusion_starts(sc: Scenario) -> None:
    """A bag thawed 25 min before dispensing: 65 min after the thaw (limit 60) it cannot
    start, in the words a placebo bag past its use-by gets."""
    nurse = sc.cast.who("clinician")
    subject, bag = thawed_bag(sc, "TLS-311", dt.timedelta(minutes=5))
    v1, _ = sc.enrol(subject, MSC_FIRST, utcnow().date())
    sc.dispense(v1, msc_bag=bag)
    infusion_id = sc.bedside_check(v1)
    with sc.db.session() as s:  # as if the thaw was 65 minutes ago
        pharm = sc.cast.who("pharmacist")
        audit.set_actor(s, pharm.id, pharm.username)
        unit = s.get(ProductUnit, bag)
        assert unit is not None
        with audit.reason(s, "test: the thaw was earlier"):
            unit.thawed_at = utcnow() - dt.timedelta(minutes=65)

    def start() -> None:
        with sc.db.session() as s:
            ward.start_infusion(s, nurse, infusion_id, utcnow())

    assert _refused(start) == (
        "Cannot start the infusion: the bag has passed its use-by "
        "time; do not infuse; call the pharmacy."
    )


def test_dispensing_outside_the_visit_window_is_refused(sc: Scenario) -> None:
    """Week 24 cannot be dispensed at week 0; the window is ± visit_window_days."""
    _, _, bag, (v1, v2) = _subject(sc, "TLS-321", PLACEBO_FIRST)
    message = _refused(lambda: _prepare(sc, v2, bag))
    assert message.startswith("Cannot dispense: period 2 is planned for ")
    assert "(± 7 days)" in message
    with sc.db.reader() as s:
        assert s.exec(select(Dispensing)).first() is None
        planned = s.get(Visit, v1)
        assert planned is not None
    with sc.db.session() as s:  # period 1 planned 8 days ago: outside too
        audit.set_actor(s, sc.cast.who("pharmacist").id, "pharmacist")
        visit = s.get(Visit, v1)
        assert visit is not None
        with audit.reason(s, "test: planned earlier"):
            visit.planned_date = utcnow().date() - dt.timedelta(days=8)
    assert "period 1 is planned for" in _refused(lambda: _prepare(sc, v1, None))
    with sc.db.session() as s:
        visit = s.get(Visit, v1)
        assert visit is not None
        audit.set_actor(s, sc.cast.who("pharmacist").id, "pharmacist")
        with audit.reason(s, "test: planned 7 days ago"):
            visit.planned_date = utcnow().date() - dt.timedelta(days=6)
    assert _prepare(sc, v1, None).arm == allocation.PLACEBO


# ------------------------------------------------------------------- side doors


def test_a_blinded_label_probe_cannot_tell_msc_bags_from_nothing(sc: Scenario) -> None:
    """Before dispensing only MSC bags exist: a ward label by bag id or kit code gets one
    answer for an MSC bag, a missing bag and a missing kit code."""
    nurse = sc.cast.who("clinician")
    _, _, bag, _ = _subject(sc, "TLS-331", MSC_FIRST)
    with sc.db.reader() as s:
        kit = s.get(ProductUnit, bag).kit_code  # type: ignore[union-attr]
    answers = []
    for reference in (str(bag), str(bag + 1000), kit, "K-ZZZZZZZZ"):
        with sc.db.session() as s, pytest.raises(NotFound) as info:
            build_label_data(s, nurse, find_unit(s, nurse, reference))
        answers.append(info.value.message.replace(f'"{reference}"', '"…"'))
    assert len(set(answers)) == 1, answers
    assert "reach a bag only through its dispensed visit" in answers[0]
    for unit_id in (bag, bag + 1000):
        with sc.db.session() as s, pytest.raises(NotFound) as info:
            build_label_data(s, nurse, unit_id)
        answers.append(info.value.message.replace(f'"#{unit_id}"', '"…"'))
    assert len(set(answers)) == 1, answers


def test_the_ward_labels_a_dispensed_bag_by_its_kit_code(sc: Scenario) -> None:
    nurse = sc.cast.who("clinician")
    _, _, _, (v1, _) = _subject(sc, "TLS-332", PLACEBO_FIRST)
    sc.dispense(v1)
    with sc.db.reader() as s:
        kit = ward.ward_visit(s, nurse, v1).kit_code
        assert kit is not None
        data = build_label_data(s, nurse, find_unit(s, nurse, kit.lower()))
    assert data.kit_code == kit


def test_custody_by_the_ward_is_the_same_for_both_arms(sc: Scenario) -> None:
    """A clinician cannot reach an undispensed bag (answered like a missing one), and for a
    dispensed bag the moves start at the dispensing for both arms: a time before the
    placebo was prepared is refused for the MSC bag too."""
    nurse = sc.cast.who("clinician")
    pharmacist = sc.cast.who("pharmacist")
    outcomes = []
    for sequence in (MSC_FIRST, PLACEBO_FIRST):
        _, _, bag, (v1, _) = _subject(sc, ARMS[sequence], sequence)
        # The pharmacy took the released MSC bag from the lab before any dispensing (from
        # a lot's release on, the lab records no move of its bags).
        with sc.db.session() as s:
            formulation.record_custody(
                s,
                pharmacist,
                unit_id=bag,
                from_location="Clean room",
                to_location="Pharmacy",
                at=utcnow() - dt.timedelta(minutes=20),
            )
        with sc.db.session() as s, pytest.raises(NotFound) as info:
            formulation.record_custody(
                s, nurse, unit_id=bag, from_location="Pharmacy", to_location="Ward 3", at=utcnow()
            )
        undispensed = info.value.message.replace(str(bag), "N")
        sc.dispense(v1, msc_bag=_period1_bag(sequence, bag))
        with sc.db.reader() as s:
            d = s.exec(select(Dispensing).where(Dispensing.visit_id == v1)).one()
            kit = ward.ward_visit(s, nurse, v1).kit_code
        with sc.db.session() as s, pytest.raises(NotFound) as info:  # never by id
            formulation.record_custody(
                s,
                nurse,
                unit_id=d.unit_id,
                from_location="Pharmacy",
                to_location="Ward 3",
                at=utcnow(),
            )
        by_id = info.value.message.replace(str(d.unit_id), "N")
        early = d.prepared_at - dt.timedelta(minutes=10)
        with sc.db.session() as s, pytest.raises(LotTrackError) as too_early:
            formulation.record_custody(
                s, nurse, kit_code=kit, from_location="Pharmacy", to_location="Ward 3", at=early
            )
        # The refusal names this bag's own dispensing time, which the real clock sets (the
        # two arms can fall in different minutes): compared with the times masked.
        before = re.sub(r"\d{2}:\d{2}", "HH:MM", too_early.value.message.split(": ", 1)[1])
        with sc.db.session() as s:
            formulation.record_custody(
                s, nurse, kit_code=kit, from_location="Pharmacy", to_location="Ward 3", at=utcnow()
            )
        outcomes.append((undispensed, by_id, before))
    assert outcomes[0] == outcomes[1], outcomes
    assert outcomes[0][0] == outcomes[0][1]  # a dispensed bag by id: as if missing
    assert "the bag was dispensed" in outcomes[0][2]
    with sc.db.reader() as s:
        assert len(s.exec(select(CustodyEvent)).all()) == 4


def test_the_lab_cannot_reach_a_placebo_bag(sc: Scenario) -> None:
    tech = sc.cast.who("technician")
    _, _, _, (v1, _) = _subject(sc, "TLS-341", PLACEBO_FIRST)
    sc.dispense(v1)
    with sc.db.reader() as s:
        placebo = s.exec(select(ProductUnit).where(ProductUnit.kind == "placebo")).one()
    for unit_id in (placebo.id, 99_999):
        with sc.db.session() as s, pytest.raises(NotFound) as info:
            formulation.record_custody(
                s, tech, unit_id=unit_id, from_location="Pharmacy", to_location="Lab", at=utcnow()
            )
        assert info.value.message == (
            f"No bag with id {unit_id} that you can reach (the ward "
            "gives the kit code of a dispensed visit)."
        )
    with sc.db.reader() as s:
        assert s.exec(select(CustodyEvent)).first() is None


# --------------------------------------------------------------- who is blinded


def test_qa_and_admin_cannot_read_which_visit_a_bag_served(sc: Scenario, tmp_path: Any) -> None:
    """The lot's audit trail, its bags, their custody and the blinded export say nothing
    of the MSC bag's dispensing; the pharmacy still sees all of it."""
    _, lot_id, bag, (v1, _) = _subject(sc, "TLS-351", MSC_FIRST)
    sc.dispense(v1, msc_bag=bag)
    with sc.db.session() as s:
        kit = ward.ward_visit(s, sc.cast.who("clinician"), v1).kit_code
        formulation.record_custody(
            s,
            sc.cast.who("clinician"),
            kit_code=kit,
            from_location="Pharmacy",
            to_location="Ward 3",
            at=utcnow(),
        )
    sc.infuse(v1)
    for role in ("qa", "admin"):
        with sc.db.reader() as s:
            trail = listings.lot_audit_trail(s, sc.cast.who(role), lot_id)
        text_of_trail = json.dumps([(r.reason, r.changes) for r in trail], default=str)
        for secret in ("visit", "dispensed", "infused", "Ward 3", "K-"):
            assert secret not in text_of_trail, (role, secret)
        with sc.db.session() as s:
            export.export(s, sc.cast.who(role), fmt="json", directory=tmp_path / role)
        visits = json.loads((tmp_path / role / "visits.json").read_text())
        assert visits
        assert all("kit_code" not in v for v in visits)
    with sc.db.reader() as s:
        qa = sc.cast.who("qa")
        bags = formulation.bags_of_lot(s, qa, lot_id)
        custody = listings.lot_custody(s, qa, lot_id)
        timeline = listings.lot_timeline(s, qa, lot_id)
        pharmacy = formulation.bags_of_lot(s, sc.cast.who("pharmacist"), lot_id)
        pharmacy_custody = listings.lot_custody(s, sc.cast.who("pharmacist"), lot_id)
    assert [(b.status, b.kit_code.startswith("bag ")) for b in bags] == [("blinded", True)]
    assert custody == []
    assert not [e for e in timeline if "Ward 3" in e.what]
    assert [b.status for b in pharmacy] == ["infused"]
    assert [m.to_location for m in pharmacy_custody] == ["Ward 3"]
