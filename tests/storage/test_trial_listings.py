"""Read-only listings of the pharmacy and the ward (design §7, §8), on both backends."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from typing import Any

import pytest
from sqlmodel import select

from lottrack.demo.scenario import Scenario
from lottrack.kernel.errors import PermissionDenied, ValidationError
from lottrack.storage.db import Database
from lottrack.storage.models import AuditEvent, Dispensing, ProductUnit, utcnow
from lottrack.trial import dispensing, listings
from lottrack.trial.allocation import MSC_FIRST, PLACEBO_FIRST
from tests.factories import statements_sent

DOB = dt.date(1968, 7, 14)


def _subject(
    sc: Scenario, code: str, sequence: str, *, release: bool = True
) -> tuple[int, int, tuple[int, int]]:
    """(subject id, MSC bag id, visit ids) of a subject with one fresh bag."""
    subject = sc.subject(code, DOB)
    lot_id, bag = sc.made_lot(subject)
    if release:
        sc.release(lot_id)
    return subject, bag, sc.enrol(subject, sequence, utcnow().date())


def _audit_count(db: Database) -> int:
    with db.reader() as s:
        return len(s.exec(select(AuditEvent.id)).all())


def test_visits_due_show_the_arm_and_bags_to_the_pharmacy_only(sc: Scenario) -> None:
    _, bag, (v1, v2) = _subject(sc, "TLS-401", MSC_FIRST)
    _subject(sc, "TLS-402", PLACEBO_FIRST)
    with sc.db.reader() as s:
        due = listings.visits_due(s, sc.cast.who("pharmacist")).visits
    assert [(d.subject_code, d.period, d.arm, d.available_bags) for d in due] == [
        ("TLS-401", 1, "msc", 1),
        ("TLS-402", 1, "placebo", 1),
        ("TLS-401", 2, "placebo", 1),
        ("TLS-402", 2, "msc", 1),
    ]
    sc.dispense(v1, msc_bag=bag)
    with sc.db.reader() as s:
        due = listings.visits_due(s, sc.cast.who("pharmacist")).visits
        waiting = listings.awaiting_verification(s, sc.cast.who("pharmacist"))
    assert v1 not in {d.visit_id for d in due}
    assert next(d for d in due if d.visit_id == v2).available_bags == 0
    assert waiting == []  # sc.dispense also verified it
    for role in ("clinician", "technician", "investigator"):
        with pytest.raises(PermissionDenied), sc.db.reader() as s:
            listings.visits_due(s, sc.cast.who(role))


def test_visits_due_lists_the_soonest_and_counts_every_planned_visit(sc: Scenario) -> None:
    _, bag, (v1, _) = _subject(sc, "TLS-404", MSC_FIRST)
    _subject(sc, "TLS-405", PLACEBO_FIRST)
    pharmacist = sc.cast.who("pharmacist")
    with sc.db.reader() as s:
        whole = listings.visits_due(s, pharmacist)
        first = listings.visits_due(s, pharmacist, limit=3)
        nonsense = listings.visits_due(s, pharmacist, limit=-5)
    assert whole.total == len(whole.visits) == 4
    assert (first.visits, first.total) == (whole.visits[:3], 4)
    assert (nonsense.visits, nonsense.total) == (whole.visits[:1], 4)
    sc.dispense(v1, msc_bag=bag)
    with sc.db.reader() as s:
        assert listings.visits_due(s, pharmacist, limit=3).total == 3


def test_pharmacy_visit_lists_bags_media_and_weight(sc: Scenario) -> None:
    _, bag, (v1, _) = _subject(sc, "TLS-403", MSC_FIRST)
    with sc.db.reader() as s:
        visit = listings.pharmacy_visit(s, sc.cast.who("pharmacist"), v1)
    assert (visit.subject_code, visit.period, visit.arm, visit.status) == (
        "TLS-403",
        1,
        "msc",
        "planned",
    )
    assert [b.unit_id for b in visit.bags] == [bag]
    assert re.fullmatch(r"A9999 \d\d \d{6} [0-9A-Z*]", visit.bags[0].din)
    assert visit.bags[0].lot_status == "released"
    assert [m.lot_number for m in visit.media] == ["SM-88"]
    assert visit.weight is not None
    assert (visit.weight.weight_kg, visit.weight.fresh, visit.weight.warning) == (70, True, None)
    assert visit.dispensed is None
    with pytest.raises(PermissionDenied), sc.db.reader() as s:
        listings.pharmacy_visit(s, sc.cast.who("clinician"), v1)


def test_the_dry_run_matches_the_signed_checks_and_writes_nothing(sc: Scenario) -> None:
    _, bag, (v1, v2) = _subject(sc, "TLS-404", MSC_FIRST)
    pharmacist = sc.cast.who("pharmacist")
    before = _audit_count(sc.db)
    with sc.db.reader() as s:
        preview = listings.preview_dispensing(s, pharmacist, visit_id=v1, unit_id=bag)
        wrong_arm = listings.preview_dispensing(s, pharmacist, visit_id=v2, unit_id=bag)
        placebo = listings.preview_dispensing(
            s, pharmacist, visit_id=v2, placebo_reagent_lot_id=sc.media_id
        )
    assert _audit_count(sc.db) == before
    with sc.db.reader() as s:
        assert len(s.exec(select(ProductUnit)).all()) == 1  # no placebo bag was made
    assert preview.ready
    assert placebo.ready
    assert [c.number for c in preview.checks] == [1, 2, 3, 4, 5, 6]
    assert preview.dose is not None
    assert preview.dose.within
    assert preview.dose.volume_ml_min is not None
    assert preview.dose.volume_ml_max is not None
    assert preview.dose.volume_ml_min < 50 < preview.dose.volume_ml_max
    assert placebo.dose is None
    assert placebo.checks[4].detail == "not applicable (placebo)"
    assert not wrong_arm.ready
    assert [c.number for c in wrong_arm.checks if not c.passed] == [6]
    prep = sc.dispense(v1, msc_bag=bag)
    with sc.db.reader() as s:
        stored = s.exec(select(Dispensing).where(Dispensing.id == prep)).one()
        signed = dispensing.checks_of(s, pharmacist, prep)[:6]
        verify = listings.preview_verification(s, sc.cast.who("pharmacist2"), prep)
    assert stored.status == "verified"
    assert [(c.number, c.name, c.passed) for c in signed] == [
        (c.number, c.name, c.passed) for c in preview.checks
    ]
    assert [c.number for c in verify] == [1, 2, 3]
    assert all(c.passed for c in verify)


def test_an_unreleased_bag_fails_check_2_in_the_dry_run(sc: Scenario) -> None:
    _, bag, (v1, _) = _subject(sc, "TLS-405", MSC_FIRST, release=False)
    with sc.db.reader() as s:
        preview = listings.preview_dispensing(
            s, sc.cast.who("pharmacist"), visit_id=v1, unit_id=bag
        )
        visit = listings.pharmacy_visit(s, sc.cast.who("pharmacist"), v1)
    assert [c.number for c in preview.checks if not c.passed] == [2]
    assert visit.bags[0].lot_status == "awaiting-release"


def test_awaiting_verification_lists_a_prepared_dispensing(sc: Scenario) -> None:
    from lottrack.trial import dispensing

    _, bag, (v1, _) = _subject(sc, "TLS-406", MSC_FIRST)
    with sc.db.session() as s:
        prep = dispensing.prepare(
            s, sc.cast.who("pharmacist"), sc.cast.creds("pharmacist"), visit_id=v1, unit_id=bag
        )
    with sc.db.reader() as s:
        waiting = listings.awaiting_verification(s, sc.cast.who("pharmacist2"))
        visit = listings.pharmacy_visit(s, sc.cast.who("pharmacist"), v1)
    assert [
        (w.dispensing_id, w.subject_code, w.arm, w.kit_code, w.prepared_by_id) for w in waiting
    ] == [(prep.dispensing_id, "TLS-406", "msc", prep.kit_code, sc.cast.who("pharmacist").id)]
    assert visit.dispensed is not None
    assert (visit.dispensed.status, visit.dispensed.verified_by) == ("prepared", None)


# ------------------------------------------------------------------------ blinding


_TIMES = re.compile(r"\d{4}-\d\d-\d\d([ T]\d\d:\d\d(:\d\d(\.\d+)?)?([+-]\d\d:\d\d)?)?")


def _masked(value: Any, codes: dict[str, str]) -> Any:
    """Identifiers and times replaced by placeholders (the same ones for both arms)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = dataclasses.asdict(value)
    if isinstance(value, dict):
        return {
            k: "<time>" if k == "age_days" else _masked(v, codes)
            for k, v in value.items()
            if k not in ("visit_id", "infusion_id", "subject_id")
        }
    if isinstance(value, list | tuple):
        return [_masked(v, codes) for v in value]
    if isinstance(value, dt.date | dt.datetime):
        return "<time>"
    if isinstance(value, str):
        for real, placeholder in codes.items():
            value = value.replace(real, placeholder)
        return _TIMES.sub("<time>", value)
    return value


