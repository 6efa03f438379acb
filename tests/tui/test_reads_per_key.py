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

from lottrack.storage.db import Database
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
    assert len(statements) <= 65, len(statements)  # 52 on the demo (106 before #18)


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
