"""Parity with frozen bags (design §7): the pharmacy takes a subject's cryopreserved MSC
bag out of the store and thaws it only for a visit of the MSC arm; for a placebo visit
the bag stays frozen where the lab left it. Two subjects made and released alike, then
the same day recorded for each, one given its frozen MSC bag, the other a placebo, and
everything the lab, QA, the admin, the ward and the investigator can read or provoke
compared with identifiers, times and record numbers masked: the batch record (bags,
counts, custody, timeline, head, lot list), both audit views, the release certificate's
data, the ward's screens and documents, the exports, and the refusals the lab meets on
the bag afterwards. On SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import func, select

from lottrack.demo.scenario import Scenario
from lottrack.kernel.errors import LotTrackError
from lottrack.kernel.isbt128 import check_character
from lottrack.manufacturing import counts, formulation, passage_table
from lottrack.manufacturing.counts import HemocytometerReplicate
from lottrack.records.permissions import CurrentUser
from lottrack.storage.models import AuditEvent, Lot, ProductUnit, Subject, utcnow
from lottrack.trial import allocation, export, ward
from lottrack.trial import listings as trial_listings
from lottrack.views import listings
from lottrack.views.documents.blinded_builders import (
    build_infusion_data,
    build_label_data,
    find_unit,
)
from lottrack.views.documents.builders import build_release_data
from lottrack.views.documents.data import DinText
from lottrack.views.listings.audit_log import AuditQuery, audit_log
from tests.factories import frozen_lot
from tests.storage.test_arm_parity import _mask

STORE = "LN2 tank 2"
CODES = {allocation.MSC_FIRST: "TLS-801", allocation.PLACEBO_FIRST: "TLS-802"}
REPLICATES = [HemocytometerReplicate(90, 10, 4, 10), HemocytometerReplicate(92, 9, 4, 10)]


@dataclasses.dataclass
class Day:
    """One subject's frozen lot and its period 1."""

    subject_id: int
    lot_id: int
    bag: int
    visit_id: int = 0
    infusion_id: int = 0
    events: range = range(0)
    """The audit events (by ``seq``) the day wrote."""
    identifiers: list[str] = dataclasses.field(default_factory=list)


def _last_seq(sc: Scenario) -> int:
    with sc.db.reader() as s:
        return int(s.exec(select(func.max(AuditEvent.seq))).one() or 0)


def _released_frozen_lot(sc: Scenario, code: str) -> Day:
    """The lab formulates one cryopreserved bag, stores it in the LN2 tank, QA releases."""
    subject, lot_id, (bag,) = frozen_lot(sc, code)
    with sc.db.session() as s:
        formulation.record_custody(
            s,
            sc.cast.who("technician"),
            unit_id=bag,
            from_location="Cleanroom B",
            to_location=STORE,
            at=utcnow() - dt.timedelta(hours=3, minutes=50),
            temperature_text="-160 °C",
        )
    sc.qc(lot_id, utcnow() - dt.timedelta(hours=3))
    sc.release(lot_id)
    return Day(subject, lot_id, bag)


