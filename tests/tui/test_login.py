"""Logging in, refusals shown inline, lock-out, expired passwords, role homes, log out."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from textual import events
from textual.widgets import DataTable, Input

from lottrack.demo import database as demo
from lottrack.records import accounts
from lottrack.records.permissions import CurrentUser
from lottrack.storage.db import Database, StorageError
from lottrack.storage.models import User
from tests.tui.helpers import login, screen_text, settle, shown, type_text
from tui.app import LotTrackApp
from tui.common.change_password import ChangePasswordScreen
from tui.common.login import LoginScreen
from tui.home import HomeScreen
from tui.panes import RolePane, TablePane
from tui.panes.qa import LotsAwaitingReviewPane

pytestmark = pytest.mark.asyncio

HOME_TEXT = {
    "admin": ["Administration", f"{len(demo.DEMO_USERS)} accounts"],
    "tech": ["Lots in process"],
    "tech2": ["Lots in process"],
    "qa": ["Lots awaiting review"],
    "pharm": ["Visits due"],
    "pharm2": ["Visits due"],
    "ward": ["Patients and visits"],
    "inv": ["1 Ward", "2 Investigator", "Patients and visits"],
}


async def test_wrong_password_is_shown_inline_and_counted(
    app: LotTrackApp, user_row: Callable[[str], User]
) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot, "tech", "not-the-password")
        assert isinstance(app.screen, LoginScreen)
        assert "Unknown username or wrong password." in screen_text(app)
        assert app.screen.query_one("#password", Input).value == ""
    assert user_row("tech").failed_logins == 1


async def test_five_failures_lock_the_account(
    app: LotTrackApp, user_row: Callable[[str], User]
) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot, "tech", "wrong-1")
        for n in range(2, 6):
            await type_text(pilot, f"wrong-{n}")
            await pilot.press("enter")
            await settle(pilot)
        assert "The account is now locked" in shown(app, "#login-message")
        assert user_row("tech").locked_at is not None
        # The right password no longer helps.
        await type_text(pilot, "tech-demo-pass")
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, LoginScreen)
        assert "locked after repeated failures" in shown(app, "#login-message")
    assert user_row("tech").failed_logins == 5


async def test_each_demo_user_reaches_their_home(app: LotTrackApp) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        for person in demo.DEMO_USERS:
            await login(pilot, person.username)
            assert isinstance(app.screen, HomeScreen), person.username
            text = screen_text(app)
            assert f"{person.full_name} ({person.username})" in text
            assert "SQLite demo.db" in text
            for expected in HOME_TEXT[person.username]:
                assert expected in text, f"{person.username}: {expected!r} not on screen"
            for pane in app.screen.query(TablePane):
                if pane.display and pane.parent and pane.parent.display:
                    # Loaded: either the rows or the plain "none" line, never a spinner.
                    assert not pane.query_one(".pane-loading").display
                    rows = pane.query_one(DataTable).row_count
                    assert rows or pane.EMPTY in text, f"{person.username}: {pane.TITLE}"
            await pilot.press("ctrl+l")
            await settle(pilot)
            assert isinstance(app.screen, LoginScreen)


def shown_at_mount(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, bool, int]]:
    """Each home pane as it stood the moment it was mounted: its name, whether it said it
    was loading, how many rows its table had (the first paint shows that)."""
    seen: list[tuple[str, bool, int]] = []
    mount = RolePane.on_mount

    def on_mount(pane: RolePane) -> None:
        mount(pane)
        tables = pane.query(DataTable)
        rows = tables.first().row_count if tables else 0
        seen.append((type(pane).__name__, bool(pane.query_one(".pane-loading").display), rows))

    monkeypatch.setattr(RolePane, "on_mount", on_mount)
    return seen


def counted(pane: type[RolePane], calls: list[str]) -> Callable[..., Any]:
    """``pane``'s ``fetch``, noting its name in ``calls`` each time it reads."""
    read = pane.fetch

    def fetch(cls: type[RolePane], session: Any, who: Any) -> Any:
        calls.append(cls.__name__)
        return read(session, who)

    return fetch


