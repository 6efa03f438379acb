"""The Users screen: add, disable, enable, unlock, reset; refusals inline; admins only."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlmodel import select
from textual.pilot import Pilot
from textual.widgets import DataTable, Input, SelectionList

from lottrack.kernel.errors import AuthenticationFailed
from lottrack.records import accounts
from lottrack.storage.db import Database
from lottrack.storage.models import User
from tests.tui.helpers import login, screen_text, settle, shown, type_text
from tui.admin.new_user import NewUserModal
from tui.admin.users import UsersScreen
from tui.app import LotTrackApp
from tui.common.login import LoginScreen
from tui.dialogs.reason import ReasonModal
from tui.home import HomeScreen

pytestmark = pytest.mark.asyncio


async def open_users(pilot: Pilot[None]) -> UsersScreen:
    """Log in as the demo admin and press u."""
    await login(pilot, "admin")
    await pilot.press("u")
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, UsersScreen)
    return screen


async def highlight(pilot: Pilot[None], username: str) -> None:
    """Move the table cursor to ``username`` with the arrow keys."""
    table = pilot.app.screen.query_one(DataTable)
    target = table.get_row_index(username)
    while table.cursor_row != target:
        await pilot.press("down" if table.cursor_row < target else "up")
    await pilot.pause()


async def fill_new_user(
    pilot: Pilot[None], username: str, password: str, roles: tuple[int, ...]
) -> None:
    """Fill the add-user form with the keyboard and press Add."""
    await type_text(pilot, username)
    await pilot.press("enter")
    await type_text(pilot, "Jane Doe")
    await pilot.press("enter")
    await type_text(pilot, password)
    await pilot.press("enter")
    await type_text(pilot, password)
    await pilot.press("enter")  # to the role list
    for index in roles:
        pilot.app.screen.query_one(SelectionList).highlighted = index
        await pilot.press("space")
    await pilot.click("#ok")
    await settle(pilot)


async def test_admin_adds_a_user_through_the_form(
    app: LotTrackApp, user_row: Callable[[str], User]
) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await open_users(pilot)
        await pilot.press("a")
        await pilot.pause()
        assert isinstance(app.screen, NewUserModal)
        # The service refuses a short password: the form comes back with it, values kept.
        await fill_new_user(pilot, "jdoe", "short", roles=(0, 1))
        assert isinstance(app.screen, NewUserModal)
        assert "at least 12 characters" in shown(app, "#dialog-message")
        assert app.screen.query_one("#username", Input).value == "jdoe"
        assert app.focused is app.screen.query_one("#password")
        for widget in ("#password", "#confirm"):
            app.screen.query_one(widget, Input).value = "long-enough-pass"
        await pilot.click("#ok")
        await settle(pilot)
        assert isinstance(app.screen, UsersScreen)
        assert "Added jdoe (Jane Doe): qa, technician." in shown(app, "#users-status")
        assert "jdoe" in screen_text(app)
    created = user_row("jdoe")
    assert created.full_name == "Jane Doe"
    assert created.role_set == {"technician", "qa"}
    assert created.active
    assert created.must_change_password is True  # chooses their own at the first login


async def test_disabled_user_cannot_log_in(
    app: LotTrackApp, user_row: Callable[[str], User]
) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await open_users(pilot)
        # An administrator cannot lock themself out: the service says so inline.
        await highlight(pilot, "admin")
        await pilot.press("d")
        await pilot.pause()
        await type_text(pilot, "testing")
        await pilot.press("enter")
        await settle(pilot)
        assert "You cannot disable your own account." in shown(app, "#users-status")
        assert app.screen.query_one("#users-status").has_class("error")
        await highlight(pilot, "tech2")
        await pilot.press("d")
        await pilot.pause()
        assert isinstance(app.screen, ReasonModal)
        await type_text(pilot, "left the facility")
        await pilot.press("enter")
        await settle(pilot)
        assert "tech2 is now disabled." in shown(app, "#users-status")
        assert "disabled" in screen_text(app)
        # The footer now offers Enable instead of Disable for this row.
        keys = app.screen.active_bindings
        assert "e" in keys
        assert "d" not in keys
        await pilot.press("ctrl+l")
        await settle(pilot)
        await login(pilot, "tech2")
        assert isinstance(app.screen, LoginScreen)
        assert "The account 'tech2' is disabled." in shown(app, "#login-message")
    assert user_row("tech2").active is False


async def test_unlock_and_reset_password(
    app: LotTrackApp, demo_db: Database, user_row: Callable[[str], User]
) -> None:
    for _ in range(5):
        with pytest.raises(AuthenticationFailed), demo_db.session() as session:
            accounts.authenticate(session, "pharm2", "wrong")
    assert user_row("pharm2").locked_at is not None
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_users(pilot)
        assert "LOCKED" in screen_text(app)
        await highlight(pilot, "pharm2")
        assert screen.check_action("unlock", ()) is True
        await pilot.press("u")
        await pilot.pause()
        await type_text(pilot, "identity confirmed by phone")
        await pilot.press("enter")
        await settle(pilot)
        assert "pharm2 is now unlocked." in shown(app, "#users-status")
        assert screen.check_action("unlock", ()) is False
        await pilot.press("p")
        await pilot.pause()
        await type_text(pilot, "temporary-pass-9")
        await pilot.press("enter")
        await type_text(pilot, "temporary-pass-9")
        await pilot.press("enter")
        await settle(pilot)
        assert "must change it at next login" in shown(app, "#users-status")
        await pilot.press("escape")
        await settle(pilot)
        assert "0 locked." in screen_text(app)  # the admin home read the accounts again
    row = user_row("pharm2")
    assert row.locked_at is None
    assert row.failed_logins == 0
    assert row.must_change_password is True


async def test_non_admin_cannot_reach_the_users_screen(app: LotTrackApp) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot, "tech")
        assert isinstance(app.screen, HomeScreen)
        assert app.check_action("open", ("users",)) is False
        assert "u" not in app.screen.active_bindings
        assert "Users" not in screen_text(app)
        names = [c.name for c in app.palette_commands(app.screen)]
        assert "Users" not in names
        assert "Audit" not in names
        await pilot.press("u")
        await settle(pilot)
        assert isinstance(app.screen, HomeScreen)
        # Even a direct call is refused by the app.
        app.open_destination("users")
        await settle(pilot)
        assert isinstance(app.screen, HomeScreen)


async def test_the_form_refuses_roles_that_cannot_mix(app: LotTrackApp, demo_db: Database) -> None:
    """Pharmacist and clinician for one person: the service's words, inline, nothing added."""
    async with app.run_test(size=(80, 24)) as pilot:
        await open_users(pilot)
        await pilot.press("a")
        await pilot.pause()
        await fill_new_user(pilot, "mixie", "long-enough-pass", roles=(2, 3))
        await settle(pilot)
        assert isinstance(app.screen, NewUserModal)
        assert "the pharmacist role cannot be combined with clinician" in shown(
            app, "#dialog-message"
        )
    with demo_db.reader() as s:
        assert s.exec(select(User).where(User.username == "mixie")).first() is None
