"""Nothing is read twice per key press (#18): opening a batch record, a QA review or a
pharmacy visit sends a bounded number of statements to the database, none of them twice
with the same parameters (counted on the driver, on a real demo database)."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event
from textual.pilot import Pilot
from textual.widgets import DataTable

from lottrack.storage.db import Database, StorageError
from lottrack.views import listings
from tests.tui.helpers import login, settle
from tui.app import LotTrackApp
from tui.manufacturing.lot_detail import LotDetailScreen
from tui.manufacturing.lots import LotsScreen
from tui.pharmacy.visit import PharmacyVisitScreen
from tui.qa.review import QAReviewScreen

pytestmark = pytest.mark.asyncio


@contextmanager
def sent(db: Database) -> Iterator[list[tuple[str, str]]]:
    """Every statement (with its parameters) sent to the driver in the block."""
    statements: list[tuple[str, str]] = []

    def capture(
        _conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _executemany: bool
    ) -> None:
        statements.append((" ".join(statement.split()), repr(parameters)))

    event.listen(db.engine, "before_cursor_execute", capture)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", capture)


def repeated(statements: list[tuple[str, str]]) -> list[str]:
    """The statements sent more than once with the same parameters (transaction control
    aside)."""
    counts = Counter(s for s in statements if not re.match(r"(BEGIN|COMMIT|ROLLBACK)", s[0]))
    return [f"{n}× {sql[:160]} {params[:60]}" for (sql, params), n in counts.items() if n > 1]


async def reads_of(
    pilot: Pilot[None], db: Database, press: Callable[[], Awaitable[None]]
) -> list[tuple[str, str]]:
    await settle(pilot)
    with sent(db) as statements:
        await press()
        await settle(pilot)
    return statements


async def test_opening_a_batch_record_reads_each_thing_once(
    app: LotTrackApp, demo_db: Database
) -> None:
    async with app.run_test(size=(120, 40)) as pilot:
        await login(pilot, "tech")
        await pilot.press("l")
        await settle(pilot)
        assert isinstance(app.screen, LotsScreen)
        await pilot.press("down")  # from the search box to the list
        statements = await reads_of(pilot, demo_db, lambda: pilot.press("enter"))
        assert isinstance(app.screen, LotDetailScreen)
        assert app.screen.lot is not None
    assert not repeated(statements), "\n".join(repeated(statements))
    assert len(statements) <= 55, len(statements)  # 45 on the demo (91 before #18)


async def test_opening_a_qa_review_reads_each_thing_once(
    app: LotTrackApp, demo_db: Database
) -> None:
    async with app.run_test(size=(120, 40)) as pilot:
        await login(pilot, "qa")
        statements = await reads_of(pilot, demo_db, lambda: pilot.press("enter"))
        assert isinstance(app.screen, QAReviewScreen)
        assert app.screen.lot is not None
    assert not repeated(statements), "\n".join(repeated(statements))
    # 39 on the demo: 52 when the audit trail's records were named before its tab was
    # shown, 106 before #18.
    assert len(statements) <= 45, len(statements)


async def test_the_review_names_its_audit_trail_once_its_tab_is_shown(
    app: LotTrackApp, demo_db: Database
) -> None:
    """2 shows the audit trail with every record named, read then (and once)."""
    async with app.run_test(size=(120, 40)) as pilot:
        await login(pilot, "qa")
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, QAReviewScreen)
        statements = await reads_of(pilot, demo_db, lambda: pilot.press("2"))
        table = app.screen.query_one("#review-audit", DataTable)
        records = [str(table.get_row_at(n)[4]) for n in range(table.row_count)]
        lot = app.screen.lot
        assert lot is not None
        assert lot.audit
        shown = [" ".join(r.split()) for r in records]  # a long name wraps in its cell
        assert shown == [e.record for e in lot.audit]
        assert all(shown)
        assert any(" of L-" in r for r in shown)  # "Passage P0 of L-…"
    assert statements, "the names were read when the tab was shown"
    assert not repeated(statements), "\n".join(repeated(statements))


async def test_opening_a_pharmacy_visit_reads_each_thing_once(
    app: LotTrackApp, demo_db: Database
) -> None:
    async with app.run_test(size=(120, 40)) as pilot:
        await login(pilot, "pharm")
        statements = await reads_of(pilot, demo_db, lambda: pilot.press("enter"))
        assert isinstance(app.screen, PharmacyVisitScreen)
        assert app.screen.visit is not None
    assert not repeated(statements), "\n".join(repeated(statements))
    assert len(statements) <= 40, len(statements)  # 29 on the demo (76 before #18)


async def test_names_that_could_not_be_read_are_read_when_the_tab_is_shown_again(
    app: LotTrackApp, demo_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A failed read of the audit trail's names says so and leaves the tab empty; showing
    the tab again reads them."""
    named = listings.named
    calls: list[int] = []

    def failing_once(session: Any, who: Any, rows: Any) -> Any:
        calls.append(1)
        if len(calls) == 1:
            raise StorageError("The database could not be read (the server went away).")
        return named(session, who, rows)

    monkeypatch.setattr(listings, "named", failing_once)
    async with app.run_test(size=(120, 40)) as pilot:
        await login(pilot, "qa")
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, QAReviewScreen)
        await pilot.press("2")
        await settle(pilot)
        table = app.screen.query_one("#review-audit", DataTable)
        assert table.row_count == 0
        assert any("could not be read" in str(n.message) for n in app._notifications)
        await pilot.press("1")
        await pilot.press("2")
        await settle(pilot)
        assert len(calls) == 2
        assert table.row_count > 0
        assert all(" ".join(str(table.get_row_at(n)[4]).split()) for n in range(table.row_count))
