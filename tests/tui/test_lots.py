"""The lot list: ten thousand lots page and filter at once; Enter opens the batch record."""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.widgets import DataTable, Input, Select

from lottrack.facility import sites
from lottrack.install import bootstrap
from lottrack.records import accounts
from lottrack.records.permissions import CurrentUser
from lottrack.storage.db import Database
from lottrack.views import listings
from tests.conftest import add_account
from tests.tui.helpers import (
    frozen_clock,
    login,
    login_and_open,
    screen_text,
    settle,
    shown,
    type_text,
    until,
)
from tests.tui.lot_data import private_copy
from tui.app import make_app
from tui.manufacturing.lot_detail import LotDetailScreen
from tui.manufacturing.lots import LotsScreen
from tui.panes.technician import LotsInProcessPane
from tui.widgets.lazy_tabs import LazyTabs, TabBar

LOTS = 10_000
IN_PROCESS_EVERY = 1_000
PASSWORD = "bulk-tech-pass-1"


def bulk_database(path: Path) -> tuple[Database, CurrentUser]:
    """A database with ten thousand lots inserted in bulk (bypassing the services and
    their audit trail: this test is about the list's speed, not the records)."""
    db = Database(f"sqlite:///{path}")
    bootstrap.initialise(db)
    with db.session() as s:
        admin = CurrentUser.of(accounts.create_first_admin(s, "root", "Root", "root-pass-12"))
    with db.session() as s:
        tech = add_account(
            s,
            admin,
            username="bulk",
            full_name="Bulk Technician",
            roles=("technician",),
            password=PASSWORD,
        )
    with db.session() as s:
        site = sites.create_site(
            s,
            admin,
            name="Bulk site",
            fin="A9999",
            timezone="Europe/Berlin",
            decimal_separator=".",
            address="",
            product_code_msc="S1234100",
            product_code_placebo="S1235000",
        )
    start = dt.datetime(2024, 1, 1, 8, 0, tzinfo=dt.UTC)  # stored naive, in UTC

    def at(i: int) -> str:
        return (start + dt.timedelta(minutes=30 * i)).strftime("%Y-%m-%d %H:%M:%S.%f")

    conn = sqlite3.connect(path)
    with conn:
        conn.executemany(
            "INSERT INTO subject (id, code, initials, date_of_birth, site_id, coi_id, "
            "created_at) VALUES (?, ?, 'XX', '1970-01-01', ?, ?, ?)",
            [(i, f"BLK-{i:05d}", site.id, f"COI-B{i:09d}", at(i)) for i in range(1, LOTS + 1)],
        )
        conn.executemany(
            "INSERT INTO harvest (id, subject_id, din, collected_at, volume_ml, volume_text, "
            "anticoagulant, aspiration_site, tnc_text, operator_id, created_at) VALUES "
            "(?, ?, ?, ?, 90, '90 mL', 'heparin', 'iliac crest', '', ?, ?)",
            [(i, i, f"A999924{i:06d}", at(i), tech.id, at(i)) for i in range(1, LOTS + 1)],
        )
        conn.executemany(
            "INSERT INTO lot (id, lot_number, harvest_id, subject_id, spec_id, status, "
            "created_at, created_by) VALUES (?, ?, ?, ?, 1, ?, ?, ?)",
            [
                (
                    i,
                    f"L-A999924{i:06d}",
                    i,
                    i,
                    "in-process" if i % IN_PROCESS_EVERY == 0 else "released",
                    at(i),
                    tech.id,
                )
                for i in range(1, LOTS + 1)
            ],
        )
    conn.close()
    return db, tech


@pytest.fixture
def bulk(tmp_path: Path) -> Iterator[tuple[Database, CurrentUser]]:
    db, tech = bulk_database(tmp_path / "bulk.db")
    yield db, tech
    db.dispose()


