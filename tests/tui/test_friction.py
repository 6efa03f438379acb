"""A day's work without friction at 80×24: nothing lost without asking, no silent key, no
dead end (issue 19). Each test drives the demo through the real app and reads the screen
or the database."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import col, func, select
from textual.command import CommandPalette
from textual.widgets import DataTable, Input, TabbedContent, Tabs

from lottrack.records import accounts
from lottrack.records.permissions import CurrentUser
from lottrack.storage.db import Database
from lottrack.storage.models import Allocation, AuditEvent, Lot, User, WeightMeasurement
from tests.tui.helpers import (
    filter_audit,
    frozen_clock,
    login,
    login_and_open,
    screen_text,
    settle,
    shown,
    type_text,
)
from tests.tui.lot_data import private_copy
from tui.app import LotTrackApp, make_app
from tui.dialogs.confirm import ConfirmModal
from tui.dialogs.signature import SignatureModal
from tui.dialogs.weight import WeightModal
from tui.home import HomeScreen
from tui.manufacturing.forms.harvest import HarvestForm
from tui.manufacturing.forms.passage_seed import PassageSeedForm
from tui.manufacturing.lot_detail import LotDetailScreen
from tui.qa.audit import AuditScreen
from tui.qa.review import QAReviewScreen
from tui.ward.visit import WardVisitScreen
from tui.widgets.growth_chart import chart_text

pytestmark = pytest.mark.asyncio


def weights(db: Database) -> list[str]:
    with db.reader() as s:
        return list(
            s.exec(select(WeightMeasurement.weight_text).order_by(col(WeightMeasurement.id))).all()
        )


def flat(app: LotTrackApp) -> str:
    """The screen's words with line breaks folded into spaces."""
    return " ".join(screen_text(app).split())


def notices(app: LotTrackApp) -> str:
    """The words of the notices on screen (a notice's lines share rows with the screen
    under it, so they are read from the notices themselves)."""
    return " ".join(" ".join(str(t.render()) for t in app.screen.query("Toast")).split())


@pytest.mark.parametrize("key", ["enter", "ctrl+s"])
async def test_the_weight_dialog_records_on_enter_and_ctrl_s(
    app: LotTrackApp, demo_db: Database, key: str
) -> None:
    before = weights(demo_db)
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot, "pharm")
        await pilot.press("enter")  # TLS-009, period 1
        await settle(pilot)
        await pilot.press("w")
        await settle(pilot)
        assert isinstance(app.screen, WeightModal)
        await type_text(pilot, "72 kg")
        await pilot.press(key)
        await settle(pilot)
        assert not isinstance(app.screen, WeightModal)
        assert "Weight 72 kg recorded." in screen_text(app)
    assert weights(demo_db) == [*before, "72 kg"]


async def test_r_on_an_out_of_specification_lot_says_why_and_the_palette_finds_it(
    app: LotTrackApp, demo_db: Database
) -> None:
    with demo_db.reader() as s:
        status = s.exec(select(Lot.status).where(Lot.lot_number == "L-A999926000003")).one()
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await login(pilot, "qa")
        await pilot.press("down", "enter")  # TLS-003: out of specification
        await settle(pilot)
        assert isinstance(app.screen, QAReviewScreen)
        assert "r Release" not in screen_text(app).splitlines()[-1]
        await pilot.press("r")
        await settle(pilot)
        # The demo's TLS-003 has its out-of-specification investigation still open.
        assert (
            "Cannot release yet: open (investigation #1 open: Viability, fresh final product 75 %"
        ) in notices(app)
        assert "Close it first (n on this screen)" in notices(app)
        app.clear_notifications()
        await pilot.press("ctrl+p")
        await settle(pilot)
        assert isinstance(app.screen, CommandPalette)
        await type_text(pilot, "release")
        await settle(pilot)
        assert "Release" in screen_text(app)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, QAReviewScreen)
        assert "Cannot release yet: open (investigation #1" in notices(app)
    with demo_db.reader() as s:
        assert s.exec(select(Lot.status).where(Lot.lot_number == "L-A999926000003")).one() == status


async def test_arrow_keys_reach_the_list_on_a_home_with_several_roles(app: LotTrackApp) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot, "inv")  # clinician and investigator: two tabs
        assert isinstance(app.screen, HomeScreen)
        assert isinstance(app.focused, DataTable)  # the shown tab's list has the keys
        await pilot.press("down", "down")
        assert app.focused.cursor_row == 2
        app.screen.query_one(Tabs).focus()  # from the tab bar, ↓ goes back into the list
        await pilot.press("down")
        assert isinstance(app.focused, DataTable)


