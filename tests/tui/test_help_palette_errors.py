"""F1 help, the role-aware command palette, and how failures are shown."""

from __future__ import annotations

import logging

import pytest
from textual.command import CommandPalette

from lottrack.kernel.errors import PermissionDenied
from lottrack.records import accounts
from tests.tui.helpers import login, screen_text, settle, shown, type_text
from tui.admin.users import UsersScreen
from tui.app import LotTrackApp
from tui.common.help import HelpScreen
from tui.common.login import LoginScreen
from tui.home import HomeScreen

pytestmark = pytest.mark.asyncio


async def test_f1_shows_help_for_the_current_screen(app: LotTrackApp) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot, "qa")
        await pilot.press("f1")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        text = screen_text(app)
        assert "Home" in text
        assert "Lots awaiting review" in text
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, HomeScreen)


async def test_palette_lists_only_what_the_role_may_do(app: LotTrackApp) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot, "admin")
        names = [c.name for c in app.palette_commands(app.screen)]
        assert names == ["Users", "Audit", "Specs", "Sites", "Reload", "Log out", "Help", "Quit"]
        assert {"u", "a"} <= set(app.screen.active_bindings)
        await pilot.press("ctrl+p")
        await pilot.pause()
        assert isinstance(app.screen, CommandPalette)
        await type_text(pilot, "users")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, UsersScreen)
        names = [c.name for c in app.palette_commands(app.screen)]
        assert "Users" not in names
        assert "Home" in names


async def test_palette_for_a_clinician(app: LotTrackApp) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot, "ward")
        names = [c.name for c in app.palette_commands(app.screen)]
        assert names == ["Find patient", "Reload", "Log out", "Help", "Quit"]


async def test_service_error_becomes_a_notification(
    app: LotTrackApp, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def refuse(*_args: object, **_kwargs: object) -> None:
        raise PermissionDenied("The account 'admin' is disabled.")

    caplog.set_level(logging.INFO)  # as lottrack.kernel.logs.configure sets it
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await login(pilot, "admin")
        monkeypatch.setattr(accounts, "list_users", refuse)
        await pilot.press("r")
        await settle(pilot)
        text = screen_text(app)
        assert "Not permitted" in text
        assert "The account 'admin' is disabled." in text
        assert "could not be loaded" in shown(app, ".pane-failed")
    # The log names the refusal, not its words (they may be unblinded), and no traceback.
    refused = [r for r in caplog.records if "refused" in r.getMessage()]
    assert [r.getMessage() for r in refused] == [
        "an action on HomeScreen refused: PermissionDenied (Not permitted)"
    ]
    assert refused[0].exc_info is None
    assert "disabled" not in caplog.text


async def test_unexpected_error_is_a_notification_not_a_traceback(
    app: LotTrackApp, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def explode(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("disk on fire")

    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await settle(pilot)
        monkeypatch.setattr(accounts, "authenticate", explode)
        await login(pilot, "tech")
        assert isinstance(app.screen, LoginScreen)
        text = screen_text(app)
        assert "Unexpected error" in text
        assert "RuntimeError: disk on fire" in text
        assert "Traceback" not in text
        assert not app.screen.query_one("#login").disabled
    # The log has what the screen leaves out: the traceback.
    (failed,) = [r for r in caplog.records if r.getMessage().endswith("failed")]
    assert failed.getMessage() == "an action on LoginScreen failed"
    assert failed.levelname == "ERROR"
    assert "Traceback" in caplog.text
    assert "RuntimeError: disk on fire" in caplog.text
