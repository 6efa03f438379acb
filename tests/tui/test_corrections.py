"""Technician screens on recorded entries of a lot (issue #7): correct a passage, void a
count, record a bag's custody, thaw a cryopreserved bag and count it after the thaw —
driven from the lot's batch record by keys, asserted on the screen and in the database."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func
from sqlmodel import col, select
from textual.app import App
from textual.command import CommandPalette
from textual.pilot import Pilot
from textual.widgets import DataTable, Input, Static

from lottrack.demo.scenario import CONFORMING_QC
from lottrack.manufacturing import counts, formulation, lots, qc
from lottrack.records.permissions import CurrentUser
from lottrack.records.signatures import Credentials
from lottrack.release import disposition
from lottrack.storage.db import Database
from lottrack.storage.models import (
    AuditEvent,
    CellCount,
    CustodyEvent,
    Lot,
    Passage,
    ProductUnit,
    User,
    utcnow,
)
from lottrack.trial import visits
from tests.conftest import verify_ok
from tests.tui.helpers import (
    FROZEN_NOW,
    frozen_clock,
    login,
    screen_text,
    settle,
    shown,
    until,
)
from tests.tui.helpers import type_text as paste
from tests.tui.lot_data import PASSWORDS, private_copy
from tests.tui.test_forms import fill, opened, save
from tui.app import make_app
from tui.dialogs.reason import ReasonModal
from tui.manufacturing.forms.correction import PassageCorrectionForm
from tui.manufacturing.forms.custody import CustodyForm
from tui.manufacturing.forms.thaw import PostThawCountForm, ThawForm
from tui.manufacturing.lot_detail import LotDetailScreen
from tui.widgets.moment_input import MomentField
from tui.widgets.quantity_input import QuantityField

pytestmark = pytest.mark.asyncio


@pytest.fixture
def lots_db(tmp_path: Path) -> Iterator[tuple[Database, dict[str, int]]]:
    db, ids = private_copy(tmp_path)
    yield db, ids
    db.dispose()


def trail_length(db: Database) -> int:
    """Events in the audit trail other than logins and logouts (the test's own)."""
    with db.reader() as s:
        return int(
            s.exec(
                select(func.count())
                .select_from(AuditEvent)
                .where(col(AuditEvent.action).not_in(("login", "logout")))
            ).one()
        )


def last_event(db: Database, entity: str) -> AuditEvent:
    with db.reader() as s:
        event = s.exec(
            select(AuditEvent)
            .where(AuditEvent.entity == entity)
            .order_by(col(AuditEvent.seq).desc())
        ).first()
    assert event is not None
    return event


def cell(app: App[None], table: str, row: int, column: int) -> str:
    """A cell's words (a long text wraps inside its column: lines joined)."""
    widget = app.screen.query_one(f"#{table}", DataTable)
    return " ".join(str(widget.get_row_at(row)[column]).split())


async def open_lot(pilot: Pilot[None], lot_id: int, tab: int) -> LotDetailScreen:
    pilot.app.push_screen(LotDetailScreen(lot_id))
    await settle(pilot)
    await pilot.press(str(tab))
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, LotDetailScreen)
    return screen


def dialog_text(app: App[None]) -> str:
    """The words of the dialog on top (wrapped lines joined)."""
    return " ".join(str(w.visual) for w in app.screen.query(Static))


async def give_reason(pilot: Pilot[None], reason: str) -> None:
    assert isinstance(pilot.app.screen, ReasonModal), screen_text(pilot.app)
    await paste(pilot, reason)
    await pilot.press("enter")
    await settle(pilot)


def keys(screen: LotDetailScreen) -> set[str]:
    """The record keys the footer offers now."""
    return {k for k in ("e", "x", "m", "w", "k") if k in screen.active_bindings}


