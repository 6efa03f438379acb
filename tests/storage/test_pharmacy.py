"""The trial pharmacy and the ward (design §5, §7, §8), on SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import multiprocessing as mp
import re
from multiprocessing.synchronize import Barrier
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from lottrack.demo.scenario import Scenario
from lottrack.kernel.errors import (
    InvalidTransition,
    LotTrackError,
    PermissionDenied,
    ValidationError,
)
from lottrack.manufacturing import expansion, formulation, lots
from lottrack.records.permissions import CurrentUser
from lottrack.records.signatures import Credentials
from lottrack.storage import audit
from lottrack.storage.db import Database
from lottrack.storage.models import (
    AuditEvent,
    Dispensing,
    DispensingCheck,
    Infusion,
    Passage,
    ProductUnit,
    Setting,
    Subject,
    Unblinding,
    Visit,
    WeightMeasurement,
    utcnow,
)
from lottrack.trial import allocation, dispensing, export, ward
from tests.conftest import verify_ok
from tests.factories import thawed_bag

MSC_FIRST, PLACEBO_FIRST = allocation.MSC_FIRST, allocation.PLACEBO_FIRST


def _released_subject(
    sc: Scenario, code: str, sequence: str, *, weight: str = "70 kg"
) -> tuple[int, int, tuple[int, int]]:
    """A subject with a released lot, one fresh bag and both visits; (subject, bag, visits)."""
    subject = sc.subject(code, dt.date(1968, 7, 14))
    lot_id, bag = sc.made_lot(subject, weight=weight)
    sc.release(lot_id)
    visits = sc.enrol(subject, sequence, utcnow().date())
    return subject, bag, visits


def _refusal(sc: Scenario, visit_id: int, **kw: Any) -> str:
    with pytest.raises(InvalidTransition) as info, sc.db.session() as s:
        dispensing.prepare(
            s, sc.cast.who("pharmacist"), sc.cast.creds("pharmacist"), visit_id=visit_id, **kw
        )
    with sc.db.reader() as s:
        assert s.exec(select(Dispensing).where(Dispensing.visit_id == visit_id)).first() is None
        refused = s.exec(
            select(AuditEvent)
            .where(AuditEvent.action == "dispense-refused")
            .where(AuditEvent.entity_id == str(visit_id))
        ).all()
    assert refused, "the refusal is audited"
    return info.value.message


# ------------------------------------------------------------------------ crossover


@pytest.mark.parametrize("sequence", [MSC_FIRST, PLACEBO_FIRST])
def test_a_whole_crossover_for_each_sequence(sc: Scenario, sequence: str) -> None:
    subject, bag, (v1, v2) = _released_subject(sc, "TLS-101", sequence)
    first_msc = sequence == MSC_FIRST
    d1 = sc.dispense(v1, msc_bag=bag if first_msc else None)
    sc.infuse(v1)
    sc.weight(subject, "69.5 kg", utcnow())
    with sc.compressed_time():  # period 2 is due 24 weeks later
        d2 = sc.dispense(v2, msc_bag=None if first_msc else bag)
    sc.infuse(v2, reactions="mild chills", grade=1)
    with sc.db.reader() as s:
        units = {
            d.visit_id: s.get(ProductUnit, d.unit_id) for d in s.exec(select(Dispensing)).all()
        }
        visits = s.exec(select(Visit).where(Visit.subject_id == subject)).all()
        infusions = s.exec(select(Infusion)).all()
        checks = s.exec(select(DispensingCheck).where(DispensingCheck.dispensing_id == d1)).all()
    kinds = [units[v1].kind, units[v2].kind]  # type: ignore[union-attr]
    assert kinds == (["msc", "placebo"] if first_msc else ["placebo", "msc"])
    assert {v.status for v in visits} == {"infused"}
    assert len(infusions) == 2
    assert all(u.status == "infused" for u in units.values() if u)
    placebo = next(u for u in units.values() if u and u.kind == "placebo")
    msc = next(u for u in units.values() if u and u.kind == "msc")
    assert placebo.volume_ml == msc.volume_ml  # an equal volume of suspension media
    assert (placebo.din, placebo.product_code[:6]) == (msc.din, msc.product_code[:6])
    assert [(c.stage, c.number) for c in checks] == [("prepare", n) for n in range(1, 7)] + [
        ("verify", n) for n in range(1, 4)
    ]
    assert all(c.passed for c in checks)
    assert d2 != d1
    verify_ok(sc.db)


# ------------------------------------------------------------------------- refusals


def test_the_bag_of_another_subject_is_refused(sc: Scenario) -> None:
    _, bag_a, _ = _released_subject(sc, "TLS-201", MSC_FIRST)
    _, _, (visit_b, _) = _released_subject(sc, "TLS-202", MSC_FIRST)
    message = _refusal(sc, visit_b, unit_id=bag_a)
    assert "check 1 (chain of identity) failed: bag" in message
    assert "belongs to TLS-201" in message
    assert "visit is for TLS-202" in message


def test_a_bag_of_an_unreleased_lot_is_refused(sc: Scenario) -> None:
    subject = sc.subject("TLS-203", dt.date(1970, 1, 1))
    _, bag = sc.made_lot(subject)  # awaiting release
    v1, _ = sc.enrol(subject, MSC_FIRST, utcnow().date())
    message = _refusal(sc, v1, unit_id=bag)
    assert "check 2 (lot released) failed: lot L-" in message
    assert "is awaiting-release" in message


def test_a_bag_whose_release_was_invalidated_is_refused(sc: Scenario) -> None:
    subject, bag, (v1, _) = _released_subject(sc, "TLS-204", MSC_FIRST)
    with sc.db.reader() as s:
        unit = s.get(ProductUnit, bag)
        assert unit is not None
        p0 = s.exec(select(Passage).where(Passage.lot_id == unit.lot_id, Passage.number == 0)).one()
    with sc.db.session() as s:
        expansion.correct_passage(
            s,
            sc.cast.who("technician"),
            p0.id or 0,
            reason="wrong vessel recorded",
            vessels="T175 flask",
        )
    message = _refusal(sc, v1, unit_id=bag)
    assert "check 2 (lot released) failed" in message
    assert lots.AWAITING_RELEASE in message


def test_an_expired_bag_is_refused(sc: Scenario) -> None:
    subject = sc.subject("TLS-205", dt.date(1970, 1, 1))
    now = utcnow()
    lot_id = sc.harvest_and_lot(subject, now - dt.timedelta(days=14))
    sc.passages(lot_id, now - dt.timedelta(days=13))
    sc.weight(subject, "70 kg", now - dt.timedelta(days=1))
    sc.final_count(lot_id, now - dt.timedelta(hours=27))
    bag = sc.formulate(lot_id, now - dt.timedelta(hours=26))  # 24 h shelf life: expired
    sc.qc(lot_id, now - dt.timedelta(hours=25))
    sc.release(lot_id)
    v1, _ = sc.enrol(subject, MSC_FIRST, now.date())
    assert "check 3 (not expired) failed: bag expired at" in _refusal(sc, v1, unit_id=bag)


def test_a_bag_thawed_too_long_ago_is_refused(sc: Scenario) -> None:
    subject, bag = thawed_bag(sc, "TLS-206", dt.timedelta(minutes=90))
    v1, _ = sc.enrol(subject, MSC_FIRST, utcnow().date())
    message = _refusal(sc, v1, unit_id=bag)
    assert re.search(
        r"check 3 \(not expired\) failed: thawed 9\d min ago; the limit is 60 min", message
    )


def _made_bag(
    sc: Scenario,
    code: str,
    formulated_ago: dt.timedelta,
    *,
    cryopreserve: bool = False,
    thawed_ago: dt.timedelta | None = None,
) -> tuple[int, int]:
    """A released lot's one bag formulated ``formulated_ago``; (visit 1 id, bag id)."""
    subject = sc.subject(code, dt.date(1970, 1, 1))
    now = utcnow()
    lot_id = sc.harvest_and_lot(subject, now - formulated_ago - dt.timedelta(days=14))
    sc.passages(lot_id, now - formulated_ago - dt.timedelta(days=13))
    sc.weight(subject, "70 kg", now - dt.timedelta(days=1))
    sc.final_count(lot_id, now - formulated_ago - dt.timedelta(hours=1))
    with sc.db.session() as s:
        made = formulation.formulate(
            s,
            sc.cast.who("technician"),
            lot_id=lot_id,
            volume_text="50 mL",
            storage="2–8 °C",
            cryopreserve=cryopreserve,
            formulated_at=now - formulated_ago,
        )
    bag = made.units[0].id
    sc.qc(lot_id, now - formulated_ago + dt.timedelta(minutes=10))
    sc.release(lot_id)
    if thawed_ago is not None:
        with sc.db.session() as s:
            formulation.record_thaw(s, sc.cast.who("pharmacist"), bag, now - thawed_ago)
    v1, _ = sc.enrol(subject, MSC_FIRST, now.date())
    return v1, bag


