"""One day at the facility through the terminal UI, in one SQLite file, across roles.

A technician records a bone-marrow harvest (starting its lot), three expansion
passages, two hemocytometer counts through the calculator, the formulation and every
required QC result; QA (another person) releases the lot with a signature; a pharmacist
dispenses the bag for the subject's MSC visit and signs the dose, a second pharmacist
verifies it; the blinded ward nurse checks identity at the bedside and records the
infusion, signed. Each person logs out (ctrl+l) and the next logs in.

Only what a site holds before the day starts is written with services: the site, the
people, specification v1, released reagent lots, and the subject enrolled (allocated
MSC-first, visits scheduled) with a weight from yesterday. Everything else is typed,
and the records are then read back through the core. The clock is the real one, in the
site's zone: the fresh bag must be in date and the weight recent when the pharmacy signs.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func
from sqlmodel import col, select
from textual import events
from textual.app import App
from textual.dom import DOMNode
from textual.pilot import Pilot

from lottrack.demo import database as demo
from lottrack.demo.scenario import CONFORMING_QC, Cast, Scenario
from lottrack.install import bootstrap
from lottrack.manufacturing import lots
from lottrack.records import accounts
from lottrack.records.permissions import CurrentUser
from lottrack.records.signatures import view
from lottrack.release import disposition
from lottrack.storage.db import Database
from lottrack.storage.models import (
    CellCount,
    CountReplicate,
    Dispensing,
    DispensingCheck,
    Disposition,
    Harvest,
    Infusion,
    Lot,
    Passage,
    PassageReagent,
    ProductUnit,
    QCResult,
    Signature,
    SpecItem,
    User,
    Visit,
    utcnow,
)
from lottrack.trial.allocation import MSC_FIRST
from lottrack.trial.dispensing import dispensing_content
from tests.conftest import add_account, verify_ok
from tests.tui.helpers import login, screen_text, settle, shown
from tui.app import make_app
from tui.common.login import LoginScreen
from tui.dialogs.moment import MomentModal
from tui.dialogs.signature import SignatureModal
from tui.home import HomeScreen
from tui.manufacturing.forms.count import CountForm
from tui.manufacturing.forms.formulation import FormulationForm
from tui.manufacturing.forms.harvest import HarvestForm
from tui.manufacturing.forms.passage_harvest import PassageHarvestForm
from tui.manufacturing.forms.passage_seed import PassageSeedForm
from tui.manufacturing.forms.qc_result import QCResultForm
from tui.manufacturing.lot_detail import LotDetailScreen
from tui.pharmacy.verify import PharmacyVerifyScreen
from tui.pharmacy.visit import PharmacyVisitScreen
from tui.qa.decision_form import DecisionForm
from tui.qa.review import QAReviewScreen
from tui.ward.bedside import BedsideModal
from tui.ward.infusion_end import InfusionEndModal
from tui.ward.visit import WardVisitScreen

pytestmark = pytest.mark.asyncio
Row = TypeVar("Row")

SITE_ZONE = ZoneInfo("Europe/Berlin")  # the zone Scenario.create gives the site
TYPED = "%Y-%m-%d %H:%M"
SUBJECT, INITIALS, BORN = "TLS-201", "RB", dt.date(1968, 7, 21)
PASSWORDS = {u.username: u.password for u in demo.DEMO_USERS}
CAST = {
    "admin": "admin",
    "technician": "tech",
    "qa": "qa",
    "pharmacist": "pharm",
    "pharmacist2": "pharm2",
    "clinician": "ward",
    "investigator": "inv",
}

#: (seeded, area, vessels, hours in culture, harvested, viability) for P0, P1, P2.
PASSAGES = (
    ("5e6 cells", "175 cm2", "1 x T175 flask", 96, "4.0e7 cells", "95 %"),
    ("1.0e7 cells", "636 cm2", "1 x CellSTACK-1", 72, "8.0e7 cells", "94 %"),
    ("2.0e7 cells", "1272 cm2", "2 x CellSTACK-1", 60, "1.4e8 cells", "96 %"),
)
#: Hemocytometer replicates (live, dead) at 4 squares, dilution 10.
P2_COUNT = (("50", "2"), ("52", "3"))
FINAL_COUNT = (("100", "4"), ("104", "5"))
#: Every result the specification requires for release, with the text that picks its
#: test in the form's list (type-to-search) — conforming values from the scenario.
REQUIRED_QC = (
    ("fr", "viability_fresh"),
    ("73", "cd73"),
    ("90", "cd90"),
    ("105", "cd105"),
    ("45", "cd45"),
    ("34", "cd34"),
    ("14", "cd14"),
    ("19", "cd19"),
    ("hl", "hla_dr"),
    ("st", "sterility"),
    ("my", "mycoplasma"),
    ("en", "endotoxin"),
)


def site_clock() -> dt.datetime:
    """The real time, shown in the site's zone (what the facility's terminals show)."""
    return dt.datetime.now(SITE_ZONE)


def typed(moment: dt.datetime) -> str:
    """A time as a technician types it: site-local ``YYYY-MM-DD HH:MM``."""
    return moment.astimezone(SITE_ZONE).strftime(TYPED)


def as_read(moment: dt.datetime) -> dt.datetime:
    """The moment the form reads from ``typed(moment)`` (what is stored)."""
    return dt.datetime.strptime(typed(moment), TYPED).replace(tzinfo=SITE_ZONE)


@dataclass(frozen=True)
class Plan:
    """When each step of the lot happened, counted back from now: the last passage was
    harvested three hours ago, the bag formulated within its 24-hour shelf life."""

    collected: dt.datetime
    seeded: tuple[dt.datetime, ...]
    harvested: tuple[dt.datetime, ...]
    p2_counted: dt.datetime
    final_counted: dt.datetime
    formulated: dt.datetime
    tested: dt.datetime

    @classmethod
    def back_from(cls, now: dt.datetime) -> Plan:
        """The plan for a day whose present is ``now``."""
        seeded: list[dt.datetime] = []
        harvested: list[dt.datetime] = []
        end = now - dt.timedelta(hours=3)
        for *_, hours, _, _ in reversed(PASSAGES):  # P2, P1, P0
            harvested.insert(0, end)
            seeded.insert(0, end - dt.timedelta(hours=hours))
            end = seeded[0] - dt.timedelta(minutes=30)  # the passage before: just harvested
        return cls(
            collected=seeded[0] - dt.timedelta(hours=2),
            seeded=tuple(seeded),
            harvested=tuple(harvested),
            p2_counted=now - dt.timedelta(hours=2, minutes=45),
            final_counted=now - dt.timedelta(hours=2, minutes=15),
            formulated=now - dt.timedelta(hours=1, minutes=45),
            tested=now - dt.timedelta(hours=1),
        )


# ---------------------------------------------------------------- before the day


def seed_site(db: Database) -> tuple[int, tuple[int, int]]:
    """What the site holds when the day starts; returns the subject id and visit ids."""
    bootstrap.initialise(db)  # schema and specification v1
    with db.session() as session:
        admin = CurrentUser.of(
            accounts.create_first_admin(session, "admin", "Ada Admin", PASSWORDS["admin"])
        )
    people = {"admin": admin}
    for person in demo.DEMO_USERS[1:]:
        with db.session() as session:
            people[person.username] = add_account(
                session,
                admin,
                username=person.username,
                full_name=person.full_name,
                roles=person.roles,
                password=person.password,
            )
    cast = Cast(
        {part: people[name] for part, name in CAST.items()},
        {part: PASSWORDS[name] for part, name in CAST.items()},
    )
    site = Scenario.create(db, cast)  # the site and its released reagent lots
    subject_id = site.subject(SUBJECT, BORN, INITIALS)
    visit_ids = site.enrol(subject_id, MSC_FIRST, site_clock().date())
    site.weight(subject_id, "70 kg", utcnow() - dt.timedelta(days=1))
    return subject_id, visit_ids


# ------------------------------------------------------------------ keyboard


def field_of(app: App[None]) -> str:
    """The id of the field that has the cursor (the focused widget or its container)."""
    node: DOMNode | None = app.focused
    while node is not None:
        if node.id:
            return node.id
        node = node.parent
    return ""


TAB, ENTER, SPACE, DOWN, SAVE = "tab", "enter", "space", "down", "ctrl+s"
KEY_CHARACTERS = {TAB: "\t", ENTER: "\r", SPACE: " ", DOWN: None, SAVE: None, "ctrl+l": None}


def key_name(character: str) -> str:
    """Textual's name of the key that types ``character`` (``-`` is ``minus``)."""
    if character.isalnum():
        return character
    return unicodedata.name(character).lower().replace("-", "_").replace(" ", "_")


