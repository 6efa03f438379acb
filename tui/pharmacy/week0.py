"""Ask for the week-0 date of a subject's visits (period 1; period 2 follows)."""

from __future__ import annotations

import datetime as dt

from textual.app import ComposeResult
from textual.containers import Grid
from textual.content import Content
from textual.widgets import Input, Label, Static
from typing_extensions import override

from tui.dialogs.base import ModalForm


class Week0Modal(ModalForm[dt.date]):
    """One date field (default: today at the site). Returns the date, or None. Enter
    accepts today straight away."""

    SUBMIT = "Schedule"
    FIELDS = ("#week0",)

    def __init__(self, subject_code: str, today: dt.date, period2_week: int) -> None:
        super().__init__(title=f"Schedule the visits of {subject_code}")
        self._today = today
        self._period2_week = period2_week

    @override
    def compose_body(self) -> ComposeResult:
        """What is asked and the date."""
        yield Static(
            Content(f"Period 1 is planned on week 0; period 2 {self._period2_week} weeks later.")
        )
        with Grid(classes="form-grid"):
            yield Label("Week 0 (date)", classes="form-label")
            yield Input(
                self._today.isoformat(),
                id="week0",
                compact=True,
                placeholder="YYYY-MM-DD, e.g. 2025-03-14",
            )

    @override
    def submit(self) -> None:
        typed = self.query_one("#week0", Input).value.strip()
        try:
            day = dt.date.fromisoformat(typed)
        except ValueError:
            self.say(
                f'Week 0: "{typed[:20]}" is not a date; expected YYYY-MM-DD, such as 2025-03-14.'
            )
            return
        self.dismiss(day)
