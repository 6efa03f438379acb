"""What every lottrack screen shares: the app context, worker errors, help text."""

from __future__ import annotations

from textual.screen import Screen

from tui.context import AppContext, HasContext, app_of, context_of
from tui.workers import ReportsWorkerErrors


class AppScreen(ReportsWorkerErrors, Screen[None]):
    """Base class of lottrack's screens."""

    HELP = "No help has been written for this screen yet."

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