def press_at_once(pilot: Pilot[None], *strokes: str) -> None:
    """Press keys without waiting between them (``KEY_CHARACTERS`` names, or characters)."""
    for stroke in strokes:
        key, character = (
            (stroke, KEY_CHARACTERS[stroke])
            if stroke in KEY_CHARACTERS
            else (key_name(stroke), stroke)
        )
        pilot.app.post_message(events.Key(key, character))


async def keys(pilot: Pilot[None], *strokes: str) -> None:
    """Work as a fast typist does: every stroke goes in at once, then wait for the result.

    A stroke is a key (``TAB``, ``ENTER``, ``SPACE``, ``DOWN``, ``SAVE``) or text for the
    field that has the cursor, arriving as one paste (as ``helpers.type_text`` types).
    Tab and Enter move the cursor at once (priority bindings of the forms, the login and
    the dialogs), so what follows lands in the next field — the screens promise that to
    typists and scanners; a field entered selects what it holds, so typing replaces a
    default.
    """
    for stroke in strokes:
        if stroke in KEY_CHARACTERS:
            press_at_once(pilot, stroke)
        else:
            pilot.app.post_message(events.Paste(stroke))  # to the focus when it arrives
    await settle(pilot)


async def choose(pilot: Pilot[None], field: str, search: str) -> None:
    """Open the picker that has the cursor, type to find the option and take it."""
    assert field_of(pilot.app) == field, (field_of(pilot.app), field)
    await pilot.press(ENTER)
    press_at_once(pilot, *search, ENTER)
    await settle(pilot)
    assert field_of(pilot.app) == field, (field_of(pilot.app), field)


