"""A cryopreserved MSC bag is thawed by the pharmacy only for a visit of the MSC arm, so its
thaw must not reach a blinded reader: not on the batch record's bags and counts, not in a
refusal the lab can provoke (design §7; lottrack/manufacturing/thaws.py). Two subjects on
the same day: one whose period 1 is MSC (its bag thawed and dispensed), one whose period 1
is placebo (its bag untouched). On SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re

import pytest
from sqlmodel import func, select

from lottrack.demo.scenario import Scenario
from lottrack.kernel.errors import InvalidTransition
from lottrack.manufacturing import counts, formulation
from lottrack.manufacturing.counts import HemocytometerReplicate
from lottrack.storage.db import Database
from lottrack.storage.models import AuditEvent, ProductUnit, utcnow
from lottrack.trial import allocation
from lottrack.views import listings
from tests.factories import frozen_bag, frozen_lot

REPLICATES = [HemocytometerReplicate(90, 10, 4, 10), HemocytometerReplicate(92, 9, 4, 10)]
"""A post-thaw hemocytometer count (live, dead, squares, dilution)."""


@dataclasses.dataclass
class Pair:
    """The MSC subject's lot and bag, then the placebo subject's."""

    msc: tuple[int, int]
    placebo: tuple[int, int]


def _lot_of(sc: Scenario, bag: int) -> int:
    with sc.db.reader() as s:
        unit = s.get(ProductUnit, bag)
        assert unit is not None
        assert unit.lot_id is not None
        return unit.lot_id


def _period_one_dispensed(sc: Scenario) -> Pair:
    """Both subjects' lots released in one frozen bag; period 1 dispensed to both: the MSC
    subject's bag thawed by the pharmacy and dispensed, the other a placebo bag."""
    out = []
    for code, sequence in (
        ("TLS-701", allocation.MSC_FIRST),
        ("TLS-702", allocation.PLACEBO_FIRST),
    ):
        subject, bag = frozen_bag(sc, code)
        v1, _ = sc.enrol(subject, sequence, utcnow().date())
        if sequence == allocation.MSC_FIRST:
            with sc.db.session() as s:
                formulation.record_thaw(
                    s, sc.cast.who("pharmacist"), bag, utcnow() - dt.timedelta(minutes=5)
                )
            sc.dispense(v1, msc_bag=bag)
        else:
            sc.dispense(v1)
        out.append((_lot_of(sc, bag), bag))
    return Pair(out[0], out[1])


def _trail_length(db: Database) -> int:
    with db.reader() as s:
        return int(s.exec(select(func.count()).select_from(AuditEvent)).one())


def _same_words(text: str, *identifiers: str) -> str:
    for identifier in identifiers:
        text = text.replace(identifier, "<id>")
    return re.sub(r"\d+", "<n>", text)


def _identifiers(sc: Scenario, lot_id: int, bag: int) -> list[str]:
    with sc.db.reader() as s:
        unit = s.get(ProductUnit, bag)
        assert unit is not None
        lot = listings.lot_form_context(s, sc.cast.who("qa"), lot_id)
        return [unit.din, unit.division, lot.lot_number]


def test_blinded_readers_see_the_same_bags_and_counts_for_both_arms(sc: Scenario) -> None:
    pair = _period_one_dispensed(sc)
    for role in ("qa", "technician"):
        who = sc.cast.who(role)
        seen = []
        for lot_id, _bag in (pair.msc, pair.placebo):
            with sc.db.reader() as s:
                bags = formulation.bags_of_lot(s, who, lot_id)
                made = listings.lot_counts(s, who, lot_id)
            seen.append(
                (
                    [(b.status, b.thawed_at, b.cryopreserved, b.volume_ml) for b in bags],
                    [c.target for c in made],
                )
            )
        assert seen[0] == seen[1], role
        assert seen[0][0] == [("blinded", None, True, 50.0)]
    with sc.db.reader() as s:  # the pharmacy sees the thaw
        (bag,) = formulation.bags_of_lot(s, sc.cast.who("pharmacist"), pair.msc[0])
    assert bag.thawed_at is not None


