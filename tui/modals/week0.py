"""Ask for the week-0 date of a subject's visits (period 1; period 2 follows)."""

from __future__ import annotations

import datetime as dt

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static


class Week0Modal(ModalScreen[dt.date | None]):
    """One date field (default: today at the site). Returns the date, or None."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, subject_code: str, today: dt.date, period2_week: int) -> None:
        super().__init__()
        self._subject = subject_code
        self._today = today
        self._period2_week = period2_week

    def compose(self) -> ComposeResult:
        """Title, what is asked, the date, buttons."""
        with Vertical(classes="modal-box"):
            yield Static(Content(f"Schedule the visits of {self._subject}"),
                         classes="dialog-title")
            yield Static(Content(
                f"Period 1 is planned on week 0; period 2 {self._period2_week} weeks "
                "later."))
            with Grid(classes="form-grid"):
                yield Label("Week 0 (date)", classes="form-label")
                yield Input(self._today.isoformat(), id="week0", compact=True,
                            placeholder="YYYY-MM-DD, e.g. 2025-03-14")
            yield Static("", id="week0-message", classes="message")
            with Horizontal(classes="buttons"):
                yield Button("Schedule", id="ok", variant="primary", compact=True)
                yield Button("Cancel", id="cancel", compact=True)

    def on_mount(self) -> None:
        """Enter accepts today straight away."""
        self.query_one("#week0", Input).focus()

    @on(Input.Submitted)
    @on(Button.Pressed, "#ok")
    def _ok(self) -> None:
        typed = self.query_one("#week0", Input).value.strip()
        try:
            day = dt.date.fromisoformat(typed)
        except ValueError:
            message = self.query_one("#week0-message", Static)
            message.update(Content(f'Week 0: "{typed[:20]}" is not a date; expected '
                                   "YYYY-MM-DD, such as 2025-03-14."))
            message.add_class("error")
            return
        self.dismiss(day)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        """Close: nothing is scheduled."""
        self.dismiss(None)