def test_pages_of_ten_thousand_lots(bulk: tuple[Database, CurrentUser]) -> None:
    db, tech = bulk
    first = listings.lot_page(db, tech, limit=20)
    found = listings.lot_page(db, tech, search="A9999 24 004321")
    deep = listings.lot_page(db, tech, offset=9_980, limit=20, sort="subject")
    held = listings.lot_page(db, tech, status="in-process")
    assert first.total == LOTS
    assert first.rows[0].lot_number == f"L-A999924{LOTS:06d}"  # newest first
    assert [r.lot_number for r in found.rows] == ["L-A999924004321"]
    assert [r.subject_code for r in deep.rows][-1] == f"BLK-{LOTS:05d}"
    assert held.total == LOTS // IN_PROCESS_EVERY


@pytest.mark.asyncio
async def test_lot_list_pages_and_filters_ten_thousand_lots(
    bulk: tuple[Database, CurrentUser],
) -> None:
    db, _ = bulk
    app = make_app(db, clock=frozen_clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot, "bulk", PASSWORD)
        await pilot.press("l")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, LotsScreen)
        table = screen.query_one("#lots-table", DataTable)
        rows = table.row_count
        assert 10 <= rows <= 20  # a page is what fits on an 80x24 terminal
        assert str(table.get_row_at(0)[0]) == f"L-A999924{LOTS:06d}"
        pages = -(-LOTS // rows)
        assert shown(app, "#lots-page") == (
            f"Lots 1–{rows} of {LOTS} · page 1 of {pages} · newest first"
        )
        assert app.focused is screen.query_one("#lots-search", Input)
        # A taller terminal: the page grows to the rows that now fit, and back again.
        await pilot.resize_terminal(80, 34)
        await until(pilot, lambda: table.row_count == rows + 10, "a page ten rows longer")
        assert shown(app, "#lots-page").startswith(f"Lots 1–{rows + 10} of {LOTS}")
        await pilot.resize_terminal(80, 24)
        await until(pilot, lambda: table.row_count == rows, "the page as long as before")
        # PgDn: the next page.
        await pilot.press("pagedown")
        await settle(pilot)
        assert shown(app, "#lots-page").startswith(f"Lots {rows + 1}–{2 * rows} of {LOTS}")
        assert str(table.get_row_at(0)[0]) == f"L-A999924{LOTS - rows:06d}"
        # Type a DIN (as printed on the label): the list follows.
        await type_text(pilot, "A9999 24 004321")
        # The search waits for a pause in the typing.
        await until(
            pilot,
            lambda: shown(app, "#lots-page").startswith("Lots 1–1 of 1 ·"),
            "the page line of the search's one lot",
        )
        assert table.row_count == 1
        assert [str(c) for c in table.get_row_at(0)][:3] == [
            "L-A999924004321",
            "BLK-04321",
            "released",
        ]
        assert shown(app, "#lots-page").startswith("Lots 1–1 of 1 ·")
        # The status filter.
        screen.query_one("#lots-search", Input).value = ""
        screen.query_one("#lots-status", Select).value = "in-process"
        await until(
            pilot,
            lambda: shown(app, "#lots-page").startswith(f"Lots 1–10 of {LOTS // IN_PROCESS_EVERY}"),
            "the page line of the status filter",
        )
        assert table.row_count == LOTS // IN_PROCESS_EVERY
        assert shown(app, "#lots-page").startswith(f"Lots 1–10 of {LOTS // IN_PROCESS_EVERY}")


@pytest.mark.asyncio
async def test_enter_opens_the_batch_record(tmp_path: Path) -> None:
    db, ids = private_copy(tmp_path)
    app = make_app(db, clock=frozen_clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot, "tech")
        # The technician's home: what is due, longest waiting first; Enter opens the lot.
        pane = app.screen.query_one(LotsInProcessPane)
        work = pane.query_one(DataTable)
        assert {
            str(work.get_row_at(i)[0]): str(work.get_row_at(i)[2]) for i in range(work.row_count)
        } == {"L-A999925000001": "Seed P2 or count final product", "L-A999925000005": "Formulate"}
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, LotDetailScreen)
        first = app.screen.lot_id
        assert first in (ids["TLS-101"], ids["TLS-105"])
        await pilot.press("escape")
        await settle(pilot)
        await pilot.press("l")
        await settle(pilot)
        await type_text(pilot, "tls-104")
        await pilot.press("enter")  # to the list (searching at once)
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, LotDetailScreen)
        assert screen.lot_id == ids["TLS-104"]
        assert "released" in shown(app, "#lot-head")
        await pilot.press("6")
        await settle(pilot)
        decisions = screen.query_one("#lot-decisions", DataTable)
        assert str(decisions.get_row_at(0)[2]) == "valid"
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, LotsScreen)
    db.dispose()