async def test_correcting_a_passage_of_a_released_lot_invalidates_the_release(
    lots_db: tuple[Database, dict[str, int]],
) -> None:
    db, ids = lots_db
    lot_id = ids["TLS-104"]  # released, with a valid signature
    reason = "transcription error: batch sheet reads 1.6e8"
    app = make_app(db, clock=frozen_clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot, "tech")
        detail = await open_lot(pilot, lot_id, 2)
        assert keys(detail) == {"e"}  # on a passage: correct (no void in the core)
        await pilot.press("down")  # P1: 1.0e7 seeded, 8.0e7 harvested → 3 doublings
        assert cell(app, "lot-passages", 1, 4) == "3"
        # The palette offers the same key, and runs it.
        await pilot.press("ctrl+p")
        await settle(pilot)
        assert isinstance(app.screen, CommandPalette)
        await paste(pilot, "correct")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        form = app.screen
        assert isinstance(form, PassageCorrectionForm), screen_text(app)
        assert form.query_one("#cells-harvested", QuantityField).text == "8.0e7 cells"
        assert form.query_one("#viability", QuantityField).text == "95 %"
        await fill(pilot, "cells-harvested", "1.6e8 cells")
        await save(pilot)
        assert "Changed: cells harvested." in dialog_text(app)
        assert (
            "is released: the correction sends it back to awaiting release and "
            "invalidates its release signature." in dialog_text(app)
        )
        await give_reason(pilot, reason)
        assert app.screen is detail, screen_text(app)
        # The corrected value and what follows from it: log2(1.6e8 / 1e7) = 4 doublings.
        assert "awaiting-release" in shown(app, "#lot-head")
        await pilot.press("2")
        await settle(pilot)
        assert cell(app, "lot-passages", 1, 2).endswith(" 1.60×10⁸")  # under the time
        assert cell(app, "lot-passages", 1, 4) == "4"
        await pilot.press("6")
        await settle(pilot)
        assert cell(app, "lot-decisions", 0, 2) == "INVALIDATED"
    with db.reader() as s:
        p1 = s.exec(select(Passage).where(Passage.lot_id == lot_id, Passage.number == 1)).one()
        lot = s.get(Lot, lot_id)
        assert lot is not None
        assert (p1.cells_harvested, p1.cells_harvested_text) == (1.6e8, "1.6e8 cells")
        assert lot.status == lots.AWAITING_RELEASE
    correction = last_event(db, "passage")
    assert (correction.username, correction.reason) == ("tech", reason)
    assert json.loads(correction.changes)["cells_harvested"] == [8e7, 1.6e8]
    assert "batch record corrected after release" in last_event(db, "lot").reason
    verify_ok(db)


async def test_a_bad_correction_is_refused_on_its_field_and_stores_nothing(
    lots_db: tuple[Database, dict[str, int]],
) -> None:
    db, ids = lots_db
    lot_id = ids["TLS-101"]  # P0 and P1 harvested; P1 seeded after P0's harvest
    before = trail_length(db)
    app = make_app(db, clock=frozen_clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot, "tech")
        await open_lot(pilot, lot_id, 2)
        form = await opened(pilot, "e", PassageCorrectionForm)  # P0, under the cursor
        # Nothing changed: said at once, no reason asked.
        await save(pilot)
        assert app.screen is form
        assert shown(app, "#form-message").startswith(
            "Invalid input: Correction: no value of P0 was changed"
        )
        # A volume as a cell count: marked on the field before any reason is asked.
        await fill(pilot, "cells-seeded", "70 mL")
        await save(pilot)
        assert app.screen is form
        message = 'Cells seeded: "70 mL" is a volume; expected a cell count such as 1.2e8 cells.'
        assert shown(app, "#cells-seeded .qf-error") == message
        await fill(pilot, "cells-seeded", "5e6 cells")  # as recorded again
        # A harvest after the next passage was seeded: the service refuses, after the
        # reason, on the field it names.
        await fill(pilot, "harvested-at", "now")
        await save(pilot)
        await give_reason(pilot, "harvest time mistyped")
        assert app.screen is form
        refusal = "Harvested at: P0 would be harvested after P1 was seeded."
        assert refusal in shown(app, "#form-message")
        assert "Nothing was saved." in shown(app, "#form-message")
        assert shown(app, "#harvested-at .mf-error") == refusal
        assert form.query_one("#harvested-at", MomentField).has_class("-invalid")
        # Cancelling the reason saves nothing either.
        await save(pilot)
        await pilot.press("escape")
        await settle(pilot)
        assert shown(app, "#form-message") == "Nothing was saved: a correction needs a reason."
    assert trail_length(db) == before
    with db.reader() as s:
        p0 = s.exec(select(Passage).where(Passage.lot_id == lot_id, Passage.number == 0)).one()
        assert (p0.cells_seeded, p0.harvested_at) == (
            5e6,
            FROZEN_NOW.astimezone(dt.UTC) - dt.timedelta(days=9, hours=-99),
        )


