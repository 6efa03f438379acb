"""A date-and-time field: ``now``, ``14:30``, ``yesterday 14:30``, ``2025-03-14 14:30`` or
``-2h``, read in the site's time zone and shown back in full with the zone.

Only the reading of the typed text happens here; whether the time is allowed (not in
the future, not before the step it follows) is the service's rule and message.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Input, Static

SHOWN = "%a %d %b %Y %H:%M %Z"
EXPECTED = "now, 14:30, yesterday 14:30, 2025-03-14 14:30 or -2h"
_CLOCK = re.compile(r"(?:(?P<day>today|yesterday)\s+)?(?P<h>[01]?\d|2[0-3])[:.h](?P<m>[0-5]\d)")
_FULL = re.compile(r"(?P<date>\d{4}-\d{2}-\d{2})[ T]+(?P<h>[01]?\d|2[0-3]):(?P<m>[0-5]\d)")
_AGO = re.compile(r"-\s*(?P<n>\d{1,4})\s*(?P<unit>m|min|h|d)")


class MomentError(ValueError):
    """The text is not a time this field reads."""


def parse_moment(text: str, now: dt.datetime, zone: dt.tzinfo | None = None) -> dt.datetime:
    """The moment ``text`` names, timezone-aware, in ``zone`` (default: ``now``'s zone)."""
    zone = zone or now.tzinfo
    local_now = now.astimezone(zone)
    typed = " ".join(text.strip().lower().split())
    if typed == "now":
        return local_now.replace(second=0, microsecond=0)
    if match := _AGO.fullmatch(typed):
        minutes = {"m": 1, "min": 1, "h": 60, "d": 1440}[match["unit"]] * int(match["n"])
        return (local_now - dt.timedelta(minutes=minutes)).replace(second=0, microsecond=0)
    if match := _CLOCK.fullmatch(typed):
        day = local_now.date() - dt.timedelta(days=1 if match["day"] == "yesterday" else 0)
        return dt.datetime.combine(day, dt.time(int(match["h"]), int(match["m"])), zone)
    if match := _FULL.fullmatch(typed):
        try:
            day = dt.date.fromisoformat(match["date"])
        except ValueError:
            raise MomentError(f'"{match["date"]}" is not a calendar date') from None
        return dt.datetime.combine(day, dt.time(int(match["h"]), int(match["m"])), zone)
    raise MomentError("is not a time")


class MomentField(Vertical):
    """An input for a date and time; ``name`` is the field's name."""

    DEFAULT_CSS = """
    MomentField { height: auto; width: 1fr; }
    MomentField > Horizontal { height: 1; }
    MomentField Input { width: 24; }
    MomentField .mf-preview { width: 1fr; height: 1; padding-left: 1; color: $success; }
    MomentField .mf-preview.-bad { color: $warning; }
    MomentField .mf-error { height: auto; display: none; color: $error; text-style: bold; }
    MomentField.-invalid .mf-error { display: block; }
    """

    def __init__(self, field: str, clock: Callable[[], dt.datetime], *, value: str = "now",
                 zone: dt.tzinfo | None = None, id: str | None = None) -> None:  # noqa: A002
        super().__init__(name=field, id=id)
        self.field = field
        self.clock = clock
        self.zone = zone
        self._value = value
        self.error: str | None = None

    def compose(self) -> ComposeResult:
        """Input, the moment it names, and the message line."""
        with Horizontal():
            yield Input(self._value, placeholder="now, 14:30, -2h…", compact=True)
            yield Static("", classes="mf-preview")
        yield Static("", classes="mf-error")

    def on_mount(self) -> None:
        """Show what the default names."""
        self.evaluate()

    @property
    def input(self) -> Input:
        """The text input itself."""
        return self.query_one(Input)

    @property
    def text(self) -> str:
        """What was typed."""
        return self.input.value

    @text.setter
    def text(self, value: str) -> None:
        self.input.value = value

    def focus(self, scroll_visible: bool = True) -> MomentField:
        """Focus the input."""
        self.input.focus(scroll_visible)
        return self

    def set_zone(self, zone: dt.tzinfo) -> None:
        """Read times in ``zone`` (the site's) from now on."""
        self.zone = zone
        self.evaluate()

    def evaluate(self) -> dt.datetime | None:
        """Read the text now and show the full moment (or that it is not a time)."""
        preview = self.query_one(".mf-preview", Static)
        try:
            moment = parse_moment(self.text, self.clock(), self.zone)
        except MomentError as exc:
            shown = self.text.strip()[:40]
            self.error = (f'{self.field}: "{shown}" {exc}; expected {EXPECTED}.' if shown
                          else f"{self.field}: nothing was typed; it is required.")
            preview.update(Text("✗ not a time"))
            preview.add_class("-bad")
            return None
        self.error = None
        preview.update(Text("= " + moment.strftime(SHOWN)))
        preview.remove_class("-bad")
        return moment

    def value(self) -> dt.datetime | None:
        """The moment typed, read again now (``now`` means the time of saving)."""
        return self.evaluate()

    def check(self) -> bool:
        """Before saving: True when the text names a moment; else the message shows."""
        if self.evaluate() is not None:
            return True
        assert self.error is not None
        self.show_error(self.error)
        return False

    def show_error(self, message: str) -> None:
        """Mark the field invalid with ``message`` (also the service's refusal)."""
        self.query_one(".mf-error", Static).update(Text(message))
        self.add_class("-invalid")

    @on(Input.Changed)
    def _changed(self, event: Input.Changed) -> None:
        event.stop()
        self.remove_class("-invalid")
        self.evaluate()