def test_a_cryopreserved_bag_must_be_thawed_in_the_pharmacy_first(sc: Scenario) -> None:
    v1, bag = _made_bag(sc, "TLS-211", dt.timedelta(hours=4), cryopreserve=True)
    assert (
        "check 3 (not expired) failed: the cryopreserved bag has not been thawed; thaw "
        "it in the pharmacy first"
    ) in _refusal(sc, v1, unit_id=bag)


def test_a_bag_whose_thaw_limit_ends_before_the_use_by_is_refused(sc: Scenario) -> None:
    """Thawed 40 min ago: usable 20 more minutes (limit 60), but the ward's use-by is 30
    minutes after dispensing."""
    v1, bag = _made_bag(
        sc, "TLS-212", dt.timedelta(hours=4), cryopreserve=True, thawed_ago=dt.timedelta(minutes=40)
    )
    message = _refusal(sc, v1, unit_id=bag)
    assert re.search(
        r"check 3 \(not expired\) failed: thawed 40 min ago; usable until "
        r"\S+ \S+ CES?T \(limit 60 min\), before the use-by \S+ \S+ CES?T",
        message,
    )


def test_a_fresh_bag_expiring_before_the_use_by_is_refused(sc: Scenario) -> None:
    """Formulated 23 h 45 min ago: it expires (24 h) in 15 minutes, before the use-by."""
    v1, bag = _made_bag(sc, "TLS-213", dt.timedelta(hours=23, minutes=45))
    assert re.search(
        r"check 3 \(not expired\) failed: bag expires at \S+ \S+ CES?T, before "
        r"the use-by",
        _refusal(sc, v1, unit_id=bag),
    )