def _identifiers(code: str, view: Any) -> dict[str, str]:
    out = {code: "<subject>"}
    if view.kit_code:
        out.update({view.kit_code: "<kit>", view.din: "<din>"})
    return out


def test_the_ward_listing_is_identical_for_msc_and_placebo(sc: Scenario) -> None:
    _, bag_a, (a1, _) = _subject(sc, "TLS-501", MSC_FIRST)
    _, _, (b1, _) = _subject(sc, "TLS-502", PLACEBO_FIRST)
    nurse = sc.cast.who("clinician")

    def both() -> tuple[Any, Any, Any, Any]:
        with sc.db.reader() as s:
            page = listings.ward_patients(s, nurse)
            detail_a = listings.ward_visit_detail(s, nurse, a1)
            detail_b = listings.ward_visit_detail(s, nurse, b1)
        codes_a = _identifiers("TLS-501", detail_a.visit)
        codes_b = _identifiers("TLS-502", detail_b.visit)
        rows_a = [r for r in page.rows if r.subject_code == "TLS-501"]
        rows_b = [r for r in page.rows if r.subject_code == "TLS-502"]
        return (
            _masked(rows_a, codes_a),
            _masked(rows_b, codes_b),
            _masked(detail_a, codes_a),
            _masked(detail_b, codes_b),
        )

    def same(expected_state: str) -> None:
        rows_a, rows_b, detail_a, detail_b = both()
        assert rows_a == rows_b
        assert detail_a == detail_b
        assert detail_a["state"] == expected_state

    same("waiting for the pharmacy")
    sc.dispense(a1, msc_bag=bag_a)
    sc.dispense(b1)
    same("ready for bedside check")
    sc.infuse(a1)
    sc.infuse(b1)
    same("infused")
    with sc.db.reader() as s:
        page = listings.ward_patients(s, nurse)
    assert page.total_patients == 2
    assert [(r.subject_code, r.period) for r in page.rows] == [
        ("TLS-501", 1),
        ("TLS-501", 2),
        ("TLS-502", 1),
        ("TLS-502", 2),
    ]