def _period_one(sc: Scenario, day: Day, sequence: str) -> None:
    """Enrol and dispense period 1 (the pharmacy fetches and thaws the frozen bag for the
    MSC arm, prepares a placebo otherwise), the ward moves the bag and infuses it."""
    first = _last_seq(sc) + 1
    day.visit_id, _ = sc.enrol(day.subject_id, sequence, utcnow().date())
    pharmacist = sc.cast.who("pharmacist")
    if sequence == allocation.MSC_FIRST:
        with sc.db.session() as s:
            formulation.record_custody(
                s,
                pharmacist,
                unit_id=day.bag,
                from_location=STORE,
                to_location="Pharmacy thaw bench",
                at=utcnow() - dt.timedelta(minutes=8),
                temperature_text="-160 °C",
            )
        with sc.db.session() as s:
            formulation.record_thaw(s, pharmacist, day.bag, utcnow() - dt.timedelta(minutes=5))
        sc.dispense(day.visit_id, msc_bag=day.bag)
    else:
        sc.dispense(day.visit_id)
    nurse = sc.cast.who("clinician")
    with sc.db.reader() as s:
        kit = ward.ward_visit(s, nurse, day.visit_id).kit_code
    with sc.db.session() as s:
        formulation.record_custody(
            s,
            nurse,
            kit_code=kit,
            from_location="Pharmacy",
            to_location="Ward 3",
            at=utcnow(),
            temperature_text="20 °C",
        )
    day.infusion_id = sc.infuse(day.visit_id, reactions="mild chills", grade=1)
    day.events = range(first, _last_seq(sc) + 1)
    with sc.db.reader() as s:
        lot = s.get(Lot, day.lot_id)
        subject = s.get(Subject, day.subject_id)
        assert lot is not None
        assert subject is not None
        ids = [subject.code, lot.lot_number, subject.coi_id]
        for u in s.exec(select(ProductUnit).where(ProductUnit.subject_id == day.subject_id)):
            eye = f"{u.din[:5]} {u.din[5:7]} {u.din[7:]}"
            ids += [u.kit_code, u.din + check_character(u.din), u.din, u.product_code]
            ids += [f"bag {u.division}", f"Bag {u.division}", eye]
    day.identifiers = ids


def _two_days(sc: Scenario) -> dict[str, Day]:
    """Both lots made and released first, then period 1 of each, MSC subject first."""
    days = {seq: _released_frozen_lot(sc, code) for seq, code in CODES.items()}
    for sequence, day in days.items():
        _period_one(sc, day, sequence)
    return days


def _no_check(din: DinText) -> DinText:
    """The DIN's check character (part of an identifier, one character) masked."""
    return dataclasses.replace(din, check="<C>")


def _batch_record(sc: Scenario, day: Day) -> dict[str, Any]:
    """The lab's and QA's batch record of the lot, and the admin's and QA's audit views."""
    out: dict[str, Any] = {}
    for role in ("technician", "qa"):
        who = sc.cast.who(role)
        with sc.db.reader() as s:
            out[f"bags ({role})"] = formulation.bags_of_lot(s, who, day.lot_id)
            out[f"counts ({role})"] = listings.lot_counts(s, who, day.lot_id)
            out[f"custody ({role})"] = listings.lot_custody(s, who, day.lot_id)
            out[f"timeline ({role})"] = listings.lot_timeline(s, who, day.lot_id)
            out[f"head ({role})"] = passage_table.lot_summary(s, who, day.lot_id)
            out[f"next step ({role})"] = listings.lot_next_step(s, who, day.lot_id)
        page = listings.lot_page(sc.db, who, search=day.identifiers[0])
        out[f"lot list ({role})"] = page.rows
    for role in ("qa", "admin"):
        who = sc.cast.who(role)
        with sc.db.reader() as s:
            out[f"lot audit trail ({role})"] = listings.named(
                s, who, listings.lot_audit_trail(s, who, day.lot_id)
            )
            whole = audit_log(s, who, AuditQuery(), limit=100_000).rows
        out[f"audit log of the day ({role})"] = [r for r in whole if r.seq in day.events]
    with sc.db.reader() as s:
        data = build_release_data(s, sc.cast.who("qa"), day.lot_id)
    out["release certificate (qa)"] = dataclasses.replace(data, din=_no_check(data.din))
    return out


