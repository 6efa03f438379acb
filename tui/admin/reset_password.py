"""Ask an administrator for a temporary password (typed twice)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Grid
from textual.widgets import Input, Label, Static
from typing_extensions import override

from tui.dialogs.base import ModalForm


class ResetPasswordModal(ModalForm[str]):
    """Returns the temporary password, or None when cancelled."""

    SUBMIT = "Reset"
    FIELDS = ("#new", "#confirm")

    def __init__(self, username: str) -> None:
        super().__init__(title=f"Reset the password of {username}")

    @override
    def compose_body(self) -> ComposeResult:
        """Two masked fields."""
        yield Static("They must choose a new password at their next login.")
        with Grid(classes="form"):
            yield Label("Temporary")
            yield Input(password=True, id="new", compact=True)
            yield Label("Again")
            yield Input(password=True, id="confirm", compact=True)

    @override
    def submit(self) -> None:
        new = self.query_one("#new", Input).value
        if new != self.query_one("#confirm", Input).value:
            self.say("The two passwords differ.", focus="#confirm")
            return
        self.dismiss(new)
