"""Start a Textual app headless and say when its first real screen is on the terminal.

``python bench/ui_start.py lottrack URL`` starts lottrack's UI as the ``lottrack`` command
does (``tui.app.make_app`` on the URL) and stops once the login screen is mounted and
drawn; ``python bench/ui_start.py minimal`` does the same with a minimal Textual app whose
one screen holds a title, two inputs and a footer. Each prints the seconds from
``$BENCH_STARTED`` (the parent's ``time.time()`` just before it started this process) to
that moment (the screen's next refresh once what mounting queued is processed: not
``pilot.pause()``, which waits until the whole process is idle, so up to a second more
while lottrack's worker loads the database layer behind the drawn login screen), then
leaves at once (``os._exit``: what the program loads behind the login
screen, in its worker, is not waited for; the person is already typing). The wait for the
screen sleeps between looks: ``pilot.pause(0.002)`` (until the fourth pass) posted a
callback to every widget and forced a refresh every 2 ms, work that grows with the
screen's widgets (``bench/ui_screens.py``'s ``until`` says more).
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _shown() -> None:
    print(f"{time.time() - float(os.environ['BENCH_STARTED']):.6f}", flush=True)
    os._exit(0)


async def _lottrack(url: str) -> None:
    from tui.app import make_app
    from tui.common.login import LoginScreen

    app = make_app(url)
    async with app.run_test(size=(100, 30)) as pilot:
        while not (isinstance(app.screen, LoginScreen) and app.screen.is_mounted):
            await asyncio.sleep(0.002)  # not pilot.pause: see below
        await pilot.pause(0)  # what mounting queued, processed
        await app.screen.wait_for_refresh()  # and painted
        _shown()


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
            await asyncio.sleep(0.002)  # not pilot.pause: see below
        await pilot.pause(0)  # what mounting queued, processed
        await app.screen.wait_for_refresh()  # and painted
        _shown()


if __name__ == "__main__":
    if sys.argv[1] == "lottrack":
        asyncio.run(_lottrack(sys.argv[2]))
    else:
        asyncio.run(_minimal())
