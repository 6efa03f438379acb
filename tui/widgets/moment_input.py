"""A date-and-time field: ``now``, ``14:30``, ``yesterday 14:30``, ``2025-03-14 14:30`` or
``-2h``, read in the site's time zone and shown back in full with the zone.

The reading of the typed text is :func:`lottrack.kernel.times.parse_moment` (which also refuses
a time the clocks skip or repeat); whether the time is allowed (not in the future, not
before the step it follows) is the service's rule and message.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Input, Static

from lottrack.kernel.errors import ValidationError
from lottrack.kernel.times import SHOWN, parse_moment
from tui.widgets.typed_field import TypedField


class MomentField(TypedField):
    """An input for a date and time; ``name`` is the field's name."""

    ERROR_LINE = ".mf-error"

    DEFAULT_CSS = """
    MomentField { height: auto; width: 1fr; }
    MomentField > Horizontal { height: 1; }
    MomentField Input { width: 24; }
    MomentField .mf-preview { width: 1fr; height: 1; padding-left: 1; color: $success; }
    MomentField .mf-preview.-bad { color: $warning; }
    MomentField .mf-error { height: auto; display: none; color: $error; text-style: bold; }
    MomentField.-invalid .mf-error { display: block; }
    """

    def __init__(
        self,
        field: str,
        clock: Callable[[], dt.datetime],
        *,
        value: str = "now",
        zone: dt.tzinfo | None = None,
        id: str | None = None,
    ) -> None:  # noqa: A002
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

    def set_zone(self, zone: dt.tzinfo) -> None:
        """Read times in ``zone`` (the site's) from now on."""
        self.zone = zone
        self.evaluate()

    def evaluate(self) -> dt.datetime | None:
        """Read the text now and show the full moment (or that it is not a time)."""
        preview = self.query_one(".mf-preview", Static)
        try:
            moment = parse_moment(self.text, self.clock(), self.zone, field=self.field)
        except ValidationError as exc:
            self.error = exc.message
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

    def moment(self) -> dt.datetime:
        """The moment typed, read again now; the field's refusal (:class:`ValidationError`)
        when the text names none (a form has checked the field already, so it rarely is)."""
        moment = self.evaluate()
        if moment is None:
            raise ValidationError(self.error or f"{self.field}: not a time.", field=self.field)
        return moment
