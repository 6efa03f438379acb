"""Helpers for driving the terminal UI in tests: waiting, logging in, reading the screen."""

from __future__ import annotations

import asyncio
import contextvars
import datetime as dt
import io
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

from rich.console import Console
from sqlmodel import select
from textual import events
from textual.app import App
from textual.message_pump import MessagePump
from textual.pilot import Pilot
from textual.screen import Screen
from textual.widgets import DataTable, Input
from textual.worker import WorkerCancelled

from lottrack.demo import database as demo
from lottrack.facility.subjects import register_subject
from lottrack.records.permissions import CurrentUser
from lottrack.storage.db import Database
from lottrack.storage.models import Site, User

FROZEN_NOW = dt.datetime(2025, 3, 14, 9, 30, tzinfo=ZoneInfo("Europe/Berlin"))
PASSWORDS = {u.username: u.password for u in demo.DEMO_USERS}


def frozen_clock() -> dt.datetime:
    """Always the same moment, in the demo site's zone (header and dates stay stable)."""
    return FROZEN_NOW


SETTLE_SECONDS = 60.0  # far beyond any screen's work, even on a loaded machine


async def _handled_queued_messages(app: App[None], timeout: float) -> None:
    """Wait until every node of every screen on the stack (not only the top one) has
    handled what was in its message queue: a modal's result callback runs on the screen
    that pushed it, which is not the top screen while the modal is being popped."""
    waits = []
    nodes: list[MessagePump] = [app]
    for screen in app.screen_stack:
        nodes.extend(screen.walk_children(with_self=True))
    for node in nodes:
        handled = asyncio.Event()
        if node.call_later(handled.set):
            waits.append(handled.wait())
    await asyncio.wait_for(asyncio.gather(*waits), timeout)


async def settle(pilot: Pilot[None], timeout: float = SETTLE_SECONDS) -> None:
    """Wait until the app is quiet: every queued message handled on every screen of the
    stack, every worker finished and the screen stack unchanged, twice in a row.

    Fails, naming what was still busy, when that has not happened within ``timeout``
    seconds (it never gives up silently)."""
    app = pilot.app
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout

    def busy() -> str:
        pending = [
            f"{w.name or w.description} ({w.state.name})" for w in app.workers if not w.is_finished
        ]
        return (
            f"workers not finished: {pending or 'none'}; screens: "
            f"{[type(s).__name__ for s in app.screen_stack]}"
        )

    quiet = 0
    while quiet < 2:
        left = deadline - loop.time()
        if left <= 0:
            raise AssertionError(f"the app did not settle within {timeout:.0f} s: {busy()}")
        stack = list(app.screen_stack)
        try:
            await _handled_queued_messages(app, left)
            try:
                await asyncio.wait_for(app.workers.wait_for_complete(), left)
            except WorkerCancelled:  # an exclusive worker replaced by a newer one
                pass
            await _handled_queued_messages(app, deadline - loop.time())
        except TimeoutError:
            raise AssertionError(
                f"the app did not settle within {timeout:.0f} s: {busy()}"
            ) from None
        still = all(w.is_finished for w in app.workers) and [id(s) for s in app.screen_stack] == [
            id(s) for s in stack
        ]
        quiet = quiet + 1 if still else 0
    # Quiet: let the screen refresh (idle layout, e.g. a DataTable's new rows) as Pilot does.
    await pilot.pause()


async def until(
    pilot: Pilot[None], condition: Callable[[], bool], what: str, timeout: float = SETTLE_SECONDS
) -> None:
    """Wait until ``condition()`` holds (for example a row painted on screen: a DataTable
    lays out new rows when it is next idle); fail saying ``what`` was awaited if it does
    not within ``timeout`` seconds. Between checks the app runs (no time is moved)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    await settle(pilot, timeout)
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(
                f"waited {timeout:.0f} s for {what}; the screen reads:\n{screen_text(pilot.app)}"
            )
        await pilot.pause()


async def type_text(pilot: Pilot[None], text: str) -> None:
    """Paste ``text`` into the focused widget (key-by-key typing is ~60 ms a key)."""
    focused = pilot.app.focused
    assert focused is not None, "nothing has focus to type into"
    focused.post_message(events.Paste(text))
    await pilot.pause()


async def login(pilot: Pilot[None], username: str, password: str | None = None) -> None:
    """Log in through the login screen (waits for the database check first)."""
    await settle(pilot)
    await type_text(pilot, username)
    await pilot.press("enter")
    await pilot.pause()
    await type_text(pilot, PASSWORDS[username] if password is None else password)
    await pilot.press("enter")
    await settle(pilot)


async def login_and_open(
    pilot: Pilot[None], username: str, screen: Screen[Any], *keys: str
) -> None:
    """Log in as ``username``, open ``screen`` over the home screen, then press each of
    ``keys`` (a tab's number, a form's key), waiting for the screen after each."""
    await login(pilot, username)
    pilot.app.push_screen(screen)
    await settle(pilot)
    for key in keys:
        await pilot.press(key)
        await settle(pilot)


async def filter_audit(pilot: Pilot[None], box: str, text: str) -> None:
    """On the audit screen, type ``text`` in the filter box ``box`` (``record``,
    ``person``, ``since`` …) and apply the filter with Enter."""
    pilot.app.screen.query_one(f"#audit-{box}", Input).focus()
    await pilot.pause()
    await type_text(pilot, text)
    await pilot.press("enter")
    await settle(pilot)


def screen_text(app: App[None]) -> str:
    """The characters on the terminal right now (what a person would read)."""
    width, height = app.size
    console = Console(
        width=width,
        height=height,
        file=io.StringIO(),
        force_terminal=True,
        color_system="truecolor",
        record=True,
        legacy_windows=False,
    )
    # Rendered in a copy of the context: the render sets Textual's context variable of
    # visible screens, which must not leak into the test's task (a later Pilot.pause would
    # render a stacked dialog against that stale list).
    contextvars.copy_context().run(
        lambda: console.print(
            app.screen._compositor.render_update(full=True, screen_stack=app._background_screens)
        )
    )
    return console.export_text(styles=False)


def tables_painted(app: App[None]) -> bool:
    """Every table on screen shows the first line of the first cell of its first row in
    full (a table lays its rows out when it is next idle: a picture taken before is wrong;
    later cells may lie beyond the right edge of a narrow terminal)."""
    text = screen_text(app)
    for table in app.screen.query(DataTable):
        if table.row_count == 0 or table.region.area == 0:
            continue
        first = str(table.get_row_at(0)[0]).splitlines()
        if first and first[0] not in text:
            return False
    return True


def shown(app: App[None], selector: str) -> str:
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
            register_subject(
                s,
                pharm,
                code=f"TLS-{100 + i}",
                initials="AB",
                date_of_birth=dt.date(1970, 1, 1),
                site_id=site_id,
            )