def at(pilot: Pilot[None], field: str) -> None:
    """The cursor is in ``field`` (so what was typed before landed where it should)."""
    assert field_of(pilot.app) == field, (field_of(pilot.app), field, screen_text(pilot.app))


async def open_screen(pilot: Pilot[None], key: str, kind: type) -> None:
    """Press ``key`` and wait for the screen or dialog it opens (loaded)."""
    press_at_once(pilot, key)
    await settle(pilot)
    assert isinstance(pilot.app.screen, kind), screen_text(pilot.app)


def saved(pilot: Pilot[None], back_to: type = LotDetailScreen) -> None:
    """The form has closed: the service stored the record (a refusal keeps it open)."""
    assert isinstance(pilot.app.screen, back_to), screen_text(pilot.app)


async def sign(pilot: Pilot[None], username: str) -> None:
    """Both components of the signature, typed into the dialog."""
    assert isinstance(pilot.app.screen, SignatureModal), screen_text(pilot.app)
    await keys(pilot, username, ENTER, PASSWORDS[username], ENTER)


async def next_person(pilot: Pilot[None], username: str) -> None:
    """Log out (ctrl+l) and log in as someone else."""
    press_at_once(pilot, "ctrl+l")
    await settle(pilot)
    assert isinstance(pilot.app.screen, LoginScreen), screen_text(pilot.app)
    await keys(pilot, username, ENTER, PASSWORDS[username], ENTER)
    assert isinstance(pilot.app.screen, HomeScreen), screen_text(pilot.app)


# ------------------------------------------------------------------ the day