def _ward(sc: Scenario, day: Day, tmp: Path) -> dict[str, Any]:
    """The ward's and the investigator's screens, documents and exports of the visit."""
    out: dict[str, Any] = {}
    for role in ("clinician", "investigator"):
        who = sc.cast.who(role)
        with sc.db.reader() as s:
            out[f"visits ({role})"] = ward.ward_visits(s, who, subject_ids=[day.subject_id])
            detail = trial_listings.ward_visit_detail(s, who, day.visit_id)
            assert detail.weight is not None  # its age rounded: the days were recorded apart
            weight = dataclasses.replace(detail.weight, age_days=round(detail.weight.age_days, 2))
            out[f"visit detail ({role})"] = dataclasses.replace(detail, weight=weight)
            kit = ward.ward_visit(s, who, day.visit_id).kit_code
            assert kit is not None
        with sc.db.session() as s:
            label = build_label_data(s, who, find_unit(s, who, kit))
            infusion = build_infusion_data(s, who, day.infusion_id)
        out[f"label ({role})"] = dataclasses.replace(label, din=_no_check(label.din))
        out[f"infusion certificate ({role})"] = dataclasses.replace(
            infusion, din=_no_check(infusion.din)
        )
    for role in ("clinician", "qa", "technician"):
        folder = tmp / f"{day.subject_id}-{role}"
        try:
            with sc.db.session() as s:
                export.export(s, sc.cast.who(role), fmt="json", directory=folder)
        except LotTrackError as refused:
            out[f"export ({role})"] = refused.message
            continue
        for file in sorted(folder.iterdir()):
            rows = json.loads(file.read_text())
            out[f"export ({role}) {file.name}"] = [
                r for r in rows if r.get("subject_code") in day.identifiers
            ]
    return out


def _compare(seen: dict[str, dict[str, Any]]) -> dict[str, Any]:
    msc, placebo = seen[allocation.MSC_FIRST], seen[allocation.PLACEBO_FIRST]
    assert msc.keys() == placebo.keys()
    differ = {k: (msc[k], placebo[k]) for k in msc if msc[k] != placebo[k]}
    assert not differ, sorted(differ)
    return msc


def test_the_lab_and_qa_read_the_same_batch_record_and_audit_for_both_arms(
    sc: Scenario,
) -> None:
    """Without hiding the pharmacy's moves, the MSC subject's lot showed the move from the
    LN2 tank to the pharmacy's thaw bench minutes before the dispensing (custody, timeline,
    the lot's audit trail); the audit log showed the pharmacy's thaw and its moves of the
    MSC bag, and the insert of the placebo bag, next to the dispensing of the visit."""
    days = _two_days(sc)
    seen = {
        seq: {k: _mask(v, day.identifiers) for k, v in _batch_record(sc, day).items()}
        for seq, day in days.items()
    }
    msc = _compare(seen)
    # the comparison had something to compare
    assert [(m["from_location"], m["to_location"]) for m in msc["custody (qa)"]] == [
        ("Cleanroom B", STORE)
    ]
    assert msc["bags (technician)"][0]["status"] == "blinded"
    assert msc["bags (technician)"][0]["thawed_at"] is None
    assert {r["action"] for r in msc["audit log of the day (qa)"]} >= {"insert", "update"}
    assert any(
        r["record"].startswith("Dispensing for period 1 of")
        for r in msc["audit log of the day (qa)"]
    )
    assert not [r for r in msc["audit log of the day (qa)"] if r["username"] == "technician"]
    pharmacist, day = sc.cast.who("pharmacist"), days[allocation.MSC_FIRST]
    with sc.db.reader() as s:  # the pharmacy still reads all of it, by kit code
        pharmacy = listings.lot_custody(s, pharmacist, day.lot_id)
        timeline = [e.what for e in listings.lot_timeline(s, pharmacist, day.lot_id)]
        kit = s.get(ProductUnit, day.bag).kit_code  # type: ignore[union-attr]
    assert [m.to_location for m in pharmacy] == [STORE, "Pharmacy thaw bench", "Ward 3"]
    assert f"{kit}: {STORE} → Pharmacy thaw bench" in timeline


def test_the_ward_and_the_investigator_read_the_same_visit_for_both_arms(
    sc: Scenario, tmp_path: Path
) -> None:
    """The frozen MSC bag thawed minutes before dispensing and the placebo prepared then:
    the same use-by, storage, volume, state and documents at the bedside."""
    days = _two_days(sc)
    seen = {
        seq: {k: _mask(v, day.identifiers) for k, v in _ward(sc, day, tmp_path).items()}
        for seq, day in days.items()
    }
    msc = _compare(seen)
    assert msc["visit detail (clinician)"]["state"] == "infused"
    assert msc["label (clinician)"]["storage_temperature"] == "vapour-phase LN2"
    assert msc["infusion certificate (clinician)"]["reactions"] == "mild chills"
    assert msc["export (clinician) visits.json"]


