"""The lab's work list and the lot list say when a lot has an open OOS investigation
(design §6.6, issue #16): neither can be released while one is open."""

from __future__ import annotations

import pytest

from tests.tui.helpers import login, screen_text, settle
from tui.app import LotTrackApp

pytestmark = pytest.mark.asyncio


async def test_the_lot_list_and_lab_work_list_say_an_investigation_is_open(
    app: LotTrackApp,
) -> None:
    # The demo's TLS-003 is out of specification (viability 75 %): an investigation is open.
    async with app.run_test(size=(120, 40)) as pilot:
        await login(pilot, "tech")
        line = next(x for x in screen_text(app).splitlines() if "TLS-003" in x)
        assert "Retest: Investigation #" in line
        await pilot.press("l")
        await settle(pilot)
        line = next(x for x in screen_text(app).splitlines() if "TLS-003" in x)
        assert "awaiting release · investigation open" in line
        line = next(x for x in screen_text(app).splitlines() if "TLS-002" in x)
        assert "open" not in line
