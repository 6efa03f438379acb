"""F1: help for the screen underneath, and the keys that work there."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.content import Content
from textual.screen import Screen
from textual.widgets import Markdown, Static

from tui.context import context_of, database_location
from tui.widgets.key_footer import KeyFooter


class HelpScreen(Screen[None]):
    """Shows a screen's help text and its active keys; any of Escape, F1 or q closes it."""

    BINDINGS = [
        Binding("escape", "close", "Close"),
        Binding("f1", "close", "Close", show=False),
        Binding("q", "close", "Close", show=False),
    ]

    def __init__(self, markdown: str, keys: list[tuple[str, str]]) -> None:
        super().__init__()
        self._markdown = markdown
        self._keys = keys

    def compose(self) -> ComposeResult:
        """The help text, the keys, and where the database is."""
        keys = "\n".join(f"* `{key}` {description}" for key, description in self._keys)
        location = database_location(context_of(self).url)
        text = (
            f"{self._markdown}\n\n## Keys on this screen\n\n{keys}\n"
            "* `ctrl+p` command palette: what your roles allow\n"
        )
        with VerticalScroll(id="help-body"):
            yield Markdown(text)
            yield Static(Content(f"Database: {location}"), classes="hint")
        yield KeyFooter()

    def on_mount(self) -> None:
        """Scroll with the keyboard straight away."""
        self.query_one("#help-body").focus()

    def action_close(self) -> None:
        """Back to the screen the help is about."""
        self.dismiss()