async def test_a_count_is_voided_with_a_reason_and_stays_visible(
    lots_db: tuple[Database, dict[str, int]],
) -> None:
    db, ids = lots_db
    lot_id = ids["TLS-105"]  # in process, final product counted
    reason = "wrong dilution factor used"
    app = make_app(db, clock=frozen_clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot, "tech")
        detail = await open_lot(pilot, lot_id, 3)
        assert keys(detail) == {"x"}
        await pilot.press("x")
        await settle(pilot)
        assert "Void the final-product count of 2025-03-" in dialog_text(app)
        await pilot.press("enter")  # no reason: refused in the dialog
        await pilot.pause()
        assert "Give a reason." in screen_text(app)
        await give_reason(pilot, reason)
        assert app.screen is detail
        await pilot.press("3")
        await settle(pilot)
        assert cell(app, "lot-counts", 0, 5) == f"VOID: {reason}"
        assert cell(app, "lot-counts", 0, 1) == "final-product"  # still shown
        assert keys(detail) == set()  # a void count is not voided twice
    with db.reader() as s:
        (count,) = s.exec(select(CellCount).where(CellCount.lot_id == lot_id)).all()
        assert count.voided_reason == reason
    event = last_event(db, "cell_count")
    assert (event.username, event.reason) == ("tech", reason)
    assert json.loads(event.changes)["voided_reason"] == [None, reason]
    verify_ok(db)


async def test_voiding_a_count_voided_meanwhile_is_refused_and_stores_nothing(
    lots_db: tuple[Database, dict[str, int]],
) -> None:
    db, ids = lots_db
    lot_id = ids["TLS-105"]
    app = make_app(db, clock=frozen_clock)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await login(pilot, "tech")
        await open_lot(pilot, lot_id, 3)
        await pilot.press("x")
        await settle(pilot)
        with db.session() as s:  # another terminal voids it while the reason is typed
            other = CurrentUser.of(s.exec(select(User).where(User.username == "tech2")).one())
            count_id = s.exec(select(CellCount.id).where(CellCount.lot_id == lot_id)).one()
            assert count_id is not None
            counts.void_count(s, other, count_id, "counted the wrong tube")
        before = trail_length(db)
        await give_reason(pilot, "wrong dilution factor used")
        toast = " ".join(" ".join(str(t.render()) for t in app.screen.query("Toast")).split())
        assert "it is already void (counted the wrong tube)." in toast
        assert cell(app, "lot-counts", 0, 5) == "VOID: counted the wrong tube"
    assert trail_length(db) == before
    with db.reader() as s:
        count = s.get(CellCount, count_id)
        assert count is not None
        assert count.voided_reason == "counted the wrong tube"


async def test_keys_follow_roles_and_the_lot_state(
    lots_db: tuple[Database, dict[str, int]],
) -> None:
    db, ids = lots_db
    app = make_app(db, clock=frozen_clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot, "qa")
        detail = await open_lot(pilot, ids["TLS-105"], 2)
        assert keys(detail) == set()  # QA corrects nothing
        await pilot.press("3")
        await settle(pilot)
        assert keys(detail) == set()
        await pilot.press("5")
        await settle(pilot)
        assert keys(detail) == set()  # no bag yet
    cryopreserved_bag(db, ids["TLS-105"])
    app = make_app(db, clock=frozen_clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot, "pharm")  # moves and thaws bags; records no count
        detail = await open_lot(pilot, ids["TLS-105"], 5)
        assert keys(detail) == {"m", "w"}
    app = make_app(db, clock=frozen_clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot, "tech")
        detail = await open_lot(pilot, ids["TLS-104"], 3)
        assert keys(detail) == set()  # a released lot's final count is not voided
        await pilot.press("5")
        await settle(pilot)
        assert keys(detail) == set()  # a released lot's bags are the pharmacy's
        await pilot.press("f1")
        await settle(pilot)
        await pilot.press("end")  # the keys of the screen are listed last
        await settle(pilot)
        help_text = screen_text(app)
        assert "m Custody" not in help_text
        assert "w Thaw" not in help_text