@pytest.mark.asyncio
async def test_a_search_with_a_control_character_is_refused_in_words(tmp_path: Path) -> None:
    """Typed or pasted (a scanner's stray control code, a zero-width space from a
    document), a control or invisible character is refused under the list, which stays;
    a subject code without its dash is found."""
    db, ids = private_copy(tmp_path)
    app = make_app(db, clock=frozen_clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot, "tech")
        await pilot.press("l")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, LotsScreen)
        table = screen.query_one("#lots-table", DataTable)
        every = [str(table.get_row_at(n)[0]) for n in range(table.row_count)]
        line = screen.query_one("#lots-page")
        await pilot.press("down")  # from the search box to the list
        for typed, quoted in (
            ("tls-104\x00", "tls-104\\x00"),
            ("\x1b[2J", "\\x1b[2J"),
            ("tls\u200b104", "tls\\u200b104"),
        ):
            await pilot.press("slash")  # the search box, its text selected
            await type_text(pilot, typed)
            await pilot.press("enter")
            await settle(pilot)
            assert app.screen is screen
            assert shown(app, "#lots-page") == (
                f'Search: "{quoted}" contains control or invisible characters.'
            )
            assert line.has_class("error")
            assert [str(table.get_row_at(n)[0]) for n in range(table.row_count)] == every
        await pilot.press("slash")
        await type_text(pilot, "tls104")
        await pilot.press("enter")
        await until(pilot, lambda: table.row_count == 1, "the one lot of TLS-104")
        assert str(table.get_row_at(0)[1]) == "TLS-104"
        assert not line.has_class("error")
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, LotDetailScreen)
        assert app.screen.lot_id == ids["TLS-104"]
    db.dispose()


@pytest.mark.asyncio
async def test_a_tab_of_the_batch_record_is_built_when_shown_and_has_the_keys(
    tmp_path: Path,
) -> None:
    db, ids = private_copy(tmp_path)
    app = make_app(db, clock=frozen_clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await login_and_open(pilot, "tech", LotDetailScreen(ids["TLS-104"]))
        screen = app.screen
        assert isinstance(screen, LotDetailScreen)
        tabs = screen.query_one(LazyTabs)
        assert app.focused is screen.query_one("#lot-timeline", DataTable)
        assert not screen.query("#lot-qc")  # not built until shown
        labels = next(line for line in screen_text(app).splitlines() if "1 Overview" in line)
        bar = screen.query_one(TabBar)
        await pilot.click(TabBar, offset=(labels.index("4 QC") - bar.region.x, 1))
        await settle(pilot)
        assert tabs.active == "qc"
        qc = screen.query_one("#lot-qc", DataTable)
        assert app.focused is qc
        assert qc.row_count > 0
        assert shown(app, "#lot-readiness") == "Every required result is in and conforms."
        await pilot.press("2")
        await settle(pilot)
        assert app.focused is screen.query_one("#lot-passages", DataTable)
        await pilot.press("1")
        await settle(pilot)
        assert app.focused is screen.query_one("#lot-timeline", DataTable)
    db.dispose()
