"""How the visit screens of the trial look at 80x24 and 120x40 (pytest-textual-snapshot):
the pharmacy's (unblinded) and the ward's (blinded).

The core's clock, the app's clock and the kit codes are frozen (``trial_data``), so the
picture changes only when the layout does. Review the report before accepting an update.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from textual.pilot import Pilot

from lottrack.storage.db import Database
from tests.tui import trial_data
from tests.tui.helpers import frozen_clock, login, screen_text, settle, tables_painted, until
from tests.tui.trial_data import TrialIds
from tui.app import make_app
from tui.pharmacy.visit import PharmacyVisitScreen

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((120, 40), id="120x40")]
Compare = Callable[..., bool]
Trial = tuple[Database, TrialIds]
trial_template, trial = trial_data.trial_template, trial_data.trial


@pytest.fixture(autouse=True)
def documents_dir(monkeypatch: pytest.MonkeyPatch) -> None:
    """The same documents folder in every picture (the screens name where they print)."""
    monkeypatch.setenv("LOTTRACK_DOCUMENTS_DIR", "/srv/lottrack/documents")


@pytest.mark.parametrize("size", SIZES)
def test_pharmacy_visit_screen(snap_compare: Compare, trial: Trial, size: tuple[int, int]) -> None:
    """TLS-101, period 1 (MSC): the bag, all six checks green, the dose and its range."""

    async def run_before(pilot: Pilot[None]) -> None:
        await login(pilot, "pharm")
        # Each step waits for what it needs, so that a slow machine fails naming the step.
        await until(pilot, lambda: tables_painted(pilot.app), "the visits due on screen")
        await pilot.press("enter")
        await until(
            pilot,
            lambda: isinstance(pilot.app.screen, PharmacyVisitScreen),
            "the pharmacy visit screen after Enter on the first visit",
        )
        # The bag table lays its rows out when the app is next idle; on a busy machine the
        # picture was once taken before (rows missing): wait for them to be on screen.
        await until(
            pilot,
            lambda: any(
                "K-" in line and " mL " in line for line in screen_text(pilot.app).splitlines()
            ),
            "the bag's row on screen",
        )

    app = make_app(trial[0], clock=frozen_clock)
    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_ward_visit_screen(snap_compare: Compare, trial: Trial, size: tuple[int, int]) -> None:
    """TLS-102, period 1: dispensed and verified, ready for the bedside check."""

    async def run_before(pilot: Pilot[None]) -> None:
        await login(pilot, "ward")
        await pilot.press("down", "down", "enter")
        await settle(pilot)

    app = make_app(trial[0], clock=frozen_clock)
    assert snap_compare(app, terminal_size=size, run_before=run_before)
