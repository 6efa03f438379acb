"""An unattended terminal logs its person out (EU GMP Annex 11 practice)."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import func
from sqlmodel import select

from lottrack.storage import audit
from lottrack.storage.db import Database
from lottrack.storage.models import Setting, Site
from tests.conftest import sessions
from tests.tui.helpers import login, settle, shown, type_text, until
from tui.admin.site_form import SiteForm
from tui.app import LotTrackApp
from tui.common.login import LoginScreen
from tui.home import HomeScreen

pytestmark = pytest.mark.asyncio

FIFTEEN_MINUTES = 15 * 60


def site_count(db: Database) -> int:
    with db.reader() as s:
        return s.exec(select(func.count()).select_from(Site)).one()


async def test_fifteen_idle_minutes_log_out_and_discard_the_form(
    app: LotTrackApp, demo_db: Database
) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot, "admin")
        await pilot.press("t")
        await settle(pilot)
        await pilot.press("n")
        await settle(pilot)
        assert isinstance(app.screen, SiteForm)
        await type_text(pilot, "Half-typed site")
        await pilot.press("end")  # a key press: the idle time starts again
        pressed = app.last_activity
        assert app.check_inactivity(now=pressed + FIFTEEN_MINUTES - 1) is False
        assert isinstance(app.screen, SiteForm)
        # (a millisecond over: pressed + 900 - pressed may round to 899.999…)
        assert app.check_inactivity(now=pressed + FIFTEEN_MINUTES + 0.001) is True
        await settle(pilot)
        assert isinstance(app.screen, LoginScreen)
        assert app.ctx.user is None
        assert shown(app, "#login-message") == (
            "Logged out after 15 minutes without activity; unsaved input was discarded."
        )
        # Nothing else happens while nobody is logged in.
        assert app.check_inactivity(now=pressed + 10 * FIFTEEN_MINUTES) is False
        await login(pilot, "admin")
        assert isinstance(app.screen, HomeScreen)  # the form is gone, not restored
    assert site_count(demo_db) == 1
    assert sessions(demo_db, "admin") == [
        ("login", "terminal UI"),
        ("logout", "logged out after 15 minutes without activity"),
        ("login", "terminal UI"),
        ("logout", "logged out"),
    ]  # the last one: leaving the app


async def test_logging_out_and_quitting_are_audited(app: LotTrackApp, demo_db: Database) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot, "tech")
        await pilot.press("ctrl+l")
        await settle(pilot)
        assert isinstance(app.screen, LoginScreen)
        assert sessions(demo_db, "tech") == [("login", "terminal UI"), ("logout", "logged out")]
        await login(pilot, "qa")
        await pilot.press("ctrl+q")
        await settle(pilot)
    assert sessions(demo_db, "qa") == [("login", "terminal UI"), ("logout", "logged out")]
    assert sessions(demo_db, "tech") == [("login", "terminal UI"), ("logout", "logged out")]


async def test_keys_and_the_mouse_count_as_activity(app: LotTrackApp) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot, "tech")
        start = app.last_activity = 0.0  # as if the last activity were long ago
        await pilot.press("down")
        after_key = app.last_activity
        assert after_key > start
        assert app.check_inactivity(now=start + FIFTEEN_MINUTES) is False
        app.last_activity = start
        await pilot.hover(offset=(10, 10))
        assert app.last_activity > start
        assert isinstance(app.screen, HomeScreen)


async def test_the_timer_logs_out_with_the_sites_setting(
    app: LotTrackApp, demo_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    with demo_db.session() as s:
        audit.set_actor(s, None, "system:test")
        s.add(Setting(key="idle_logout_minutes", value="5"))
    monkeypatch.setattr("tui.app.IDLE_CHECK_SECONDS", 0.05)
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot, "qa")
        assert app.idle_logout_minutes == 5
        assert isinstance(app.screen, HomeScreen)
        app.last_activity = time.monotonic() - 5 * 60 - 1  # as if untouched for 5 minutes
        await until(  # the screen drawn with its message (pushed is not enough)
            pilot,
            lambda: (
                isinstance(app.screen, LoginScreen) and bool(app.screen.query("#login-message"))
            ),
            "the idle timer to log the person out",
        )
        assert isinstance(app.screen, LoginScreen)
        assert shown(app, "#login-message").startswith(
            "Logged out after 5 minutes without activity"
        )