async def technician_makes_the_lot(pilot: Pilot[None], plan: Plan) -> None:
    """Harvest → lot → P0–P2 → counts → one fresh bag → every required QC result."""
    app = pilot.app
    await login(pilot, "tech")
    await open_screen(pilot, "h", HarvestForm)
    await choose(pilot, "subject", "tls")
    await keys(
        pilot, TAB, typed(plan.collected), TAB, "90 mL", TAB, "1.4e9 cells", TAB, TAB, TAB
    )  # heparin, posterior iliac crest: as offered
    at(pilot, "start-lot")  # ticked: the lot starts with the harvest
    await keys(pilot, SAVE)
    saved(pilot, HomeScreen)
    assert "Seed P0" in screen_text(app)
    await keys(pilot, ENTER)  # the lab's work list: the new lot
    assert isinstance(app.screen, LotDetailScreen), screen_text(app)

    for number, (cells, area, vessels, _, harvested, viability) in enumerate(PASSAGES):
        await open_screen(pilot, "p", PassageSeedForm)
        assert shown(app, "#passage-number").startswith(f"P{number}  (maximum P4)")
        await keys(pilot, typed(plan.seeded[number]), TAB, cells, TAB, area, TAB, vessels, TAB)
        at(pilot, "reagents")
        # Tick the three reagent lots used, a key at a time: typed ahead, the arrows
        # overtook the ticks (only the last lot ended up ticked).
        await pilot.press(SPACE, DOWN, SPACE, DOWN, SPACE)
        ticked = shown(app, "#reagents-note")
        assert all(lot in ticked for lot in ("M-2611", "PL-0412", "T-5531")), ticked
        await keys(pilot, SAVE)
        saved(pilot)
        await open_screen(pilot, "h", PassageHarvestForm)
        await keys(pilot, typed(plan.harvested[number]), TAB, harvested, TAB, viability, SAVE)
        saved(pilot)

    for target, rows, when, mean in (
        ("p2", P2_COUNT, plan.p2_counted, "viability 95.3 %"),
        (
            None,
            FINAL_COUNT,
            plan.final_counted,
            "Mean 2.55 × 10⁶ cells/mL viable · viability 95.8 %",
        ),
    ):
        await open_screen(pilot, "c", CountForm)
        if target:  # else the final product, as offered
            await choose(pilot, "target", target)
        strokes = [TAB, TAB, typed(when)]  # hemocytometer, as offered
        for live, dead in rows:  # 4 squares as offered, dilution 10
            strokes += [TAB, live, TAB, dead, TAB, TAB, "10"]
        await keys(pilot, *strokes)
        summary = shown(app, ".rep-summary")  # the calculator, as the counts are typed
        assert mean in summary, summary
        assert summary.endswith("(≤ 10 %)"), summary
        await keys(pilot, SAVE)
        saved(pilot)
    assert "Formulate" in screen_text(app)

    await open_screen(pilot, "f", FormulationForm)
    await keys(
        pilot,
        "50 mL",
        TAB,
        TAB,
        TAB,
        TAB,  # 1 bag, 2–8 °C, fresh: as offered
        typed(plan.formulated),
        SAVE,
    )
    await pilot.press("y")  # formulating asks first
    await settle(pilot)
    saved(pilot)

    for search, code in REQUIRED_QC:
        await open_screen(pilot, "t", QCResultForm)
        await choose(pilot, "test", search)
        value_box = "#value-text" if code in ("sterility", "mycoplasma") else "#value-num"
        assert app.screen.query_one(value_box).display
        await keys(
            pilot,
            TAB,
            CONFORMING_QC[code],
            TAB,
            TAB,  # method: per SOP
            typed(plan.tested),
            SAVE,
        )
        saved(pilot)
    assert lots.AWAITING_RELEASE in shown(app, "#lot-head")


async def qa_releases_the_lot(pilot: Pilot[None]) -> None:
    """The QA queue → review → release, signed."""
    app = pilot.app
    await next_person(pilot, "qa")
    await open_screen(pilot, ENTER, QAReviewScreen)  # the one lot awaiting review
    assert "Every required result is in and conforms." in shown(app, "#review-readiness")
    await open_screen(pilot, "r", DecisionForm)
    await keys(pilot, "batch record, QC and audit trail reviewed", SAVE)
    text = screen_text(app)
    assert "Release lot L-A9999" in text, text
    assert f"(subject {SUBJECT})" in text, text
    await sign(pilot, "qa")
    assert isinstance(app.screen, QAReviewScreen), screen_text(app)
    assert "released" in shown(app, "#review-head")


async def pharmacy_dispenses_and_verifies(pilot: Pilot[None]) -> str:
    """Prepare the MSC bag for period 1 (dose signed); another pharmacist verifies.
    Returns the bag's kit code, as the label shows it."""
    app = pilot.app
    await next_person(pilot, "pharm")
    await open_screen(pilot, ENTER, PharmacyVisitScreen)  # the first visit due: period 1
    text = screen_text(app)
    assert f"{SUBJECT} (born {BORN}) · period 1" in text, text
    assert "Arm: MSC" in text, text
    for n, name in enumerate(
        (
            "chain of identity",
            "lot released",
            "not expired",
            "current weight",
            "dose within window",
            "arm matches allocation",
        ),
        start=1,
    ):
        assert f"✔ {n} {name}" in text, text
    assert "inside the window" in shown(app, "#pv-dose")
    await open_screen(pilot, "s", SignatureModal)
    await sign(pilot, "pharm")
    status = shown(app, "#trial-status")
    assert status.startswith("Dispensed: kit "), status
    kit = status.removeprefix("Dispensed: kit ").split(".")[0]

    await next_person(pilot, "pharm2")
    await open_screen(pilot, "v", PharmacyVerifyScreen)
    text = screen_text(app)
    for n, name in enumerate(("chain of identity", "lot released", "not expired"), start=1):
        assert f"✔ {n} {name}" in text, text
    await open_screen(pilot, "s", SignatureModal)
    await sign(pilot, "pharm2")
    assert f"Verified: kit {kit}" in screen_text(app)
    return kit