async def test_the_home_appears_with_its_lists_read_at_login(
    app: LotTrackApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The worker that checked the password read the home's lists too: the home is drawn
    with them, never first as a frame saying they are loading (#18); r reads them again."""
    seen = shown_at_mount(monkeypatch)
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot, "inv")  # two panes, each on its tab
        assert [(name, loading) for name, loading, _ in seen] == [
            ("PatientsPane", False),
            ("UnblindedSubjectsPane", False),
        ]
        assert seen[0][2] > 0, "the ward's patients were on the home when it was mounted"
        fetched: list[str] = []
        for pane in app.screen.query(RolePane):
            monkeypatch.setattr(type(pane), "fetch", classmethod(counted(type(pane), fetched)))
        await pilot.press("r")
        await settle(pilot)
        assert sorted(fetched) == ["PatientsPane", "UnblindedSubjectsPane"]


async def test_a_list_not_read_at_login_is_read_by_its_pane(
    app: LotTrackApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A home list that could not be read with the login does not stop the login: the
    pane reads it itself once shown, as it does on a reload."""
    seen = shown_at_mount(monkeypatch)
    read = LotsAwaitingReviewPane.fetch
    calls: list[int] = []

    def fetch_failing_once(cls: type[LotsAwaitingReviewPane], session: Any, who: Any) -> Any:
        calls.append(1)
        if len(calls) == 1:
            raise StorageError("The database could not be read (the server went away).")
        return read(session, who)

    monkeypatch.setattr(LotsAwaitingReviewPane, "fetch", classmethod(fetch_failing_once))
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot, "qa")
        assert isinstance(app.screen, HomeScreen)
        assert seen == [("LotsAwaitingReviewPane", True, 0)]
        pane = app.screen.query_one(LotsAwaitingReviewPane)
        assert not pane.query_one(".pane-loading").display
        assert pane.query_one(DataTable).row_count > 0
        assert len(calls) == 2
        assert "Lots awaiting review" in screen_text(app)


async def test_expired_password_must_be_changed_before_home(
    app: LotTrackApp, demo_db: Database, user_row: Callable[[str], User]
) -> None:
    with demo_db.session() as session:
        admin_row = session.get(User, user_row("admin").id)
        assert admin_row is not None
        admin = CurrentUser.of(admin_row)
        accounts.reset_password(session, admin, "tech", "temporary-pass-1")
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot, "tech", "temporary-pass-1")
        assert isinstance(app.screen, ChangePasswordScreen)
        assert "set by an administrator" in screen_text(app)
        # Too short: the service's policy message, inline.
        for text in ("temporary-pass-1", "short", "short"):
            await type_text(pilot, text)
            await pilot.press("enter")
        await settle(pilot)
        assert "Password: must be at least 12 characters." in shown(app, "#password-message")
        assert app.focused is app.screen.query_one("#new")
        # Confirmation differs: refused before the service is asked.
        for widget, text in (("#new", "my-own-password-2"), ("#confirm", "my-own-password-3")):
            app.screen.query_one(widget, Input).value = text
        app.screen.query_one("#confirm").focus()
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()
        assert "differ" in shown(app, "#password-message")
        # Right this time: changed, then logged in.
        app.screen.query_one("#confirm", Input).value = "my-own-password-2"
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, HomeScreen)
        assert "Lots in process" in screen_text(app)
    assert user_row("tech").must_change_password is False


async def test_an_account_an_admin_created_chooses_its_password_at_first_login(
    app: LotTrackApp, demo_db: Database, user_row: Callable[[str], User]
) -> None:
    with demo_db.session() as session:
        admin_row = session.get(User, user_row("admin").id)
        assert admin_row is not None
        admin = CurrentUser.of(admin_row)
        accounts.create_user(
            session,
            admin,
            username="nina",
            full_name="Nina New",
            roles=["technician"],
            password="given-by-admin-1",
        )
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot, "nina", "given-by-admin-1")
        assert isinstance(app.screen, ChangePasswordScreen)
        assert "set by an administrator" in screen_text(app)
        for widget, text in (
            ("#old", "given-by-admin-1"),
            ("#new", "given-by-admin-1"),
            ("#confirm", "given-by-admin-1"),
        ):
            app.screen.query_one(widget, Input).value = text
        app.screen.query_one("#confirm").focus()
        await pilot.press("enter")
        await settle(pilot)
        assert "must differ from your last 5 passwords" in shown(app, "#password-message")
        for widget in ("#new", "#confirm"):
            app.screen.query_one(widget, Input).value = "ninas-own-pass-7"
        app.screen.query_one("#confirm").focus()
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, HomeScreen)
    assert user_row("nina").must_change_password is False


async def test_log_out_returns_to_an_empty_login(app: LotTrackApp) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot, "qa")
        assert isinstance(app.screen, HomeScreen)
        await pilot.press("ctrl+l")
        await settle(pilot)
        assert isinstance(app.screen, LoginScreen)
        assert app.ctx.user is None
        assert app.screen.query_one("#username", Input).value == ""
        assert "You have logged out." in screen_text(app)
        assert len(app.screen_stack) == 2


async def test_empty_field_is_refused_before_the_database(app: LotTrackApp) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("enter")  # moves to the password field
        await pilot.press("enter")
        await pilot.pause()
        assert "Type your username." in screen_text(app)


@pytest.mark.parametrize(
    ("between", "last"), [("tab", "enter"), ("enter", "enter"), ("ctrl+j", "ctrl+j")]
)
async def test_name_and_password_typed_in_one_burst_log_in(
    app: LotTrackApp, between: str, last: str
) -> None:
    """Keys that arrive at once (a fast typist over SSH, a password manager) land where
    they were typed: Tab moves to the password before the characters that follow it are
    delivered (it once reached the username field last, after the password's characters).
    Typed before the program put the terminal in raw mode, each Enter is a line feed,
    ctrl+j (it was ignored: the login sat there)."""
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        password = next(u.password for u in demo.DEMO_USERS if u.username == "qa")
        strokes = [*"qa", between, *password, last]
        for stroke in strokes:
            character = {"tab": "\t", "enter": "\r", "ctrl+j": "\n"}.get(stroke, stroke)
            key = stroke if len(stroke) > 1 or stroke.isalnum() else "minus"
            app.post_message(events.Key(key, character))
        await settle(pilot)
        assert isinstance(app.screen, HomeScreen), screen_text(app)
        assert "Lots awaiting review" in screen_text(app)