def test_a_thawed_bag_within_its_limit_is_dispensed_with_the_use_by(sc: Scenario) -> None:
    v1, bag = _made_bag(
        sc, "TLS-214", dt.timedelta(hours=4), cryopreserve=True, thawed_ago=dt.timedelta(minutes=10)
    )
    dispensing_id = sc.dispense(v1, msc_bag=bag)
    with sc.db.reader() as s:
        d = s.get(Dispensing, dispensing_id)
        assert d is not None
        assert d.use_by is not None
        assert d.use_by - d.prepared_at == dt.timedelta(minutes=30)
        check3 = [
            c
            for c in dispensing.checks_of(s, sc.cast.who("pharmacist"), dispensing_id)
            if c.number == 3
        ]
    assert [c.passed for c in check3] == [True, True]  # prepare and second verification
    assert "thawed 10 min ago (limit 60 min)" in check3[0].detail
    assert "use by" in check3[0].detail


def test_the_use_by_is_the_same_window_for_both_arms_and_the_bedside_keeps_it(sc: Scenario) -> None:
    """The ward sees one time for a bag, the use-by: dispensing + the site's window, for
    MSC and placebo alike; past it the bedside check refuses both with the same words."""
    _, bag_a, (a1, _) = _released_subject(sc, "TLS-215", MSC_FIRST)
    _, _, (b1, _) = _released_subject(sc, "TLS-216", PLACEBO_FIRST)
    nurse = sc.cast.who("clinician")
    admin = sc.cast.who("pharmacist")
    with sc.db.session() as s:
        audit.set_actor(s, admin.id, admin.username)
        s.merge(Setting(key="administration_window_minutes", value="45"))
    sc.dispense(a1, msc_bag=bag_a)
    sc.dispense(b1)
    messages = []
    with sc.db.reader() as s:
        views = [ward.ward_visit(s, nurse, v) for v in (a1, b1)]
    for view in views:
        assert view.use_by is not None
        assert view.prepared_at is not None
        assert view.use_by - view.prepared_at == dt.timedelta(minutes=45)
    for visit_id, view in zip((a1, b1), views, strict=True):
        with sc.db.session() as s:  # time passes: the use-by is behind us
            audit.set_actor(s, admin.id, admin.username)
            d = s.exec(select(Dispensing).where(Dispensing.visit_id == visit_id)).one()
            with audit.reason(s, "test: an hour has passed"):
                d.use_by = utcnow() - dt.timedelta(minutes=1)
        with pytest.raises(InvalidTransition) as info, sc.db.session() as s:
            assert view.kit_code is not None
            ward.bedside_check(
                s,
                nurse,
                visit_id=visit_id,
                subject_code=view.subject_code,
                date_of_birth=view.date_of_birth,
                kit_code=view.kit_code,
            )
        messages.append(info.value.message)
    assert (
        messages[0]
        == messages[1]
        == (
            "Cannot start the bedside check: the bag has passed "
            "its use-by time; do not infuse; call the pharmacy."
        )
    )
    with sc.db.reader() as s:
        assert s.exec(select(Infusion)).first() is None


