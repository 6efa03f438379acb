"""The reagent lots screen lists every reagent lot and keeps the highlighted one across a
refresh."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.widgets import DataTable

from lottrack.storage.db import Database
from tests.tui.helpers import frozen_clock, login, screen_text, settle, until
from tests.tui.lot_data import private_copy
from tui.app import make_app
from tui.manufacturing.reagent_lots import ReagentLotsScreen
from tui.widgets.record_table import highlighted_key


@pytest.fixture
def lots_db(tmp_path: Path) -> Iterator[tuple[Database, dict[str, int]]]:
    db, ids = private_copy(tmp_path)
    yield db, ids
    db.dispose()


@pytest.mark.asyncio
async def test_the_list_shows_every_lot_and_a_refresh_keeps_the_cursor(
    lots_db: tuple[Database, dict[str, int]],
) -> None:
    db, _ = lots_db
    app = make_app(db, clock=frozen_clock)
    async with app.run_test(size=(120, 40)) as pilot:
        await login(pilot, "tech")
        screen = ReagentLotsScreen()
        await app.push_screen(screen)
        await settle(pilot)
        table = screen.query_one("#reagents-table", DataTable)
        await until(pilot, lambda: table.row_count > 2, "the reagent lots")
        assert table.row_count == len(screen.rows)
        for row in screen.rows.values():
            assert row.lot_number in screen_text(app)
        await pilot.press("down", "down")
        await settle(pilot)
        chosen = highlighted_key(table)
        assert chosen is not None
        assert chosen != next(iter(screen.rows))
        screen.action_reload()
        await settle(pilot)
        await until(pilot, lambda: table.row_count == len(screen.rows), "the reload")
        assert highlighted_key(table) == chosen


@pytest.mark.asyncio
async def test_at_80_columns_nothing_is_cut_and_the_supplier_is_under_the_list(
    lots_db: tuple[Database, dict[str, int]],
) -> None:
    """Seven columns ran off 80 columns ("suspension-medi", no supplier): the kind now
    takes the room left and the highlighted lot's supplier is on the line below."""
    db, _ = lots_db
    app = make_app(db, clock=frozen_clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot, "tech")
        screen = ReagentLotsScreen()
        await app.push_screen(screen)
        await settle(pilot)
        table = screen.query_one("#reagents-table", DataTable)
        await until(pilot, lambda: table.row_count > 2, "the reagent lots")
        text = screen_text(app)
        for row in screen.rows.values():
            assert row.kind in text.split(), row.kind  # whole, on one line
        await pilot.press("down")
        await settle(pilot)
        row = screen.rows[highlighted_key(table) or ""]
        assert f"supplier {row.supplier}" in screen_text(app)
