"""The bedside identity check: two identifiers of the patient and the bag's kit code.

Typed or scanned (a scanner types the code and Enter). The modal only reads the date;
the ward service compares all three with the visit and refuses a mismatch.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from textual.app import ComposeResult
from textual.containers import Grid
from textual.widgets import Input, Label, Static
from typing_extensions import override

from tui.dialogs.base import ModalForm


@dataclass(frozen=True)
class BedsideEntry:
    """What was typed or scanned at the bedside."""

    subject_code: str
    date_of_birth: dt.date
    kit_code: str


class BedsideModal(ModalForm[BedsideEntry]):
    """Subject code, date of birth, kit code; Enter moves on and confirms at the end."""

    DIALOG_TITLE = "Bedside identity check"
    SUBMIT = "Confirm"
    FIELDS = ("#bed-subject", "#bed-dob", "#bed-kit")

    @override
    def compose_body(self) -> ComposeResult:
        """Three fields."""
        yield Static(
            "Ask the patient or read the wristband; scan or type the bag's "
            "kit code. Do not copy from this screen."
        )
        with Grid(classes="form-grid"):
            yield Label("Subject code", classes="form-label")
            yield Input(id="bed-subject", compact=True, placeholder="e.g. TLS-003")
            yield Label("Date of birth", classes="form-label")
            yield Input(id="bed-dob", compact=True, placeholder="YYYY-MM-DD")
            yield Label("Kit code", classes="form-label")
            yield Input(id="bed-kit", compact=True, placeholder="scan or type K-…")

    def _value(self, selector: str) -> str:
        return self.query_one(selector, Input).value.strip()

    @override
    def submit(self) -> None:
        for selector, name in zip(
            self.FIELDS, ("subject code", "date of birth", "kit code"), strict=True
        ):
            if not self._value(selector):
                self.say(f"Type or scan the {name}.", focus=selector)
                return
        try:
            born = dt.date.fromisoformat(self._value("#bed-dob"))
        except ValueError:
            self.say(
                f'Date of birth: "{self._value("#bed-dob")}" is not a date; type it as YYYY-MM-DD.',
                focus="#bed-dob",
            )
            return
        self.dismiss(BedsideEntry(self._value("#bed-subject"), born, self._value("#bed-kit")))
