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
from sqlmodel import select
from textual.pilot import Pilot
from textual.widgets import DataTable, LoadingIndicator

from lottrack.storage.db import Database, StorageError
from lottrack.storage.models import Lot
from lottrack.views import listings
from tests.tui.helpers import login, settle, shown
from tui.app import LotTrackApp
from tui.common.paged_list import PagedListScreen
from tui.manufacturing.lot_detail import LotDetailScreen
from tui.manufacturing.lots import LotsScreen
from tui.pharmacy.allocation import AllocationScreen
from tui.pharmacy.visit import PharmacyVisitScreen
from tui.qa.review import QAReviewScreen
from tui.ward.patients import FindPatientScreen

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
    # 30 on the demo: 45 before its parts shared their statements, 91 before #18.
    assert len(statements) <= 36, len(statements)


async def test_opening_a_qa_review_reads_each_thing_once(
    app: LotTrackApp, demo_db: Database
) -> None:
    async with app.run_test(size=(120, 40)) as pilot:
        await login(pilot, "qa")
        statements = await reads_of(pilot, demo_db, lambda: pilot.press("enter"))
        assert isinstance(app.screen, QAReviewScreen)
        assert app.screen.lot is not None
    assert not repeated(statements), "\n".join(repeated(statements))
    # 26 on the demo: 31 when it read the lab's parts of the batch record too, 39 before
    # those parts shared their statements, 52 when the audit trail's records were named
    # before its tab was shown, 106 before #18.
    assert len(statements) <= 32, len(statements)


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


@pytest.mark.parametrize(
    ("username", "key", "screen_type"),
    [
        ("tech", "l", LotsScreen),
        ("ward", "slash", FindPatientScreen),
        ("pharm", "o", AllocationScreen),
    ],
)
async def test_a_list_reads_its_first_page_once_as_many_rows_as_show(
    app: LotTrackApp,
    demo_db: Database,
    monkeypatch: pytest.MonkeyPatch,
    username: str,
    key: str,
    screen_type: type[PagedListScreen[Any, Any]],
) -> None:
    """The first page is asked for as soon as the table has its size (#18), and once:
    not again after the screen's first refresh, and not with a guess the layout then
    corrects."""
    asked: list[int] = []
    read_page = screen_type._read_page

    def counted(self: Any, db: Database, who: Any, query: Any) -> Any:
        asked.append(query.limit)
        return read_page(self, db, who, query)

    monkeypatch.setattr(screen_type, "_read_page", counted)
    async with app.run_test(size=(120, 40)) as pilot:
        await login(pilot, username)
        await pilot.press(key)
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, screen_type)
        table = screen.query_one(f"#{screen.TABLE_ID}", DataTable)
        assert asked == [table.size.height - 1], (asked, table.size)
        assert screen.page is not None
        assert table.row_count == min(asked[0], screen.page.total) > 0


@pytest.mark.parametrize(
    ("read", "screen_type", "head"),
    [
        ("tui.qa.review.read_review", QAReviewScreen, "#review-head"),
        ("tui.manufacturing.lot_detail.read_lot", LotDetailScreen, "#lot-head"),
    ],
)
async def test_a_batch_record_that_cannot_be_read_says_so_on_its_screen(
    app: LotTrackApp,
    demo_db: Database,
    monkeypatch: pytest.MonkeyPatch,
    read: str,
    screen_type: type[QAReviewScreen | LotDetailScreen],
    head: str,
) -> None:
    """The read starts before the screen's widgets are mounted (#18): when it fails at
    once, the screen still says so where the lot would be, and the error is shown."""

    def failing(*_args: Any, **_kwargs: Any) -> Any:
        raise StorageError("The database could not be read (the server went away).")

    monkeypatch.setattr(read, failing)
    async with app.run_test(size=(120, 40)) as pilot:
        await login(pilot, "qa")
        with demo_db.reader() as session:
            lot_id = session.exec(select(Lot.id)).first()
        assert lot_id is not None
        app.push_screen(screen_type(lot_id))
        await settle(pilot)
        assert isinstance(app.screen, screen_type)
        assert app.screen.lot is None
        assert "could not be read" in shown(app, head)
        assert not app.screen.query_one(LoadingIndicator).display
        assert any("server went away" in str(n.message) for n in app._notifications)