def test_a_stale_weight_is_refused(sc: Scenario) -> None:
    subject = sc.subject("TLS-207", dt.date(1970, 1, 1))
    lot_id, bag = sc.made_lot(subject)
    sc.release(lot_id)
    v1, _ = sc.enrol(subject, MSC_FIRST, utcnow().date())
    with sc.db.session() as s:  # the only weight becomes 8 days old: void it, add an old one
        weight = s.exec(select(WeightMeasurement)).one()
        from lottrack.storage import audit

        audit.set_actor(s, sc.cast.who("clinician").id, "clinician")
        with audit.reason(s, "typed on the wrong patient"):
            weight.voided_reason = "typed on the wrong patient"
    sc.weight(subject, "71 kg", utcnow() - dt.timedelta(days=8))
    message = _refusal(sc, v1, unit_id=bag)
    assert "check 4 (current weight) failed: 71 kg measured" in message
    assert "8.0 days ago (limit 7 days)" in message


def test_a_dose_outside_the_window_is_refused_with_the_numbers(sc: Scenario) -> None:
    _, bag, (v1, _) = _released_subject(sc, "TLS-208", MSC_FIRST, weight="50 kg")
    message = _refusal(sc, v1, unit_id=bag)
    # 2.55e6 viable/mL × 50 mL = 1.275e8 cells ÷ 50 kg = 2.55e6 cells/kg
    assert "check 5 (dose within window) failed: 1.28 × 10⁸ cells ÷ 50 kg" in message
    assert "÷ 50 kg = 2.55 × 10⁶ cells/kg — ABOVE the window" in message  # one sentence


def test_the_wrong_arm_is_refused(sc: Scenario) -> None:
    _, bag, (v1, _) = _released_subject(sc, "TLS-209", PLACEBO_FIRST)
    message = _refusal(sc, v1, unit_id=bag)
    assert "check 6 (arm matches allocation) failed: period 1 is placebo; the bag is MSC" in message


def test_the_preparer_cannot_be_the_second_verifier(sc: Scenario) -> None:
    _, bag, (v1, _) = _released_subject(sc, "TLS-210", MSC_FIRST)
    with sc.db.session() as s:
        prep = dispensing.prepare(
            s, sc.cast.who("pharmacist"), sc.cast.creds("pharmacist"), visit_id=v1, unit_id=bag
        )
    assert prep.dose_cells_per_kg == pytest.approx(1.275e8 / 70)
    with pytest.raises(PermissionDenied, match="different person"), sc.db.session() as s:
        dispensing.second_verify(
            s, sc.cast.who("pharmacist"), sc.cast.creds("pharmacist"), prep.dispensing_id
        )
    with sc.db.reader() as s:
        d = s.get(Dispensing, prep.dispensing_id)
        assert d is not None
        assert (d.status, d.verified_by) == ("prepared", None)