def test_the_ward_listing_pages_patients_and_refuses_the_pharmacy(sc: Scenario) -> None:
    for n in range(3):
        sc.subject(f"TLS-60{n}", DOB)
    nurse = sc.cast.who("clinician")
    with sc.db.reader() as s:
        first = listings.ward_patients(s, nurse, limit=2)
        rest = listings.ward_patients(s, nurse, offset=2, limit=2)
    assert [r.subject_code for r in first.rows] == ["TLS-600", "TLS-601"]
    assert [(r.subject_code, r.visit_id, r.state) for r in rest.rows] == [
        ("TLS-602", None, "no visit scheduled")
    ]
    assert first.total_patients == rest.total_patients == 3
    with pytest.raises(PermissionDenied), sc.db.reader() as s:
        listings.ward_patients(s, sc.cast.who("pharmacist"))


def test_the_ward_listing_reads_a_fixed_number_of_statements(sc: Scenario) -> None:
    """The ward's home reads a page of patients in the same statements for one patient
    as for three with visits dispensed and infused (it read four to six per visit)."""
    nurse = sc.cast.who("clinician")
    _, bag, (v1, _) = _subject(sc, "TLS-801", MSC_FIRST)
    sc.dispense(v1, msc_bag=bag)
    sc.infuse(v1)
    one = statements_sent(sc.db, lambda s: listings.ward_patients(s, nurse))
    for code, sequence in (("TLS-802", PLACEBO_FIRST), ("TLS-803", MSC_FIRST)):
        _, bag, (first, _) = _subject(sc, code, sequence)
        sc.dispense(first, msc_bag=bag if sequence == MSC_FIRST else None)
        sc.infuse(first)
    assert statements_sent(sc.db, lambda s: listings.ward_patients(s, nurse)) == one
    with sc.db.reader() as s:
        page = listings.ward_patients(s, nurse)
    assert [(r.subject_code, r.period, r.state) for r in page.rows if r.period == 1] == [
        ("TLS-801", 1, "infused"),
        ("TLS-802", 1, "infused"),
        ("TLS-803", 1, "infused"),
    ]


def test_unblinding_lookups_are_for_investigators(sc: Scenario) -> None:
    subject, _, _ = _subject(sc, "TLS-701", MSC_FIRST)
    inv = sc.cast.who("investigator")
    with sc.db.reader() as s:
        found = listings.subject_for_unblinding(s, inv, " tls-701 ")
        assert listings.unblinded_subjects(s, inv) == []
    assert (found.subject_id, found.code, found.unblinded_at) == (subject, "TLS-701", None)
    with pytest.raises(PermissionDenied), sc.db.reader() as s:
        listings.subject_for_unblinding(s, sc.cast.who("clinician"), "TLS-701")
    for typed, says in (("TLS-\x00701", "control or invisible"), ("  ", "nothing was typed")):
        with pytest.raises(ValidationError, match=says), sc.db.reader() as s:
            listings.subject_for_unblinding(s, inv, typed)