async def test_number_keys_show_the_tabs_there_are(app: LotTrackApp) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot, "inv")  # clinician and investigator: two tabs
        tabs = app.screen.query_one(TabbedContent)
        assert tabs.active == "tab-1"
        await pilot.press("2")
        await settle(pilot)
        assert tabs.active == "tab-2"
        assert app.screen.check_action("show_tab", (3,)) is False  # no third tab
        await pilot.press("3")
        await settle(pilot)
        assert tabs.active == "tab-2"
        await pilot.press("1")
        await settle(pilot)
        assert tabs.active == "tab-1"


async def test_the_ward_list_keeps_its_row_after_a_visit(app: LotTrackApp) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot, "ward")
        table = app.screen.query_one(DataTable)
        for _ in range(8):
            await pilot.press("down")
        assert table.cursor_row == 8  # TLS-008, period 1
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, WardVisitScreen)
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, HomeScreen)
        assert app.screen.query_one(DataTable).cursor_row == 8


async def test_esc_on_a_filled_form_asks_before_discarding(app: LotTrackApp) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot, "tech")
        await pilot.press("escape")  # nothing typed yet on the home screen
        await pilot.press("h")
        await settle(pilot)
        assert isinstance(app.screen, HarvestForm)
        await pilot.press("escape")  # untouched: closes at once
        await settle(pilot)
        assert isinstance(app.screen, HomeScreen)
        await pilot.press("h")
        await settle(pilot)
        form = app.screen
        box = form.query_one("#volume").query_one(Input)
        box.focus()
        await pilot.pause()
        await type_text(pilot, "90 mL")
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmModal)
        assert "Discard what you typed?" in flat(app)
        await pilot.press("n")  # keep editing
        await settle(pilot)
        assert app.screen is form
        assert box.value == "90 mL"
        await pilot.press("ctrl+q")  # quitting asks too
        await settle(pilot)
        assert isinstance(app.screen, ConfirmModal)
        assert "Quit and discard what you typed?" in flat(app)
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is form
        await pilot.press("escape")
        await settle(pilot)
        await pilot.press("y")
        await settle(pilot)
        assert isinstance(app.screen, HomeScreen)


async def test_separation_of_duties_is_said_before_the_password(
    app: LotTrackApp, demo_db: Database
) -> None:
    """The technician who made TLS-002's lot cannot release it: refused before the
    signature dialog, so no password is typed (and none counted)."""
    with demo_db.session() as s:
        admin = CurrentUser.of(s.exec(select(User).where(User.username == "admin")).one())
        accounts.set_roles(
            s, admin, "tech", ["technician", "qa"], "covers QA this week"
        )  # a technician who is also QA
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot, "tech")
        await pilot.press("2")  # the QA tab
        await settle(pilot)
        await pilot.press("enter")  # TLS-002: ready for release
        await settle(pilot)
        assert isinstance(app.screen, QAReviewScreen)
        await pilot.press("r")
        await settle(pilot)
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert not isinstance(app.screen, SignatureModal)
        assert "may not release it (separation of duties" in flat(app)
    with demo_db.reader() as s:
        failed = s.exec(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "login-failed")
        ).one()
        tech = s.exec(select(User).where(User.username == "tech")).one()
    assert failed == 0
    assert tech.failed_logins == 0


async def test_allocation_generate_asks_before_allocating(
    app: LotTrackApp, demo_db: Database
) -> None:
    with demo_db.reader() as s:
        before = s.exec(select(func.count()).select_from(Allocation)).one()
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot, "pharm")
        await pilot.press("o")
        await settle(pilot)
        await pilot.press("g")
        await settle(pilot)
        await type_text(pilot, "20250314")
        await pilot.press("enter", "enter")  # to the block size, then Enter there
        await settle(pilot)
        assert isinstance(app.screen, ConfirmModal)
        assert shown(app, "#confirm-question") == (
            "Allocate 8 subjects by 1:1 permuted blocks of 4, seed 20250314? An allocation "
            "cannot be changed afterwards."
        )
        await pilot.press("n")
        await settle(pilot)
    with demo_db.reader() as s:
        assert s.exec(select(func.count()).select_from(Allocation)).one() == before