def test_a_bedside_mismatch_is_refused_and_audited(sc: Scenario) -> None:
    _, bag, (v1, _) = _released_subject(sc, "TLS-211", MSC_FIRST)
    sc.dispense(v1, msc_bag=bag)
    nurse = sc.cast.who("clinician")
    with (
        pytest.raises(ValidationError, match="kit code 'K-WRONG123' is not the bag"),
        sc.db.session() as s,
    ):
        ward.bedside_check(
            s,
            nurse,
            visit_id=v1,
            subject_code="TLS-211",
            date_of_birth=dt.date(1968, 7, 14),
            kit_code="K-WRONG123",
        )
    with pytest.raises(ValidationError, match="date of birth"), sc.db.session() as s:
        ward.bedside_check(
            s,
            nurse,
            visit_id=v1,
            subject_code="TLS-211",
            date_of_birth=dt.date(1968, 7, 15),
            kit_code="K-WRONG123",
        )
    with sc.db.reader() as s:
        assert s.exec(select(Infusion)).all() == []
        mismatches = s.exec(select(AuditEvent).where(AuditEvent.action == "bedside-mismatch")).all()
    assert len(mismatches) == 2


def test_no_infusion_without_a_verified_dispensing(sc: Scenario) -> None:
    _, bag, (v1, _) = _released_subject(sc, "TLS-212", MSC_FIRST)
    with sc.db.session() as s:
        dispensing.prepare(
            s, sc.cast.who("pharmacist"), sc.cast.creds("pharmacist"), visit_id=v1, unit_id=bag
        )
    with pytest.raises(InvalidTransition, match="second-verified"), sc.db.session() as s:
        ward.bedside_check(
            s,
            sc.cast.who("clinician"),
            visit_id=v1,
            subject_code="TLS-212",
            date_of_birth=dt.date(1968, 7, 14),
            kit_code="K-ANYTHING1",
        )


def test_a_bag_is_infused_at_most_once(sc: Scenario) -> None:
    _, bag, (v1, _) = _released_subject(sc, "TLS-213", MSC_FIRST)
    sc.dispense(v1, msc_bag=bag)
    sc.infuse(v1)
    with pytest.raises(InvalidTransition, match="at most once"):
        sc.infuse(v1)


# ------------------------------------------------------------------------ blinding


def _mask(value: Any) -> Any:
    """Identifiers replaced by placeholders; every time replaced by whole minutes after
    the dispensing ("prepared_at"), so that a time that differs by arm relative to the
    dispensing (a bag's expiry, say) still shows."""
    if isinstance(value, dict):
        prepared = _moment(value.get("prepared_at"))
        return {k: _mask_field(k, v, prepared) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask(v) for v in value]
    return value


_IDENTIFIERS = {
    "visit_id",
    "subject_code",
    "date_of_birth",
    "kit_code",
    "din",
    "infusion_id",
    "planned_date",
    "period",
}


def _moment(value: Any) -> dt.datetime | None:
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError:
            return None
    return value if isinstance(value, dt.datetime) else None


def _mask_field(key: str, value: Any, prepared: dt.datetime | None) -> Any:
    if key in _IDENTIFIERS:
        return "<masked>" if value is not None else None
    if key.endswith("_at") or key == "use_by":
        moment = _moment(value)
        if moment is None or prepared is None:
            return "<masked>" if value is not None else None
        return f"prepared + {(moment - prepared) // dt.timedelta(minutes=1)} min"
    return _mask(value)


def test_blinded_views_of_an_msc_and_a_placebo_visit_are_identical(sc: Scenario) -> None:
    _, bag_a, (a1, _) = _released_subject(sc, "TLS-301", MSC_FIRST)
    _, _, (b1, _) = _released_subject(sc, "TLS-302", PLACEBO_FIRST)
    sc.dispense(a1, msc_bag=bag_a)
    sc.dispense(b1)
    nurse = sc.cast.who("clinician")

    def views() -> tuple[Any, Any]:
        with sc.db.reader() as s:
            return (
                _mask(dataclasses.asdict(ward.ward_visit(s, nurse, a1))),
                _mask(dataclasses.asdict(ward.ward_visit(s, nurse, b1))),
            )

    msc_view, placebo_view = views()
    assert msc_view == placebo_view  # dispensed, waiting at the bedside
    sc.infuse(a1)
    sc.infuse(b1)
    msc_view, placebo_view = views()
    assert msc_view == placebo_view  # infused
    with sc.db.reader() as s:
        listed = [_mask(dataclasses.asdict(v)) for v in ward.ward_visits(s, nurse) if v.period == 1]
    assert listed[0] == listed[1]


