"""The bedside identity check: two identifiers of the patient and the bag's kit code.

Typed or scanned (a scanner types the code and Enter). The modal only reads the date;
the ward service compares all three with the visit and refuses a mismatch.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static
from typing_extensions import override

from tui.modals.typeahead import after_pending_keys

FIELDS = ("#bed-subject", "#bed-dob", "#bed-kit")


@dataclass(frozen=True)
class BedsideEntry:
    """What was typed or scanned at the bedside."""

    subject_code: str
    date_of_birth: dt.date
    kit_code: str


class BedsideModal(ModalScreen[BedsideEntry | None]):
    """Subject code, date of birth, kit code; Enter moves on and confirms at the end."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel"),
        # Priority: a scanner types the next code at once; focus must move before it.
        Binding("enter", "next_field", show=False, priority=True),
    ]

    def compose(self) -> ComposeResult:
        """Three fields, a message line, buttons."""
        with Vertical(classes="modal-box"):
            yield Static("Bedside identity check", classes="dialog-title")
            yield Static("Ask the patient or read the wristband; scan or type the bag's "
                         "kit code. Do not copy from this screen.")
            with Grid(classes="form-grid"):
                yield Label("Subject code", classes="form-label")
                yield Input(id="bed-subject", compact=True, placeholder="e.g. TLS-003")
                yield Label("Date of birth", classes="form-label")
                yield Input(id="bed-dob", compact=True, placeholder="YYYY-MM-DD")
                yield Label("Kit code", classes="form-label")
                yield Input(id="bed-kit", compact=True, placeholder="scan or type K-…")
            yield Static("", id="bed-message", classes="message")
            with Horizontal(classes="buttons"):
                yield Button("Confirm", id="ok", variant="primary", compact=True)
                yield Button("Cancel", id="cancel", compact=True)

    def on_mount(self) -> None:
        """Start with the subject code."""
        self.query_one("#bed-subject", Input).focus()

    def _value(self, selector: str) -> str:
        return self.query_one(selector, Input).value.strip()

    def _problem(self, text: str, selector: str) -> None:
        line = self.query_one("#bed-message", Static)
        line.update(text)
        line.add_class("error")
        self.query_one(selector, Input).focus()

    @override
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Enter in a field moves on (and confirms in the last); elsewhere it presses."""
        if action == "next_field":
            return isinstance(self.focused, Input)
        return True

    def action_next_field(self) -> None:
        """Move to the next field, or confirm from the kit code."""
        focused = self.focused
        selector = f"#{focused.id}" if focused is not None else ""
        if selector in FIELDS[:-1]:
            # set_focus at once (not focus(), which waits): scanned keys follow at once.
            self.set_focus(self.query_one(FIELDS[FIELDS.index(selector) + 1], Input))
            return
        after_pending_keys([self.query_one(f, Input) for f in FIELDS], self._ok)

    @on(Button.Pressed, "#ok")
    def _ok(self) -> None:
        for selector, name in zip(FIELDS, ("subject code", "date of birth", "kit code"),
                                  strict=True):
            if not self._value(selector):
                self._problem(f"Type or scan the {name}.", selector)
                return
        try:
            born = dt.date.fromisoformat(self._value("#bed-dob"))
        except ValueError:
            self._problem(f'Date of birth: "{self._value("#bed-dob")}" is not a date; type '
                          "it as YYYY-MM-DD.", "#bed-dob")
            return
        self.dismiss(BedsideEntry(self._value("#bed-subject"), born, self._value("#bed-kit")))

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        """Close: nothing is recorded."""
        self.dismiss(None)
