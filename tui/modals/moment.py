"""Ask when something happened (default now): an infusion start, a thaw."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Static

from tui.widgets.moment_input import MomentField


class MomentModal(ModalScreen[dt.datetime | None]):
    """One time field; returns the moment typed, or None when cancelled."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, title: str, prompt: str, field: str,
                 clock: Callable[[], dt.datetime], confirm: str = "Record") -> None:
        super().__init__()
        self._title = title
        self._prompt = prompt
        self._field = field
        self._clock = clock
        self._confirm = confirm

    def compose(self) -> ComposeResult:
        """Title, what is asked, the time field, buttons."""
        with Vertical(classes="modal-box"):
            yield Static(Content(self._title), classes="dialog-title")
            yield Static(Content(self._prompt))
            yield MomentField(self._field, self._clock, id="moment")
            with Horizontal(classes="buttons"):
                yield Button(self._confirm, id="ok", variant="primary", compact=True)
                yield Button("Cancel", id="cancel", compact=True)

    def on_mount(self) -> None:
        """Enter accepts "now" straight away."""
        self.query_one("#moment", MomentField).focus()

    @on(Input.Submitted)
    @on(Button.Pressed, "#ok")
    def _ok(self) -> None:
        field = self.query_one("#moment", MomentField)
        at = field.value()
        if at is None or not field.check():
            return
        self.dismiss(at)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        """Close: nothing is recorded."""
        self.dismiss(None)