def test_the_blinded_export_holds_nothing_that_differs_by_arm(
    sc: Scenario,
    tmp_path: Path,
) -> None:
    _, bag_a, (a1, _) = _released_subject(sc, "TLS-303", MSC_FIRST)
    _, _, (b1, _) = _released_subject(sc, "TLS-304", PLACEBO_FIRST)
    sc.dispense(a1, msc_bag=bag_a)
    sc.dispense(b1)
    with sc.db.session() as s:
        result = export.export(s, sc.cast.who("clinician"), fmt="json", directory=tmp_path)
    assert result.blinded
    assert "allocation.json" not in result.files
    blob = "".join((tmp_path / f).read_text() for f in result.files)
    for secret in ("MSC-first", "placebo-first", "msc", "placebo", "viable", "dose", "kind"):
        assert secret not in blob, secret
    visits = json.loads((tmp_path / "visits.json").read_text())
    by_visit = {v["visit_id"]: _mask(v) for v in visits}
    assert by_visit[a1] == by_visit[b1]
    with sc.db.session() as s:
        unblinded = export.export(s, sc.cast.who("pharmacist"), fmt="csv", directory=tmp_path / "u")
    assert not unblinded.blinded
    assert "MSC-first" in (tmp_path / "u" / "unblinded-allocation.csv").read_text()
    assert all(name.startswith("unblinded-") for name in unblinded.files)


def test_blinded_staff_cannot_read_the_allocation(sc: Scenario) -> None:
    subject, _, (v1, _) = _released_subject(sc, "TLS-305", MSC_FIRST)
    with pytest.raises(PermissionDenied), sc.db.reader() as s:
        allocation.sequence_of(s, sc.cast.who("clinician"), subject)
    with pytest.raises(PermissionDenied), sc.db.reader() as s:
        dispensing.visit_arm(s, sc.cast.who("clinician"), v1)


def test_emergency_unblinding_reveals_one_subject_only(sc: Scenario) -> None:
    a, _, _ = _released_subject(sc, "TLS-306", MSC_FIRST)
    b, _, _ = _released_subject(sc, "TLS-307", PLACEBO_FIRST)
    inv = sc.cast.who("investigator")
    with pytest.raises(ValidationError, match="Reason"), sc.db.session() as s:
        ward.emergency_unblind(s, inv, sc.cast.creds("investigator"), subject_id=a, reason="sick")
    with pytest.raises(PermissionDenied), sc.db.session() as s:
        ward.emergency_unblind(
            s,
            sc.cast.who("clinician"),
            sc.cast.creds("clinician"),
            subject_id=a,
            reason="anaphylaxis, treatment depends on arm",
        )
    with sc.db.session() as s:
        revealed = ward.emergency_unblind(
            s,
            inv,
            sc.cast.creds("investigator"),
            subject_id=a,
            reason="anaphylaxis, treatment depends on arm",
        )
    assert revealed == MSC_FIRST
    with sc.db.reader() as s:
        assert allocation.sequence_of(s, inv, a) == MSC_FIRST
        with pytest.raises(PermissionDenied):
            allocation.sequence_of(s, inv, b)
        subject = s.get(Subject, a)
        assert subject is not None
        assert subject.unblinded_at is not None
        assert len(s.exec(select(Unblinding)).all()) == 1
        flagged = {
            v.subject_code: v.subject_unblinded
            for v in ward.ward_visits(s, sc.cast.who("clinician"))
        }
    assert flagged == {"TLS-306": True, "TLS-307": False}
    verify_ok(sc.db)


# --------------------------------------------------------------------- allocation