def test_the_lab_thaws_no_bag_of_a_released_lot_in_the_same_words(sc: Scenario) -> None:
    """Without the rule the MSC subject's bag answered "it was already thawed" and the
    placebo subject's was thawed: the lab could tell the arm of period 1."""
    pair = _period_one_dispensed(sc)
    before = _trail_length(sc.db)
    words = []
    for lot_id, bag in (pair.msc, pair.placebo):

        def thaw(bag: int = bag) -> None:
            with sc.db.session() as s:
                formulation.record_thaw(s, sc.cast.who("technician"), bag, utcnow())

        with pytest.raises(InvalidTransition) as refused:
            thaw()
        assert "has been released; from its release on, the pharmacy thaws" in (
            refused.value.message
        )
        words.append(_same_words(refused.value.message, *_identifiers(sc, lot_id, bag)))
    assert words[0] == words[1]
    assert _trail_length(sc.db) == before


def test_a_count_after_the_pharmacy_thaw_is_refused_as_no_thaw(sc: Scenario) -> None:
    """The lab counting the MSC subject's bag (thawed by the pharmacy) hears what it hears
    for the untouched bag of the placebo subject, and nothing is stored."""
    pair = _period_one_dispensed(sc)
    before = _trail_length(sc.db)
    words = []
    for lot_id, bag in (pair.msc, pair.placebo):
        with pytest.raises(InvalidTransition) as refused, sc.db.session() as s:
            counts.record_count(
                s,
                sc.cast.who("technician"),
                lot_id=lot_id,
                target=counts.POST_THAW,
                unit_id=bag,
                method=counts.HEMOCYTOMETER,
                counted_at=utcnow(),
                replicates=REPLICATES,
            )
        assert refused.value.message.endswith("post-thaw: its thaw has not been recorded.")
        assert "K-" not in refused.value.message  # a bag by its division, never its kit code
        words.append(_same_words(refused.value.message, *_identifiers(sc, lot_id, bag)))
    assert words[0] == words[1]
    assert _trail_length(sc.db) == before


def test_the_lab_thaws_and_counts_before_release_and_the_release_covers_no_such_count(
    sc: Scenario,
) -> None:
    """The lab's own thaw (a post-thaw test before release) stays on the batch record for
    blinded readers; a post-thaw count is not part of what the release covers, so voiding
    one afterwards is not a "value changed after first entry" on the release certificate."""
    from lottrack.views.documents.builders import build_release_data

    _, lot_id, (kept, tested) = frozen_lot(sc, "TLS-703", bags=2, volume="25 mL")
    now = utcnow()
    tech = sc.cast.who("technician")
    with sc.db.session() as s:
        formulation.record_thaw(s, tech, tested, now - dt.timedelta(hours=3))
    with sc.db.session() as s:
        after_thaw = counts.record_count(
            s,
            tech,
            lot_id=lot_id,
            target=counts.POST_THAW,
            unit_id=tested,
            method=counts.HEMOCYTOMETER,
            counted_at=now - dt.timedelta(hours=2, minutes=50),
            replicates=REPLICATES,
        )
    sc.qc(lot_id, now - dt.timedelta(hours=2))
    sc.release(lot_id)
    for role in ("qa", "technician"):
        with sc.db.reader() as s:
            bags = {b.id: b for b in formulation.bags_of_lot(s, sc.cast.who(role), lot_id)}
            made_counts = listings.lot_counts(s, sc.cast.who(role), lot_id)
        assert bags[tested].thawed_at is not None, role
        assert bags[kept].thawed_at is None, role
        assert counts.POST_THAW in [c.target for c in made_counts], role
    with sc.db.session() as s:
        counts.void_count(s, tech, after_thaw.id, "counted the wrong chamber")
    with sc.db.reader() as s:
        data = build_release_data(s, sc.cast.who("qa"), lot_id)
    assert not [line for line in data.changed_after_first_entry if f"#{after_thaw.id} " in line]
