"""Start a Textual app headless and exit as soon as its first real screen is mounted.

``python bench/ui_start.py lottrack URL`` starts lottrack's UI (``tui.app.make_app``) on
the database at URL and stops when the login screen is mounted (after the start screen's
database check); ``python bench/ui_start.py minimal`` does the same with a minimal
Textual app whose one screen holds a title and two inputs. bench_startup times the whole
process from the outside.

``python bench/ui_start.py lotlist URL`` logs the demo QA person in on a demo database
and prints, as JSON, the seconds from pressing ``l`` on the home screen (once its own
lists have loaded) to the lot list's first page on screen (median of several), beside
the seconds :func:`lottrack.listings.lot_page` takes for the same page in the same
process, and the number of lots.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


async def _lottrack(url: str) -> None:
    from lottrack.db import Database
    from tui.app import make_app
    from tui.screens.login import LoginScreen

    db = Database(url)
    app = make_app(db)
    async with app.run_test(size=(100, 30)) as pilot:
        while not (isinstance(app.screen, LoginScreen) and app.screen.is_mounted):
            await pilot.pause(0.002)
    db.dispose()


async def _minimal() -> None:
    from textual.app import App, ComposeResult
    from textual.screen import Screen
    from textual.widgets import Footer, Input, Static

    class Login(Screen[None]):
        def compose(self) -> ComposeResult:
            yield Static("Log in")
            yield Input(placeholder="username")
            yield Input(placeholder="password", password=True)
            yield Footer()

    class Minimal(App[None]):
        def on_mount(self) -> None:
            self.push_screen(Login())

    app = Minimal()
    async with app.run_test(size=(100, 30)) as pilot:
        while not (isinstance(app.screen, Login) and app.screen.is_mounted):
            await pilot.pause(0.002)


async def _lot_list(url: str, repeat: int = 7) -> None:
    import json
    import os
    import statistics
    import time

    from sqlmodel import select
    from textual.widgets import DataTable

    from lottrack import accounts, demo, listings
    from lottrack.db import Database
    from lottrack.models import User
    from lottrack.permissions import CurrentUser
    from tui.app import make_app
    from tui.screens.lots import LotsScreen

    accounts.use_cheap_hashing_in_the_test_suite()  # as the demo was built (bench/common)
    db = Database(url)
    password = {u.username: u.password for u in demo.DEMO_USERS}["qa"]
    with db.reader() as s:
        who = CurrentUser.of(s.exec(select(User).where(User.username == "qa")).one())
    app = make_app(db)
    shown: list[float] = []
    async with app.run_test(size=(100, 30)) as pilot:
        while not app.screen.is_mounted or type(app.screen).__name__ != "LoginScreen":
            await pilot.pause(0.005)
        app.screen.query_one("#username").value = "qa"  # type: ignore[attr-defined]
        app.screen.query_one("#password").value = password  # type: ignore[attr-defined]
        app.screen.query_one("#password").focus()
        await pilot.press("enter")
        while type(app.screen).__name__ != "HomeScreen":
            await pilot.pause(0.005)
        for _ in range(repeat + 1):
            await app.workers.wait_for_complete()  # the home screen's lists, first
            await pilot.pause()
            started = time.perf_counter()
            await pilot.press("l")
            while True:
                screen = app.screen
                if isinstance(screen, LotsScreen) and screen.page is not None and \
                        screen.query_one("#lots-table", DataTable).row_count:
                    break
                await pilot.pause(0.001)
            shown.append(time.perf_counter() - started)
            if os.environ.get("BENCH_DEBUG"):
                print(f"shown after {shown[-1]:.3f} s", file=sys.stderr)
            await pilot.press("escape")
            while isinstance(app.screen, LotsScreen):
                await pilot.pause(0.005)
        rows = app.size.height
    page = []
    for _ in range(repeat):
        started = time.perf_counter()
        result = listings.lot_page(db, who, limit=rows)
        page.append(time.perf_counter() - started)
    db.dispose()
    print(json.dumps({"shown_s": statistics.median(shown[1:]),
                      "lot_page_s": statistics.median(page), "lots": result.total}))


if __name__ == "__main__":
    if sys.argv[1] == "lottrack":
        asyncio.run(_lottrack(sys.argv[2]))
    elif sys.argv[1] == "lotlist":
        asyncio.run(_lot_list(sys.argv[2]))
    else:
        asyncio.run(_minimal())