def cryopreserved_bag(db: Database, lot_id: int) -> int:
    """TLS-105 formulated into one cryopreserved bag half an hour before the app's now
    (25 mL: 6.4e7 viable cells of the 7.6e7 harvested at P1)."""
    with db.session() as s:
        tech = CurrentUser.of(s.exec(select(User).where(User.username == "tech2")).one())
        made = formulation.formulate(
            s,
            tech,
            lot_id=lot_id,
            volume_text="25 mL",
            storage="vapour-phase LN2",
            cryopreserve=True,
            formulated_at=FROZEN_NOW - dt.timedelta(minutes=30),
        )
    return made.units[0].id


async def test_the_lab_is_not_offered_to_thaw_or_move_a_bag_of_a_released_lot(
    lots_db: tuple[Database, dict[str, int]],
) -> None:
    """A cryopreserved bag of a lot released once, then sent back to awaiting release by
    a correction: the services refuse the lab its thaw and its moves (the pharmacy's from
    the release on), so the footer offers the lab neither w nor m, while the pharmacy
    keeps both; the same before any dispensing as after, for either arm."""
    db, ids = lots_db
    lot_id = ids["TLS-105"]
    cryopreserved_bag(db, lot_id)
    with db.session() as s:
        people = {
            u.username: CurrentUser.of(u)
            for u in s.exec(select(User).where(col(User.username).in_(("tech", "qa", "ward"))))
        }
        subject_id = s.get(Lot, lot_id).subject_id  # type: ignore[union-attr]
    with db.session() as s:  # the endotoxin limit needs the subject's weight
        visits.record_weight(
            s, people["ward"], subject_id=subject_id, weight_text="70 kg", measured_at=utcnow()
        )
    for code, value in CONFORMING_QC.items():
        with db.session() as s:
            qc.record_result(
                s,
                people["tech"],
                lot_id=lot_id,
                test=code,
                value_text=value,
                tested_at=utcnow(),
                method="per SOP",
            )
    with db.session() as s:
        disposition.release(
            s, people["qa"], lot_id, Credentials("qa", PASSWORDS["qa"]), "all results conform"
        )
    app = make_app(db, clock=frozen_clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot, "tech")
        detail = await open_lot(pilot, lot_id, 5)
        assert detail.lot is not None
        assert detail.lot.bags[0].cryopreserved
        assert keys(detail) == set()
        await pilot.press("w")  # and the key does nothing
        await settle(pilot)
        assert app.screen is detail
    with db.session() as s:  # back to awaiting release: released once, still barred
        qc.correct_result(
            s,
            people["tech"],
            next(r.id for r in qc.results(s, lot_id) if r.test_name.startswith("Viability")),
            value_text="93 %",
            reason="transcription error",
        )
    app = make_app(db, clock=frozen_clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot, "tech")
        detail = await open_lot(pilot, lot_id, 5)
        assert detail.lot is not None
        assert detail.lot.summary.status == lots.AWAITING_RELEASE
        assert keys(detail) == set()
    app = make_app(db, clock=frozen_clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot, "pharm")
        detail = await open_lot(pilot, lot_id, 5)
        assert keys(detail) == {"m", "w"}


