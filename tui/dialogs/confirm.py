"""Ask before a big step or before typed input is thrown away: y / Enter yes, n / Esc no."""

from __future__ import annotations

from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen, Screen
from textual.widgets import Button, Static

from tui.widgets.key_footer import KeyFooter


class ConfirmModal(ModalScreen[bool]):
    """A question with two answers; returns True for yes. The safe answer has the focus
    unless ``yes_first``."""

    BINDINGS = [
        Binding("y", "answer(True)", "Yes", show=False),  # the buttons say (y) and (n)
        Binding("n", "answer(False)", "No", show=False),
        Binding("escape", "answer(False)", "No"),
    ]

    def __init__(
        self,
        title: str,
        question: str,
        *,
        yes: str = "Yes",
        no: str = "No",
        yes_first: bool = False,
    ) -> None:
        super().__init__()
        self._title = title
        self._question = question
        self._yes = yes
        self._no = no
        self._yes_first = yes_first

    def compose(self) -> ComposeResult:
        """Title, question, the two buttons."""
        with Vertical(classes="modal-box"):
            yield Static(Content(self._title), classes="dialog-title")
            yield Static(Content(self._question), id="confirm-question")
            with Horizontal(classes="buttons"):
                yield Button(f"{self._yes} (y)", id="yes", variant="primary", compact=True)
                yield Button(f"{self._no} (n)", id="no", compact=True)
        yield KeyFooter()  # its own keys, not those of the screen below

    def on_mount(self) -> None:
        """Enter answers with the button that has the focus."""
        self.query_one("#yes" if self._yes_first else "#no", Button).focus()

    def action_answer(self, yes: bool) -> None:
        """Close with the answer."""
        self.dismiss(yes)

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")


def dismiss_or_ask(screen: Screen[Any], question: str, *, typed: bool) -> None:
    """Close ``screen`` with None; when the person has ``typed`` something, only once they
    answer yes to "Discard what you typed?" (``question`` says what would be lost)."""
    if not typed:
        screen.dismiss(None)
        return

    def answered(discard: bool | None) -> None:
        if discard:
            screen.dismiss(None)

    screen.app.push_screen(
        ConfirmModal("Discard what you typed?", question, yes="Discard", no="Keep editing"),
        answered,
    )
