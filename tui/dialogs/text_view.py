"""Read a long text in full (an audit event's every change): it scrolls; Esc or Enter
closes it."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Static

from tui.widgets.key_footer import KeyFooter


class TextViewModal(ModalScreen[None]):
    """A title over a text that scrolls with the arrow keys and Page Up/Down."""

    BINDINGS = [
        Binding("escape", "dismiss", "Close"),
        Binding("enter", "dismiss", "Close", show=False),
    ]

    def __init__(self, title: str, body: Text) -> None:
        super().__init__()
        self._title = title
        self._body = body

    def compose(self) -> ComposeResult:
        """Title, the text in a scrolling box."""
        with Vertical(classes="modal-box text-view"):
            yield Static(Content(self._title), classes="dialog-title")
            with VerticalScroll(id="text-view-body", can_focus=True):
                yield Static(self._body, id="text-view-text")
        yield KeyFooter()

    def on_mount(self) -> None:
        """The text takes the keys (arrows scroll it)."""
        self.query_one("#text-view-body").focus()
