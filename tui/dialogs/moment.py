"""Ask when something happened (default now): an infusion start, a thaw."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from textual.app import ComposeResult
from textual.content import Content
from textual.widgets import Static
from typing_extensions import override

from tui.dialogs.base import ModalForm
from tui.widgets.moment_input import MomentField


class MomentModal(ModalForm[dt.datetime]):
    """One time field; returns the moment typed, or None when cancelled. Enter accepts
    "now" straight away."""

    FIELDS = ("#moment",)

    def __init__(
        self,
        title: str,
        prompt: str,
        field: str,
        clock: Callable[[], dt.datetime],
        confirm: str = "Record",
    ) -> None:
        super().__init__(title=title, submit=confirm)
        self._prompt = prompt
        self._field = field
        self._clock = clock

    @override
    def compose_body(self) -> ComposeResult:
        """What is asked and the time field."""
        yield Static(Content(self._prompt))
        yield MomentField(self._field, self._clock, id="moment")

    @override
    def submit(self) -> None:
        field = self.query_one("#moment", MomentField)
        at = field.value()
        if at is None or not field.check():
            return
        self.dismiss(at)