async def ward_infuses(pilot: Pilot[None], kit: str) -> None:
    """Bedside check (two identifiers and the kit code), start, end signed."""
    app = pilot.app
    await next_person(pilot, "ward")
    await open_screen(pilot, ENTER, WardVisitScreen)  # the subject's period 1
    text = screen_text(app)
    assert "State: ready for bedside check" in text, text
    assert "MSC" not in text, text  # blinded
    await open_screen(pilot, "b", BedsideModal)
    # Asked, read from the wristband, scanned from the bag: each followed by Enter.
    await keys(pilot, SUBJECT, ENTER, BORN.isoformat(), ENTER, kit, ENTER)
    assert "Identity confirmed" in shown(app, "#trial-status")
    await open_screen(pilot, "s", MomentModal)
    await keys(pilot, ENTER)  # started now
    assert shown(app, "#trial-status") == "Infusion started."
    await open_screen(pilot, "e", InfusionEndModal)
    await keys(pilot, ENTER, SAVE)  # ended now; no reaction
    await sign(pilot, "ward")
    assert shown(app, "#trial-status") == "Infusion complete and signed."
    assert "State: infused" in screen_text(app)


async def test_one_day_from_harvest_to_infusion_through_the_terminal(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'site.db'}")
    try:
        subject_id, visits = seed_site(db)
        start = dt.datetime.now(dt.UTC)
        plan = Plan.back_from(start)
        app = make_app(db, clock=site_clock)
        async with app.run_test(size=(80, 24)) as pilot:
            await technician_makes_the_lot(pilot, plan)
            await qa_releases_the_lot(pilot)
            kit = await pharmacy_dispenses_and_verifies(pilot)
            await ward_infuses(pilot, kit)
        check_the_records(db, subject_id, visits, kit, plan, start)
    finally:
        db.dispose()


# ------------------------------------------------------------ read back by the core


