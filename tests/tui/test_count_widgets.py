"""The count widgets write every number of their summary with the site's decimal separator."""

from __future__ import annotations

import pytest
from textual.app import App, ComposeResult
from textual.widgets import Input

from lottrack.kernel import calc
from lottrack.kernel.units import format_number
from tests.tui.helpers import settle, shown
from tui.widgets.automated_counts import AutomatedCounts

pytestmark = pytest.mark.asyncio


class Counter(App[None]):
    def compose(self) -> ComposeResult:
        yield AutomatedCounts(decimal_separator=",")


async def test_the_automated_counts_cv_is_written_with_the_sites_separator() -> None:
    app = Counter()
    async with app.run_test(size=(100, 12)) as pilot:
        boxes = list(app.query(Input))
        for box, value in zip(boxes, ("1e6/mL", "90 %", "1,1e6/mL", "90 %"), strict=True):
            box.value = value
        await settle(pilot)
        cv = calc.replicate_stats([0.9e6, 0.99e6], "Viable concentration").cv_percent
        assert cv is not None
        summary = shown(app, ".rep-summary")
        assert f"viability 90 % · CV {format_number(cv, decimal_separator=',')} % " in summary
