"""What every lottrack screen shares: the app context, worker errors, help text."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from textual.binding import Binding
from textual.css.query import NoMatches
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

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """A screen's ``check_action`` that reads a widget (the highlighted row of a table)
        answers False, "not now", while that widget is not on the screen: Textual asks it
        whenever the keys are shown or pressed, also while the screen's nested widgets are
        still being mounted or already removed, and a ``NoMatches`` raised there ended the
        app (a pharmacy visit opened with its footer redrawn before its bag table)."""
        super().__init_subclass__(**kwargs)
        own = cls.__dict__.get("check_action")
        if own is not None:
            cls.check_action = _offered_once_mounted(own)  # type: ignore[method-assign,assignment]

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


def _offered_once_mounted(
    check: Callable[[Any, str, tuple[object, ...]], bool | None],
) -> Callable[[Any, str, tuple[object, ...]], bool | None]:
    @wraps(check)
    def checked(screen: Any, action: str, parameters: tuple[object, ...]) -> bool | None:
        try:
            return check(screen, action, parameters)
        except NoMatches:  # a widget the check reads is not mounted (yet, or any more)
            return False

    return checked
