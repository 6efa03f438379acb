"""Start-up: the login screen comes first, drawn from Textual alone; the database opens
behind it while the person types, and a login submitted before that waits, visibly."""

from __future__ import annotations

import threading

import pytest
from textual.widgets import Button

from lottrack.storage.db import Database
from tests.tui.helpers import PASSWORDS, frozen_clock, screen_text, settle, shown, type_text
from tui import opening
from tui.app import make_app
from tui.common.login import WAITING, LoginScreen
from tui.common.start import StartScreen
from tui.home import HomeScreen

pytestmark = pytest.mark.asyncio


async def test_a_login_before_the_database_is_open_waits_for_it(
    demo_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    gate = threading.Event()
    real_check = opening.check_database

    def held_check(db: Database) -> opening.DatabaseState:
        gate.wait(timeout=60)  # the test opens it; never longer than a minute
        return real_check(db)

    monkeypatch.setattr(opening, "check_database", held_check)
    app = make_app(demo_db.url, clock=frozen_clock)  # a URL: the app opens the database
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            assert isinstance(app.screen, LoginScreen)
            await type_text(pilot, "qa")
            await pilot.press("enter")
            await type_text(pilot, PASSWORDS["qa"])
            await pilot.press("enter")
            await pilot.pause()
            assert not app.ctx.ready
            assert shown(app, "#login-message") == WAITING
            assert "Opening the database" in screen_text(app)
            assert app.screen.query_one("#login", Button).disabled
            gate.set()
            await settle(pilot)
            assert isinstance(app.screen, HomeScreen)
            text = screen_text(app)
            assert "(qa)" in text
            assert "Lots awaiting review" in text
    finally:
        gate.set()
        if app.ctx.db_open:
            app.ctx.db.dispose()


async def test_the_demo_accounts_are_named_once_the_database_is_open(demo_db: Database) -> None:
    app = make_app(demo_db.url, clock=frozen_clock)
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            assert isinstance(app.screen, LoginScreen)
            assert "Demo database. Accounts:" in shown(app, "#demo-hint")
    finally:
        app.ctx.db.dispose()


async def test_a_url_that_cannot_be_used_is_said_on_the_start_screen() -> None:
    app = make_app("nosuchdialect://somewhere/db", clock=frozen_clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, StartScreen)
        text = screen_text(app)
        assert "The database cannot be opened" in text
        assert "nosuchdialect://somewhere/db" in shown(app, "#start-message")
        assert "Traceback" not in text
