"""Record a body weight: the value as typed (kg, lb …) and when it was measured."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static
from typing_extensions import override

from lottrack import calc
from lottrack.units import Dim
from tui.modals.typeahead import after_pending_keys
from tui.widgets.moment_input import MomentField
from tui.widgets.quantity_input import QuantityField


@dataclass(frozen=True)
class WeightEntry:
    """What was typed; the visits service parses, checks and stores it."""

    weight_text: str
    measured_at: dt.datetime
    confirmed: bool = False
    """A weight outside 30–200 kg was confirmed with a second key (design §6.8)."""


class WeightModal(ModalScreen[WeightEntry | None]):
    """Weight and time of measurement (default now). Returns None when cancelled.

    Enter in either field records (the time is already filled in with now; Tab reaches
    it to change it), and so does ctrl+s."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel"),
        Binding("ctrl+s", "record", "Record", priority=True),
        Binding("enter", "record_from_field", show=False, priority=True),
    ]

    def __init__(self, subject_code: str, clock: Callable[[], dt.datetime]) -> None:
        super().__init__()
        self._subject = subject_code
        self._clock = clock
        self._confirming: str | None = None
        """The implausible weight text shown for confirmation (Record again stores it)."""

    def compose(self) -> ComposeResult:
        """Two fields and the buttons."""
        with Vertical(classes="modal-box"):
            yield Static(Content(f"Record a weight of {self._subject}"),
                         classes="dialog-title")
            with Grid(classes="form-grid"):
                yield Label("Weight", classes="form-label")
                yield QuantityField("Weight", Dim.MASS, id="weight-value")
                yield Label("Measured at", classes="form-label")
                yield MomentField("Measured at", self._clock, id="weight-at")
            yield Static("", id="weight-message", classes="message")
            with Horizontal(classes="buttons"):
                yield Button("Record", id="ok", variant="primary", compact=True)
                yield Button("Cancel", id="cancel", compact=True)

    def on_mount(self) -> None:
        """Type the weight straight away."""
        self.query_one("#weight-value", QuantityField).focus()

    @override
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Enter in a field records; on a button it presses the button."""
        if action == "record_from_field":
            return isinstance(self.focused, Input)
        return True

    def action_record_from_field(self) -> None:
        """Enter in the weight or the time."""
        self.action_record()

    def action_record(self) -> None:
        """Record once the keys already typed have reached the fields."""
        weight = self.query_one("#weight-value", QuantityField)
        moment = self.query_one("#weight-at", MomentField)
        after_pending_keys([weight.input, moment.input], self._ok)

    @on(Button.Pressed, "#ok")
    def _ok(self) -> None:
        weight = self.query_one("#weight-value", QuantityField)
        moment = self.query_one("#weight-at", MomentField)
        if not weight.check():
            weight.focus()
            return
        at = moment.value()
        if at is None or not moment.check():
            moment.focus()
            return
        parsed = weight.evaluate()
        warning = calc.check_weight(parsed.value).warning if parsed is not None else None
        if warning is not None and self._confirming != weight.text:
            self._confirming = weight.text  # the second press of Record confirms it
            message = self.query_one("#weight-message", Static)
            message.update(Content(f"{warning} Press Enter (Record) again to confirm it."))
            message.set_class(True, "error")
            self.query_one("#ok", Button).focus()
            return
        self.dismiss(WeightEntry(weight.text, at, confirmed=warning is not None))

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        """Close: nothing is recorded."""
        self.dismiss(None)