def test_allocation_import_refuses_the_whole_file_on_a_bad_line(
    sc: Scenario, tmp_path: Path
) -> None:
    sc.subject("TLS-401", dt.date(1970, 1, 1))
    sc.subject("TLS-402", dt.date(1970, 1, 1))
    bad = tmp_path / "alloc.csv"
    bad.write_text("subject_code,sequence\nTLS-401,MSC-first\nTLS-402,MSC-last\n")
    with pytest.raises(ValidationError, match="line 3: sequence 'MSC-last'"), sc.db.session() as s:
        allocation.import_csv(s, sc.cast.who("pharmacist"), bad)
    dup = tmp_path / "dup.csv"
    dup.write_text("TLS-401,MSC-first\nTLS-402,placebo-first\nTLS-401,placebo-first\n")
    with (
        pytest.raises(ValidationError, match="line 3: subject TLS-401 already appears on line 1"),
        sc.db.session() as s,
    ):
        allocation.import_csv(s, sc.cast.who("pharmacist"), dup)
    good = tmp_path / "good.csv"
    good.write_text("subject_code,sequence\nTLS-401,MSC-first\nTLS-402,placebo-first\n")
    with sc.db.session() as s:
        result = allocation.import_csv(s, sc.cast.who("pharmacist"), good)
    assert (result.rows, result.created_or_changed) == (2, 2)


def test_allocation_cannot_change_after_a_dispensing(sc: Scenario, tmp_path: Path) -> None:
    subject, bag, (v1, _) = _released_subject(sc, "TLS-403", MSC_FIRST)
    sc.dispense(v1, msc_bag=bag)
    flip = tmp_path / "flip.csv"
    flip.write_text("TLS-403,placebo-first\n")
    with pytest.raises(InvalidTransition, match="already been dispensed"), sc.db.session() as s:
        allocation.import_csv(s, sc.cast.who("pharmacist"), flip)
    with sc.db.reader() as s:
        assert allocation.sequence_of(s, sc.cast.who("pharmacist"), subject) == MSC_FIRST


def test_generated_allocation_is_balanced_and_reproducible(sc: Scenario) -> None:
    ids = [sc.subject(f"TLS-5{n:02d}", dt.date(1970, 1, 1)) for n in range(8)]
    with sc.db.session() as s:
        assert allocation.generate(s, sc.cast.who("pharmacist"), subject_ids=ids, seed=7) == 8
    with sc.db.reader() as s:
        got = [allocation.sequence_of(s, sc.cast.who("pharmacist"), i) for i in ids]
    assert got == allocation.permuted_blocks(8, seed=7)
    for block in (got[:4], got[4:]):
        assert block.count(MSC_FIRST) == block.count(PLACEBO_FIRST) == 2


# -------------------------------------------------------------------- concurrency


def _dispense_worker(
    url: str,
    who: CurrentUser,
    password: str,
    visit_id: int,
    bag: int,
    queue: mp.Queue[str],
    meet: Barrier,
) -> None:
    db = Database(url)
    try:
        meet.wait(60)  # both pharmacists sign at the same moment
        with db.session() as s:
            dispensing.prepare(
                s, who, Credentials(who.username, password), visit_id=visit_id, unit_id=bag
            )
        queue.put("dispensed")
    except LotTrackError as exc:
        queue.put(f"refused: {exc.message}")
    finally:
        db.dispose()


@pytest.mark.concurrency
def test_two_pharmacists_dispensing_the_same_bag_at_once(sc: Scenario) -> None:
    _, bag, (v1, _) = _released_subject(sc, "TLS-601", MSC_FIRST)
    ctx = mp.get_context("spawn")
    queue: mp.Queue[str] = ctx.Queue()
    meet = ctx.Barrier(2)
    procs = [
        ctx.Process(
            target=_dispense_worker,
            args=(sc.db.url, sc.cast.who(role), sc.cast.passwords[role], v1, bag, queue, meet),
        )
        for role in ("pharmacist", "pharmacist2")
    ]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    outcomes = [queue.get(timeout=5) for _ in procs]
    assert outcomes.count("dispensed") == 1
    (refusal,) = [o for o in outcomes if o != "dispensed"]
    assert "already dispensed" in refusal
    with sc.db.reader() as s:
        assert len(s.exec(select(Dispensing).where(Dispensing.unit_id == bag)).all()) == 1
    verify_ok(sc.db)
