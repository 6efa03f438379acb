"""What every lottrack screen shares: the app context, worker errors, help text."""

from __future__ import annotations

from textual.binding import Binding
from textual.screen import Screen
from typing_extensions import TypeVar

from tui.context import AppContext, HasContext, app_of, context_of
from tui.workers import ReportsWorkerErrors

ScreenResult = TypeVar("ScreenResult", default=None)
"""What a screen hands to whoever pushed it when it is dismissed (None for most)."""


class AppScreen(ReportsWorkerErrors, Screen[ScreenResult]):
    """Base class of lottrack's screens; ``AppScreen[str | None]`` for one that returns a
    value (a form returns the summary of what it saved)."""

    HELP = "No help has been written for this screen yet."

    BINDINGS = [
        # Priority: the focus moves when the key arrives, so keys typed at once after a
        # Tab (a fast typist over SSH, a password manager) land in the next field, not in
        # the one the Tab left; Textual's own Tab moves it only after they are delivered.
        Binding("tab", "app.focus_next", show=False, priority=True),
        Binding("shift+tab", "app.focus_previous", show=False, priority=True),
    ]

    @property
    def ctx(self) -> AppContext:
        """Database, clock and logged-in person."""
        return context_of(self)

    @property
    def lottrack(self) -> HasContext:
        """The app, typed for the calls screens make on it."""
        return app_of(self)

    def help_markdown(self) -> str:
        """Markdown that F1 shows for this screen."""
        return self.HELP or ""
