"""How the lot screens look at 80x24 and 120x40 (pytest-textual-snapshot).

The data set is fixed (frozen core clock, seeded codes: see ``lot_data``) and so is the
app clock, so the pictures change only when the layout does. Review the report before
accepting an update.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from textual.pilot import Pilot

from tests.tui.helpers import frozen_clock, login, login_and_open, settle, type_text
from tests.tui.lot_data import private_copy
from tui.app import make_app
from tui.manufacturing.forms.count import CountForm
from tui.manufacturing.lot_detail import LotDetailScreen
from tui.qa.review import QAReviewScreen

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((120, 40), id="120x40")]
Compare = Callable[..., bool]


@pytest.mark.parametrize("size", SIZES)
def test_lot_list(snap_compare: Compare, tmp_path: Path, size: tuple[int, int]) -> None:
    """Every lot, newest first, with status and dates; the search box focused."""
    db, _ = private_copy(tmp_path)

    async def run_before(pilot: Pilot[None]) -> None:
        await login(pilot, "tech")
        await pilot.press("l")
        await settle(pilot)

    assert snap_compare(make_app(db, clock=frozen_clock), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_lot_detail_passages(snap_compare: Compare, tmp_path: Path, size: tuple[int, int]) -> None:
    """A released lot's passages with PD, cumulative PD, doubling time and growth chart."""
    db, ids = private_copy(tmp_path)

    async def run_before(pilot: Pilot[None]) -> None:
        await login_and_open(pilot, "tech", LotDetailScreen(ids["TLS-104"]), "2")

    assert snap_compare(make_app(db, clock=frozen_clock), terminal_size=size, run_before=run_before)


def test_lot_detail_overview(snap_compare: Compare, tmp_path: Path) -> None:
    """A growing lot: what is due next and its timeline."""
    db, ids = private_copy(tmp_path)

    async def run_before(pilot: Pilot[None]) -> None:
        await login_and_open(pilot, "tech", LotDetailScreen(ids["TLS-101"]))

    assert snap_compare(
        make_app(db, clock=frozen_clock), terminal_size=(80, 24), run_before=run_before
    )


def test_count_form_calculator(snap_compare: Compare, tmp_path: Path) -> None:
    """The hemocytometer calculator with two replicates, one too far apart: RECOUNT."""
    db, ids = private_copy(tmp_path)

    async def run_before(pilot: Pilot[None]) -> None:
        await login(pilot, "tech")
        pilot.app.push_screen(CountForm(ids["TLS-105"]))
        await settle(pilot)
        rows = pilot.app.screen.query(".rep-row")
        for row, (live, dead) in zip(rows, (("60", "3"), ("90", "4")), strict=True):
            row.query_one(".rep-live").focus()
            await pilot.pause()
            await type_text(pilot, live)
            await pilot.press("tab")
            await type_text(pilot, dead)
        await pilot.pause()

    assert snap_compare(
        make_app(db, clock=frozen_clock), terminal_size=(80, 24), run_before=run_before
    )


def test_qa_review_out_of_specification(snap_compare: Compare, tmp_path: Path) -> None:
    """QA review of a lot out of specification: the result and its limit in red."""
    db, ids = private_copy(tmp_path)

    async def run_before(pilot: Pilot[None]) -> None:
        await login_and_open(pilot, "qa", QAReviewScreen(ids["TLS-103"]))

    assert snap_compare(
        make_app(db, clock=frozen_clock), terminal_size=(80, 24), run_before=run_before
    )
