"""Start a Textual app headless and exit as soon as its first real screen is mounted.

``python bench/ui_start.py lottrack URL`` starts lottrack's UI (``tui.app.make_app``) on
the database at URL and stops when the login screen is mounted (after the start screen's
database check); ``python bench/ui_start.py minimal`` does the same with a minimal
Textual app whose one screen holds a title and two inputs. bench_startup times the whole
process from the outside.
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


if __name__ == "__main__":
    if sys.argv[1] == "lottrack":
        asyncio.run(_lottrack(sys.argv[2]))
    else:
        asyncio.run(_minimal())
