"""Ask why a change is made (the audit trail records it)."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Static


class ReasonModal(ModalScreen[str | None]):
    """Returns the reason typed, or None when cancelled."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, title: str, prompt: str, confirm: str = "OK") -> None:
        super().__init__()
        self._title = title
        self._prompt = prompt
        self._confirm = confirm

    def compose(self) -> ComposeResult:
        """Title, question, one line for the reason, buttons."""
        with Vertical(classes="modal-box"):
            yield Static(Content(self._title), classes="dialog-title")
            yield Static(Content(self._prompt))
            yield Input(placeholder="Reason (recorded in the audit trail)", id="reason")
            yield Static("", id="reason-message", classes="message")
            with Horizontal(classes="buttons"):
                yield Button(self._confirm, id="ok", variant="primary", compact=True)
                yield Button("Cancel", id="cancel", compact=True)

    def on_mount(self) -> None:
        """Type the reason straight away."""
        self.query_one("#reason", Input).focus()

    @on(Input.Submitted)
    @on(Button.Pressed, "#ok")
    def _ok(self) -> None:
        reason = self.query_one("#reason", Input).value.strip()
        if not reason:
            self.query_one("#reason-message", Static).update("Give a reason.")
            self.query_one("#reason-message").add_class("error")
            return
        self.dismiss(reason)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        """Close without a reason: nothing is changed."""
        self.dismiss(None)