def _count_the_bag(sc: Scenario, who: CurrentUser, day: Day) -> None:
    """``who`` records a post-thaw count of the day's bag."""
    with sc.db.session() as s:
        counts.record_count(
            s,
            who,
            lot_id=day.lot_id,
            target=counts.POST_THAW,
            unit_id=day.bag,
            method=counts.HEMOCYTOMETER,
            counted_at=utcnow(),
            replicates=REPLICATES,
        )


def _lab_refusals(sc: Scenario, day: Day) -> dict[str, str]:
    """What the lab hears when it handles the bag after the day (nothing is stored)."""
    tech = sc.cast.who("technician")

    def refused(fn: Callable[[], object]) -> str:
        before = _last_seq(sc)
        with pytest.raises(LotTrackError) as info:
            fn()
        assert _last_seq(sc) == before
        return f"{type(info.value).__name__}: {info.value.message}"

    def move(origin: str) -> None:
        with sc.db.session() as s:
            formulation.record_custody(
                s, tech, unit_id=day.bag, from_location=origin, to_location="QC lab", at=utcnow()
            )

    def thaw() -> None:
        with sc.db.session() as s:
            formulation.record_thaw(s, tech, day.bag, utcnow())

    def count() -> None:
        _count_the_bag(sc, tech, day)

    return {
        "move from where the lab left it": refused(lambda: move(STORE)),
        "move from the ward": refused(lambda: move("Ward 3")),
        "move from the pharmacy": refused(lambda: move("Pharmacy thaw bench")),
        "thaw": refused(thaw),
        "post-thaw count": refused(count),
    }


def test_the_lab_handles_no_bag_of_a_released_lot_in_the_same_words(sc: Scenario) -> None:
    """Without the rule, the lab's move of the placebo subject's bag from the LN2 tank was
    recorded, and the MSC subject's was refused as last recorded on the ward: the lab
    could tell which subject had MSC. From a lot's first release on the lab records no
    move of its bags, in the same words for both, before any word about the bag."""
    days = _two_days(sc)
    seen = {seq: _lab_refusals(sc, day) for seq, day in days.items()}
    masked = {
        seq: {k: _mask(v, days[seq].identifiers) for k, v in out.items()}
        for seq, out in seen.items()
    }
    msc = _compare(masked)
    assert msc["move from where the lab left it"] == (
        "InvalidTransition: Cannot move <ID> (subject <ID>, DIN <ID>): lot <ID> has been "
        "released; from its release on, the pharmacy records its bags' moves."
    )


def test_a_count_of_the_pharmacys_thaw_is_in_no_blinded_head(
    sc: Scenario, make_user: Callable[..., CurrentUser]
) -> None:
    """A person who is both technician and pharmacist (design §1) may count the bag the
    pharmacy thawed, which only the MSC arm's is. The lot's counts hid that count from
    blinded readers, but the head of the batch record counted it: one count more for the
    MSC subject's lot than for the placebo subject's."""
    days = _two_days(sc)
    both = make_user("technician", "pharmacist")
    msc = days[allocation.MSC_FIRST]
    _count_the_bag(sc, both, msc)
    for role in ("technician", "qa"):
        who = sc.cast.who(role)
        heads = {}
        with sc.db.reader() as s:
            for seq, day in days.items():
                head = passage_table.lot_summary(s, who, day.lot_id)
                assert head.counts == len(listings.lot_counts(s, who, day.lot_id)), role
                heads[seq] = (head.counts, head.counts_needing_recount)
        assert heads[allocation.MSC_FIRST] == heads[allocation.PLACEBO_FIRST], role
    with sc.db.reader() as s:  # the pharmacy's people read it
        counted = passage_table.lot_summary(s, both, msc.lot_id).counts
        placebo = passage_table.lot_summary(s, both, days[allocation.PLACEBO_FIRST].lot_id)
    assert counted == placebo.counts + 1
