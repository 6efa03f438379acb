"""Ask why a change is made (the audit trail records it)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.content import Content
from textual.widgets import Input, Static
from typing_extensions import override

from tui.dialogs.base import ModalForm


class ReasonModal(ModalForm[str]):
    """Returns the reason typed, or None when cancelled."""

    FIELDS = ("#reason",)

    def __init__(self, title: str, prompt: str, confirm: str = "OK") -> None:
        super().__init__(title=title, submit=confirm)
        self._prompt = prompt

    @override
    def compose_body(self) -> ComposeResult:
        """The question and one line for the reason."""
        yield Static(Content(self._prompt))
        yield Input(placeholder="Reason (recorded in the audit trail)", id="reason")

    @override
    def submit(self) -> None:
        reason = self.query_one("#reason", Input).value.strip()
        if not reason:
            self.say("Give a reason.")
            return
        self.dismiss(reason)
