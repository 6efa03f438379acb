"""Correct a recorded weight: the right value as typed (kg, lb …) and why."""

from __future__ import annotations

from dataclasses import dataclass

from textual.app import ComposeResult
from textual.containers import Grid
from textual.widgets import Input, Label
from typing_extensions import override

from lottrack.kernel.units import Dim
from tui.dialogs.weight import WeighingForm
from tui.widgets.quantity_input import QuantityField


@dataclass(frozen=True)
class WeightCorrection:
    """What was typed; the weights service parses, checks and stores it."""

    weight_text: str
    reason: str
    confirmed: bool = False
    """A weight outside 30–200 kg was confirmed with a second Enter (design §6.8)."""


class WeightCorrectionModal(WeighingForm[WeightCorrection]):
    """The right weight and the reason; Enter records (a second Enter confirms a weight
    outside 30–200 kg). Returns None when cancelled."""

    SUBMIT = "Correct"
    FIELDS = ("#correct-value", "#correct-reason")
    ENTER_SUBMITS_ANYWHERE = True

    def __init__(self, subject_code: str, weight_id: int, was: str) -> None:
        super().__init__(title=f"Correct weight #{weight_id} of {subject_code} (was {was})")

    @override
    def compose_body(self) -> ComposeResult:
        """The weight and the reason."""
        with Grid(classes="form-grid"):
            yield Label("Right weight", classes="form-label")
            yield QuantityField("Weight", Dim.MASS, id="correct-value")
            yield Label("Reason", classes="form-label")
            yield Input(
                id="correct-reason", compact=True, placeholder="why (recorded in the audit trail)"
            )

    @override
    def submit(self) -> None:
        weight = self.query_one("#correct-value", QuantityField)
        reason = self.query_one("#correct-reason", Input)
        if not weight.check():
            weight.focus()
            return
        if not reason.value.strip():
            self.say("Give a reason.", focus="#correct-reason")
            return
        warning = self.weight_warning(weight)
        if self.ask_to_confirm(weight, warning, "Press Enter again to confirm it."):
            return
        self.dismiss(
            WeightCorrection(weight.text, reason.value.strip(), confirmed=warning is not None)
        )
