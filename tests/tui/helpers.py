"""Helpers for driving the terminal UI in tests: waiting, logging in, reading the screen."""

from __future__ import annotations

import datetime as dt
import io
from zoneinfo import ZoneInfo

from rich.console import Console
from sqlmodel import select
from textual import events
from textual.pilot import Pilot
from textual.worker import WorkerCancelled

from lottrack import demo
from lottrack.db import Database
from lottrack.models import Site, User
from lottrack.permissions import CurrentUser
from lottrack.subjects import register_subject
from tui.app import LotTrackApp

FROZEN_NOW = dt.datetime(2025, 3, 14, 9, 30, tzinfo=ZoneInfo("Europe/Berlin"))
PASSWORDS = {u.username: u.password for u in demo.DEMO_USERS}


def frozen_clock() -> dt.datetime:
    """Always the same moment, in the demo site's zone (header and dates stay stable)."""
    return FROZEN_NOW


async def settle(pilot: Pilot[object]) -> None:
    """Wait until every worker has finished and its messages have been handled."""
    app = pilot.app
    for _ in range(50):
        await pilot.pause()
        try:
            await app.workers.wait_for_complete()
        except WorkerCancelled:  # an exclusive worker replaced by a newer one
            pass
        await pilot.pause()
        # Not only running: a worker a handler has just started is still pending.
        if all(w.is_finished for w in app.workers):
            return


async def type_text(pilot: Pilot[object], text: str) -> None:
    """Paste ``text`` into the focused widget (key-by-key typing is ~60 ms a key)."""
    focused = pilot.app.focused
    assert focused is not None, "nothing has focus to type into"
    focused.post_message(events.Paste(text))
    await pilot.pause()


async def login(pilot: Pilot[object], username: str, password: str | None = None) -> None:
    """Log in through the login screen (waits for the database check first)."""
    await settle(pilot)
    await type_text(pilot, username)
    await pilot.press("enter")
    await pilot.pause()
    await type_text(pilot, PASSWORDS[username] if password is None else password)
    await pilot.press("enter")
    await settle(pilot)


def screen_text(app: LotTrackApp) -> str:
    """The characters on the terminal right now (what a person would read)."""
    width, height = app.size
    console = Console(width=width, height=height, file=io.StringIO(), force_terminal=True,
                      color_system="truecolor", record=True, legacy_windows=False)
    console.print(app.screen._compositor.render_update(
        full=True, screen_stack=app._background_screens))
    return console.export_text(styles=False)


def shown(app: LotTrackApp, selector: str) -> str:
    """The text of a Static on the current screen, provided it is actually displayed."""
    from textual.widgets import Static

    widget = app.screen.query_one(selector, Static)
    assert widget.display, f"{selector} is not displayed"
    assert widget.visible, f"{selector} is hidden"
    assert widget.region.area > 0, f"{selector} has no room on screen"
    return str(widget.visual)


def more_subjects(db: Database, n: int) -> None:
    """Register TLS-100, TLS-101, … (after the demo's twelve by code): pages to turn."""
    with db.session() as s:
        pharm = CurrentUser.of(s.exec(select(User).where(User.username == "pharm")).one())
        site_id = s.exec(select(Site.id)).first()
        assert site_id is not None
        for i in range(n):
            register_subject(s, pharm, code=f"TLS-{100 + i}", initials="AB",
                             date_of_birth=dt.date(1970, 1, 1), site_id=site_id)
