"""How the main screens look at 80x24 and 120x40 (pytest-textual-snapshot).

The clock is frozen and the cursor does not blink (see conftest), so the pictures only
change when the layout does. Review the report before accepting an update.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from textual.pilot import Pilot

from lottrack.storage.db import Database
from tests.tui.helpers import frozen_clock, login, more_subjects, settle
from tui.app import make_app

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((120, 40), id="120x40")]
Compare = Callable[..., bool]


@pytest.mark.parametrize("size", SIZES)
def test_login_screen(snap_compare: Compare, demo_db: Database, size: tuple[int, int]) -> None:
    """The login screen of a demo database, username field focused."""

    async def run_before(pilot: Pilot[None]) -> None:
        await settle(pilot)

    app = make_app(demo_db, clock=frozen_clock)
    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_admin_home(snap_compare: Compare, demo_db: Database, size: tuple[int, int]) -> None:
    """The administrator's home: account summary and the way to Users and Audit."""

    async def run_before(pilot: Pilot[None]) -> None:
        await login(pilot, "admin")

    app = make_app(demo_db, clock=frozen_clock)
    assert snap_compare(app, terminal_size=size, run_before=run_before)


# The technician's home lists demo lots whose times follow the real clock; its look is
# covered by the lot list / detail snapshots in test_lots_snapshots.py (frozen data).


@pytest.mark.parametrize("size", SIZES)
def test_allocation_second_page(
    snap_compare: Compare, demo_db: Database, size: tuple[int, int]
) -> None:
    """The pharmacist's allocation, 42 subjects, on its second page (the demo's subjects
    are on the first: their visit dates follow the real clock)."""
    more_subjects(demo_db, 30)

    async def run_before(pilot: Pilot[None]) -> None:
        await login(pilot, "pharm")
        await pilot.press("o")
        await settle(pilot)
        await pilot.press("pagedown")
        await settle(pilot)

    app = make_app(demo_db, clock=frozen_clock)
    assert snap_compare(app, terminal_size=size, run_before=run_before)