async def test_the_audit_screen_lists_and_filters_events_with_record_names(
    app: LotTrackApp,
) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot, "qa")
        await pilot.press("a")
        await settle(pilot)
        assert isinstance(app.screen, AuditScreen)
        assert "Audit trail intact" in screen_text(app)
        assert "newest first" in shown(app, "#audit-count")
        await filter_audit(pilot, "record", "Passage P1 of L-A999926000012")
        text = screen_text(app)
        assert "Passage P1 of" in text
        assert "passage 1" not in text.casefold().replace("passage p1", "")
        table = app.screen.query_one("#audit-events", DataTable)
        assert table.row_count >= 2  # inserted, then its harvest recorded
        await filter_audit(pilot, "person", "nobody-by-that-name")
        assert shown(app, "#audit-count") == "No event matches."
        app.screen.query_one("#audit-person", Input).value = ""
        app.screen.query_one("#audit-record", Input).value = ""
        await filter_audit(pilot, "since", "14.03.2025")
        assert 'From: "14.03.2025" is not a date' in shown(app, "#audit-count")


async def test_a_bag_s_values_are_blinded_on_the_audit_screen(app: LotTrackApp) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot, "admin")
        await pilot.press("a")
        await settle(pilot)
        await filter_audit(pilot, "record", "Bag")
        table = app.screen.query_one("#audit-events", DataTable)
        assert table.row_count > 0
        records = [str(table.get_row_at(i)[4]) for i in range(table.row_count)]
        assert "Bag (blinded)" in records
        assert not any("K-" in r for r in records)  # no kit code for a blinded reader
        table.focus()
        await pilot.pause()
        for _ in range(table.row_count):
            detail = shown(app, "#audit-detail")
            assert "msc" not in detail.casefold().replace("msc or placebo", "")
            assert "placebo" not in detail.casefold()
            await pilot.press("down")


@pytest.fixture
def lots_db(tmp_path: Path) -> Iterator[tuple[Database, dict[str, int]]]:
    db, ids = private_copy(tmp_path)
    yield db, ids
    db.dispose()


async def test_an_area_is_echoed_as_typed(lots_db: tuple[Database, dict[str, int]]) -> None:
    db, ids = lots_db
    app = make_app(db, clock=frozen_clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await login_and_open(pilot, "tech", LotDetailScreen(ids["TLS-101"]), "p")
        assert isinstance(app.screen, PassageSeedForm)
        app.screen.query_one("#area").query_one(Input).focus()
        await pilot.pause()
        await type_text(pilot, "1272 cm2")
        assert shown(app, "#area .qf-preview") == "= 1272 cm²"
        concentration = "1.2 x 10^6 cells/mL in 2 mL"  # a long text stays in its box
        box = app.screen.query_one("#cells").query_one(Input)
        assert box.size.width >= len(concentration)


async def test_batch_record_tables_fit_80_columns(lots_db: tuple[Database, dict[str, int]]) -> None:
    """Counts (Viable/mL), QC (long test names), decisions (the meaning): every column's
    words are on screen at 80 columns, wrapped in their row when long."""
    db, ids = lots_db
    app = make_app(db, clock=frozen_clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await login_and_open(pilot, "tech", LotDetailScreen(ids["TLS-104"]), "3")
        header = next(line for line in screen_text(app).splitlines() if "Counted" in line)
        for title in ("Of", "Viable/mL", "Viab.", "CV", "Flag", "By"):
            assert title in header
        assert "2.55×10⁶" in screen_text(app)
        await pilot.press("4")
        await settle(pilot)
        lines = [" ".join(line.split()) for line in screen_text(app).splitlines()]
        assert any(line.startswith("Viability, ") for line in lines)  # wraps, whole
        assert any(line.startswith("fresh final") for line in lines)
        assert any("Note" in line for line in lines)
        await pilot.press("6")
        await settle(pilot)
        table = app.screen.query_one("#lot-decisions", DataTable)
        meaning = " ".join(str(table.get_row_at(0)[4]).split())
        assert meaning == "I release this lot for clinical use"  # wrapped, all of it
        text = screen_text(app)
        for part in ("I release", "this lot", "clinical", "Justification"):
            assert part in text


async def test_the_sites_header_fits_80_columns(app: LotTrackApp) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot, "admin")
        await pilot.press("t")
        await settle(pilot)
        header = next(line for line in screen_text(app).splitlines() if "FIN" in line)
        for title in ("FIN", "Name", "Time zone", "Decimal", "MSC", "Placebo", "Address"):
            assert title in header


async def test_the_growth_chart_draws_a_negative_pd_below_zero() -> None:
    lines = chart_text(((0.0, 0.0), (4.0, -2.32), (8.0, 1.5)), 60, 8).plain.splitlines()
    ticks = [line.split("┤")[0].strip() for line in lines if "┤" in line]
    assert ticks == ["1.5", "0", "-2.3"]
