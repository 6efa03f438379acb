"""Correct a recorded weight: the right value as typed (kg, lb …) and why."""

from __future__ import annotations

from dataclasses import dataclass

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from lottrack import calc
from lottrack.units import Dim
from tui.widgets.quantity_input import QuantityField


@dataclass(frozen=True)
class WeightCorrection:
    """What was typed; the weights service parses, checks and stores it."""

    weight_text: str
    reason: str
    confirmed: bool = False
    """A weight outside 30–200 kg was confirmed with a second Enter (design §6.8)."""


class WeightCorrectionModal(ModalScreen[WeightCorrection | None]):
    """The right weight and the reason; Enter records (a second Enter confirms a weight
    outside 30–200 kg). Returns None when cancelled."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, subject_code: str, weight_id: int, was: str) -> None:
        super().__init__()
        self._title = f"Correct weight #{weight_id} of {subject_code} (was {was})"
        self._confirming: str | None = None

    def compose(self) -> ComposeResult:
        """The weight, the reason, the buttons."""
        with Vertical(classes="modal-box"):
            yield Static(Content(self._title), classes="dialog-title")
            with Grid(classes="form-grid"):
                yield Label("Right weight", classes="form-label")
                yield QuantityField("Weight", Dim.MASS, id="correct-value")
                yield Label("Reason", classes="form-label")
                yield Input(id="correct-reason", compact=True,
                            placeholder="why (recorded in the audit trail)")
            yield Static("", id="correct-message", classes="message")
            with Horizontal(classes="buttons"):
                yield Button("Correct", id="ok", variant="primary", compact=True)
                yield Button("Cancel", id="cancel", compact=True)

    def on_mount(self) -> None:
        """Type the weight straight away."""
        self.query_one("#correct-value", QuantityField).focus()

    def _say(self, text: str) -> None:
        message = self.query_one("#correct-message", Static)
        message.update(Content(text))
        message.set_class(True, "error")

    @on(Input.Submitted)
    @on(Button.Pressed, "#ok")
    def _ok(self) -> None:
        weight = self.query_one("#correct-value", QuantityField)
        reason = self.query_one("#correct-reason", Input)
        if not weight.check():
            weight.focus()
            return
        if not reason.value.strip():
            self._say("Give a reason.")
            reason.focus()
            return
        parsed = weight.evaluate()
        warning = calc.check_weight(parsed.value).warning if parsed is not None else None
        if warning is not None and self._confirming != weight.text:
            self._confirming = weight.text  # the second Enter confirms it
            self._say(f"{warning} Press Enter again to confirm it.")
            return
        self.dismiss(WeightCorrection(weight.text, reason.value.strip(),
                                      confirmed=warning is not None))

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        """Close: nothing is changed."""
        self.dismiss(None)
