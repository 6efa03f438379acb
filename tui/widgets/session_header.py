"""The two-line bar at the top of every screen: who is logged in, which database, the time
(in the site's zone, not the terminal's)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.content import Content
from textual.widget import Widget
from textual.widgets import Static

from tui.context import context_of

CLOCK_FORMAT = "%a %d %b %Y %H:%M %Z"
SITE_NAME_WIDTH = 24
"""At most this much of the site's name follows the clock when the database has several."""


class SessionHeader(Widget):
    """Line 1: product, database and clock. Line 2: the person's printed name and roles."""

    DEFAULT_CSS = """
    SessionHeader {
        dock: top;
        height: 2;
        background: $panel;
        color: $foreground;
    }
    SessionHeader Horizontal { height: 1; }
    SessionHeader #product { width: auto; text-style: bold; color: $accent; }
    SessionHeader #database { width: 1fr; padding: 0 0 0 2; color: $text-muted; }
    SessionHeader #clock { width: auto; }
    SessionHeader #person { height: 1; text-style: bold; }
    """

    def __init__(self, subtitle: str = "") -> None:
        super().__init__()
        self._subtitle = subtitle

    def compose(self) -> ComposeResult:
        """Build the two lines."""
        ctx = context_of(self)
        with Horizontal():
            yield Static("lottrack", id="product")
            yield Static(Content(ctx.database_label), id="database")
            yield Static(Content(self._clock_text()), id="clock")
        yield Static(Content(self._person_text()), id="person")

    def on_mount(self) -> None:
        """Keep the clock current."""
        self.set_interval(15, self._tick)

    def _tick(self) -> None:
        self.refresh_clock()

    def refresh_clock(self) -> None:
        """Show the time again (also after the site whose zone it shows changed)."""
        self.query_one("#clock", Static).update(Content(self._clock_text()))

    def _clock_text(self) -> str:
        """The time in the site's zone; with several sites, which site that is."""
        ctx = context_of(self)
        text = ctx.clock().strftime(CLOCK_FORMAT)
        site = ctx.clock_site
        if site is not None and site.site_count > 1:
            name = (
                site.name
                if len(site.name) <= SITE_NAME_WIDTH
                else (site.name[: SITE_NAME_WIDTH - 1] + "…")
            )
            text += f" · {name}"
        return text

    def _person_text(self) -> str:
        user = context_of(self).user
        text = (
            " Not logged in"
            if user is None
            else (f" {user.full_name} ({user.username}) · {', '.join(sorted(user.roles))}")
        )
        if self._subtitle:
            text += f" — {self._subtitle}"
        return text
