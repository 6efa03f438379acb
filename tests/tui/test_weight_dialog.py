"""The weight dialog (design §6.8): a weight outside 30–200 kg is returned for storing
only after a second Enter confirms it; a plausible one at once."""

from __future__ import annotations

import pytest

from tests.tui.helpers import frozen_clock, login, screen_text, settle, shown, type_text
from tui.app import LotTrackApp
from tui.dialogs.confirm import ConfirmModal
from tui.dialogs.weight import WeightEntry, WeightModal

pytestmark = pytest.mark.asyncio


async def test_an_implausible_weight_needs_a_second_key(app: LotTrackApp) -> None:
    got: list[WeightEntry | None] = []
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot, "ward")
        for typed in ("250 kg", "70 kg"):
            app.push_screen(WeightModal("TLS-009", frozen_clock), got.append)
            await settle(pilot)
            await type_text(pilot, typed)
            await pilot.press("enter")  # Enter in the weight field records
            await settle(pilot)
            if typed == "250 kg":
                assert isinstance(app.screen, WeightModal)  # not yet: asks to confirm
                assert got == []
                assert "Weight 250 kg is outside the usual 30–200 kg" in shown(
                    app, "#dialog-message"
                )
                assert "again to confirm" in shown(app, "#dialog-message")
                await pilot.press("enter")  # the second key confirms
                await settle(pilot)
            assert not isinstance(app.screen, WeightModal)
    assert [(e.weight_text, e.confirmed) for e in got if e is not None] == [
        ("250 kg", True),
        ("70 kg", False),
    ]


async def test_esc_asks_before_throwing_away_a_typed_weight(app: LotTrackApp) -> None:
    """Esc on a dialog closes it at once when nothing was typed; with a typed weight it
    asks first, and "Keep editing" keeps the weight in its field."""
    got: list[WeightEntry | None] = []
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot, "ward")
        app.push_screen(WeightModal("TLS-009", frozen_clock), got.append)
        await settle(pilot)
        await pilot.press("escape")
        await settle(pilot)
        assert not isinstance(app.screen, WeightModal)
        assert got == [None]
        app.push_screen(WeightModal("TLS-009", frozen_clock), got.append)
        await settle(pilot)
        await type_text(pilot, "71 kg")
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmModal), screen_text(app)
        assert "Discard what you typed?" in screen_text(app)
        await pilot.press("escape")  # Keep editing
        await settle(pilot)
        assert isinstance(app.screen, WeightModal)
        assert "71 kg" in screen_text(app)
        await pilot.press("escape")
        await settle(pilot)
        await pilot.press("y")  # Discard
        await settle(pilot)
        assert not isinstance(app.screen, WeightModal)
    assert got == [None, None]
