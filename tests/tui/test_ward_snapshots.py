"""How the ward visit screen looks at 80x24 and 120x40 (pytest-textual-snapshot).

The core's clock, the app's clock and the kit codes are frozen (``trial_data``), so the
picture changes only when the layout does. Review the report before accepting an update.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from textual.pilot import Pilot

from lottrack.storage.db import Database
from tests.tui import trial_data
from tests.tui.helpers import frozen_clock, login, settle
from tests.tui.trial_data import TrialIds
from tui.app import make_app

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((120, 40), id="120x40")]
Compare = Callable[..., bool]
trial_template, trial = trial_data.trial_template, trial_data.trial


@pytest.mark.parametrize("size", SIZES)
def test_ward_visit_screen(
    snap_compare: Compare,
    trial: tuple[Database, TrialIds],
    size: tuple[int, int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """TLS-102, period 1: dispensed and verified, ready for the bedside check."""
    monkeypatch.setenv("LOTTRACK_DOCUMENTS_DIR", "/srv/lottrack/documents")

    async def run_before(pilot: Pilot[None]) -> None:
        await login(pilot, "ward")
        await pilot.press("down", "down", "enter")
        await settle(pilot)

    app = make_app(trial[0], clock=frozen_clock)
    assert snap_compare(app, terminal_size=size, run_before=run_before)