async def test_custody_thaw_and_post_thaw_count_of_a_cryopreserved_bag(
    lots_db: tuple[Database, dict[str, int]],
) -> None:
    db, ids = lots_db
    lot_id = ids["TLS-105"]
    unit_id = cryopreserved_bag(db, lot_id)
    with db.reader() as s:
        unit = s.get(ProductUnit, unit_id)
        assert unit is not None
        # the lab is blinded: a bag by its division, never its kit code (design §7)
        kit, din = f"bag {unit.division}", unit.din
    app = make_app(db, clock=frozen_clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot, "tech")
        detail = await open_lot(pilot, lot_id, 5)
        assert keys(detail) == {"m", "w"}
        # A move into the tank.
        await opened(pilot, "m", CustodyForm)
        assert f"{kit} · subject TLS-105 · DIN {din[:5]} {din[5:7]} {din[7:]}" in shown(app, "#bag")
        await fill(pilot, "from", "cleanroom B2")
        await fill(pilot, "to", "LN2 tank 1")
        await fill(pilot, "at", "09:05")
        await fill(pilot, "temperature", "-150 °C")
        await save(pilot)
        assert app.screen is detail, screen_text(app)
        assert [cell(app, "lot-custody", 0, c) for c in range(1, 5)] == [
            kit,
            "cleanroom B2",
            "LN2 tank 1",
            "-150 °C",
        ]
        # Back to where it is: the service refuses, on the field, and stores nothing.
        before = trail_length(db)
        custody = await opened(pilot, "m", CustodyForm)
        assert custody.query_one("#from", Input).value == "LN2 tank 1"
        await fill(pilot, "to", "ln2 tank 1")
        await save(pilot)
        assert app.screen is custody
        assert 'To: "ln2 tank 1" is where the bag already is.' in shown(app, "#form-message")
        assert custody.query_one("#to", Input).has_class("-invalid")
        await pilot.press("escape")  # typed input: it asks before discarding
        await settle(pilot)
        await pilot.press("y")
        await settle(pilot)
        assert trail_length(db) == before
        # The thaw: before the formulation is refused; then recorded.
        thaw_form = await opened(pilot, "w", ThawForm)
        await fill(pilot, "thawed-at", "2025-03-01 08:00")
        await save(pilot)
        assert app.screen is thaw_form
        assert "before it was formulated" in shown(app, "#thawed-at .mf-error")
        assert trail_length(db) == before
        await fill(pilot, "thawed-at", "09:10")
        await save(pilot)
        assert app.screen is detail, screen_text(app)
        assert cell(app, "lot-bags", 0, 1) == "blinded · thawed 03-14 09:10"
        # The table paints its new row when next idle (late if busy); it fits 80 columns.
        await until(
            pilot,
            lambda: "blinded · thawed 03-14 09:10" in screen_text(app),
            "the thawed bag's row painted in full",
        )
        assert keys(detail) == {"m", "k"}  # thawed once; now it can be counted
        # The post-thaw count with the hemocytometer calculator.
        await opened(pilot, "k", PostThawCountForm)
        assert "after thaw" in screen_text(app)
        await fill(pilot, "counted-at", "09:20")
        for row, (live, dead) in zip(
            app.screen.query(".rep-row"), (("90", "10"), ("92", "9")), strict=True
        ):
            row.query_one(".rep-live", Input).focus()
            await pilot.pause()
            await paste(pilot, live)
            await pilot.press("tab")
            await paste(pilot, dead)
        await save(pilot)
        assert app.screen is detail, screen_text(app)
        await pilot.press("3")
        await settle(pilot)
        assert "post-thaw" in [
            cell(app, "lot-counts", r, 1)
            for r in range(app.screen.query_one("#lot-counts", DataTable).row_count)
        ]
    with db.reader() as s:
        (move,) = s.exec(select(CustodyEvent).where(CustodyEvent.unit_id == unit_id)).all()
        assert (move.from_location, move.to_location, move.temperature_c) == (
            "cleanroom B2",
            "LN2 tank 1",
            -150.0,
        )
        assert move.at == FROZEN_NOW.replace(minute=5).astimezone(dt.UTC)
        unit = s.get(ProductUnit, unit_id)
        assert unit is not None
        assert unit.thawed_at == FROZEN_NOW.replace(minute=10).astimezone(dt.UTC)
        count = s.exec(select(CellCount).where(CellCount.unit_id == unit_id)).one()
        assert (count.target, count.counted_at) == (
            "post-thaw",
            FROZEN_NOW.replace(minute=20).astimezone(dt.UTC),
        )
        assert count.viability_pct == pytest.approx(100 * 182 / 201)
    moved = last_event(db, "custody_event")
    assert (moved.action, moved.username) == ("insert", "tech")
    assert json.loads(moved.changes)["to_location"] == [None, "LN2 tank 1"]
    thaw = last_event(db, "product_unit")
    assert thaw.username == "tech"
    assert thaw.reason.startswith("thawed; usable for 60 min")
    verify_ok(db)
