"""Ask an administrator for a temporary password (typed twice)."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static


class ResetPasswordModal(ModalScreen[str | None]):
    """Returns the temporary password, or None when cancelled."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, username: str) -> None:
        super().__init__()
        self._username = username

    def compose(self) -> ComposeResult:
        """Two masked fields and buttons."""
        with Vertical(classes="modal-box"):
            yield Static(Content(f"Reset the password of {self._username}"),
                         classes="dialog-title")
            yield Static("They must choose a new password at their next login.")
            with Grid(classes="form"):
                yield Label("Temporary")
                yield Input(password=True, id="new", compact=True)
                yield Label("Again")
                yield Input(password=True, id="confirm", compact=True)
            yield Static("", id="reset-message", classes="message")
            with Horizontal(classes="buttons"):
                yield Button("Reset", id="ok", variant="primary", compact=True)
                yield Button("Cancel", id="cancel", compact=True)

    def on_mount(self) -> None:
        """Start in the first field."""
        self.query_one("#new", Input).focus()

    @on(Input.Submitted, "#new")
    def _next(self) -> None:
        self.query_one("#confirm", Input).focus()

    @on(Input.Submitted, "#confirm")
    @on(Button.Pressed, "#ok")
    def _ok(self) -> None:
        new = self.query_one("#new", Input).value
        if new != self.query_one("#confirm", Input).value:
            message = self.query_one("#reset-message", Static)
            message.update("The two passwords differ.")
            message.add_class("error")
            self.query_one("#confirm", Input).focus()
            return
        self.dismiss(new)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        """Close: nothing is changed."""
        self.dismiss(None)
