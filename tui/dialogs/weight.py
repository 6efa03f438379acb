"""Record a body weight: the value as typed (kg, lb …) and when it was measured."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid
from textual.widgets import Button, Label
from typing_extensions import override

from lottrack.kernel import calc
from lottrack.kernel.units import Dim
from tui.dialogs.base import ModalForm, Result
from tui.widgets.moment_input import MomentField
from tui.widgets.quantity_input import QuantityField


@dataclass(frozen=True)
class WeightEntry:
    """What was typed; the visits service parses, checks and stores it."""

    weight_text: str
    measured_at: dt.datetime
    confirmed: bool = False
    """A weight outside 30–200 kg was confirmed with a second key (design §6.8)."""


class WeighingForm(ModalForm[Result]):
    """A dialog with a weight: one outside 30–200 kg is returned only once a second Enter
    (or Record) confirms it (design §6.8)."""

    def __init__(self, *, title: str | None = None) -> None:
        super().__init__(title=title)
        self._confirming: str | None = None
        """The implausible weight text shown for confirmation (submitting again stores it)."""

    def weight_warning(self, weight: QuantityField) -> str | None:
        """Why the typed weight is implausible, or None."""
        parsed = weight.evaluate()
        return calc.check_weight(parsed.value).warning if parsed is not None else None

    def ask_to_confirm(self, weight: QuantityField, warning: str | None, again: str) -> bool:
        """True when ``warning`` is shown now for this weight (the next submit confirms
        it); False when there is none or it was shown already."""
        if warning is None or self._confirming == weight.text:
            return False
        self._confirming = weight.text
        self.say(f"{warning} {again}")
        return True


class WeightModal(WeighingForm[WeightEntry]):
    """Weight and time of measurement (default now). Returns None when cancelled.

    Enter in either field records (the time is already filled in with now; Tab reaches
    it to change it), and so does ctrl+s."""

    SUBMIT = "Record"
    FIELDS = ("#weight-value", "#weight-at")
    ENTER_SUBMITS_ANYWHERE = True
    BINDINGS = [Binding("ctrl+s", "submit", "Record", priority=True)]

    def __init__(self, subject_code: str, clock: Callable[[], dt.datetime]) -> None:
        super().__init__(title=f"Record a weight of {subject_code}")
        self._clock = clock

    @override
    def compose_body(self) -> ComposeResult:
        """Two fields."""
        with Grid(classes="form-grid"):
            yield Label("Weight", classes="form-label")
            yield QuantityField("Weight", Dim.MASS, id="weight-value")
            yield Label("Measured at", classes="form-label")
            yield MomentField("Measured at", self._clock, id="weight-at")

    @override
    def submit(self) -> None:
        weight = self.query_one("#weight-value", QuantityField)
        moment = self.query_one("#weight-at", MomentField)
        if not weight.check():
            weight.focus()
            return
        at = moment.value()
        if at is None or not moment.check():
            moment.focus()
            return
        warning = self.weight_warning(weight)
        if self.ask_to_confirm(weight, warning, "Press Enter (Record) again to confirm it."):
            self.query_one("#ok", Button).focus()
            return
        self.dismiss(WeightEntry(weight.text, at, confirmed=warning is not None))