def check_the_records(
    db: Database, subject_id: int, visits: tuple[int, int], kit: str, plan: Plan, start: dt.datetime
) -> None:
    """Exactly the day's records, as typed, by the right people, signed; the trail intact."""
    with db.reader() as s:
        users = {u.id: u.username for u in s.exec(select(User))}

        def one(model: type[Row]) -> Row:
            (row,) = s.exec(select(model)).all()
            return row

        harvest, lot = one(Harvest), one(Lot)
        assert (
            harvest.subject_id,
            harvest.collected_at,
            harvest.volume_ml,
            harvest.tnc_cells_total,
            users[harvest.operator_id],
        ) == (subject_id, as_read(plan.collected), 90.0, 1.4e9, "tech")
        assert (lot.harvest_id, lot.lot_number, lot.status) == (
            harvest.id,
            f"L-{harvest.din}",
            lots.RELEASED,
        )

        passages = s.exec(select(Passage).order_by(col(Passage.number))).all()
        assert [
            (p.number, p.cells_seeded, p.cells_harvested, p.viability_pct) for p in passages
        ] == [(0, 5e6, 4e7, 95.0), (1, 1e7, 8e7, 94.0), (2, 2e7, 1.4e8, 96.0)]
        assert all(
            p.lot_id == lot.id
            and users[p.recorded_by] == "tech"
            and users[p.harvest_recorded_by or 0] == "tech"
            for p in passages
        )
        assert [(p.seeded_at, p.harvested_at) for p in passages] == [
            (as_read(seeded), as_read(harvested))
            for seeded, harvested in zip(plan.seeded, plan.harvested, strict=True)
        ]
        assert s.exec(select(func.count()).select_from(PassageReagent)).one() == 9

        counts = s.exec(select(CellCount).order_by(col(CellCount.id))).all()
        assert [(c.target, c.passage_id, c.method, c.recount_required) for c in counts] == [
            ("passage-harvest", passages[2].id, "hemocytometer", False),
            ("final-product", None, "hemocytometer", False),
        ]
        reps = s.exec(select(CountReplicate).order_by(col(CountReplicate.id))).all()
        assert [
            (count_index(counts, r.count_id), r.live, r.dead, r.squares, r.dilution) for r in reps
        ] == [(0, 50, 2, 4, 10.0), (0, 52, 3, 4, 10.0), (1, 100, 4, 4, 10.0), (1, 104, 5, 4, 10.0)]
        assert [c.counted_at for c in counts] == [
            as_read(plan.p2_counted),
            as_read(plan.final_counted),
        ]
        assert counts[1].mean_viable_per_ml == pytest.approx(2.55e6)

        results = s.exec(
            select(QCResult, SpecItem.code).join(
                SpecItem, col(SpecItem.id) == col(QCResult.spec_item_id)
            )
        ).all()
        assert sorted(code for _, code in results) == sorted(c for _, c in REQUIRED_QC)
        assert all(
            r.conforms is True
            and r.retest_of_id is None
            and r.value_text == CONFORMING_QC[code]
            and users[r.tester_id] == "tech"
            and r.tested_at == as_read(plan.tested)
            for r, code in results
        )

        bag = one(ProductUnit)
        assert (
            bag.kind,
            bag.lot_id,
            bag.subject_id,
            bag.kit_code,
            bag.volume_ml,
            bag.status,
            bag.cryopreserved,
            bag.formulated_at,
        ) == ("msc", lot.id, subject_id, kit, 50.0, "infused", False, as_read(plan.formulated))
        assert bag.expires_at == bag.formulated_at + dt.timedelta(hours=24)

        decision = one(Disposition)
        assert (decision.decision, users[decision.decided_by]) == (lots.RELEASED, "qa")
        decider = s.get(User, decision.decided_by)
        assert decider is not None
        assert lot.id is not None
        (released,) = disposition.history(s, CurrentUser.of(decider), lot.id)
        assert released.signature is not None
        assert (
            released.signature.meaning,
            released.signature.printed_name,
            released.signature.valid,
        ) == ("released", "Quinn Quality", True)

        dispensing = one(Dispensing)
        assert (
            dispensing.visit_id,
            dispensing.unit_id,
            dispensing.status,
            users[dispensing.prepared_by],
            users[dispensing.verified_by or 0],
            dispensing.weight_kg,
        ) == (visits[0], bag.id, "infused", "pharm", "pharm2", 70.0)
        assert 1.0e6 <= (dispensing.dose_cells_per_kg or 0) <= 2.0e6
        checks = s.exec(select(DispensingCheck).order_by(col(DispensingCheck.id))).all()
        assert [(c.stage, c.number, c.passed) for c in checks] == (
            [("prepare", n, True) for n in range(1, 7)] + [("verify", n, True) for n in (1, 2, 3)]
        )
        content = dispensing_content(s, dispensing)
        for signature_id, meaning, name in (
            (dispensing.prepared_signature_id, "dose-verified", "Pia Pharmacist"),
            (dispensing.verified_signature_id, "second-verified", "Paul Pharmacist"),
        ):
            signature = s.get(Signature, signature_id)
            assert signature is not None
            assert (signature.meaning, signature.printed_name) == (meaning, name)
            assert view(signature, content).valid

        infusion = one(Infusion)
        assert infusion.dispensing_id == dispensing.id
        assert infusion.started_at is not None
        assert infusion.ended_at is not None
        assert start - dt.timedelta(minutes=1) <= infusion.started_at <= infusion.ended_at
        assert (
            users[infusion.identity_checked_by],
            users[infusion.administered_by or 0],
            infusion.reactions,
            infusion.reaction_grade,
        ) == ("ward", "ward", "", None)
        signature = s.get(Signature, infusion.signature_id)
        assert signature is not None
        assert (
            signature.meaning,
            signature.printed_name,
            signature.record_type,
            signature.record_id,
        ) == ("administered", "Wendy Ward", "infusion", infusion.id)
        assert s.exec(select(func.count()).select_from(Signature)).one() == 4

        assert {v.id: v.status for v in s.exec(select(Visit))} == {
            visits[0]: "infused",
            visits[1]: "planned",
        }
    verify_ok(db)


def count_index(counts: Sequence[CellCount], count_id: int) -> int:
    """Which of the day's counts (0 or 1) a replicate belongs to."""
    return [c.id for c in counts].index(count_id)
