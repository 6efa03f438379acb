"""What the typed fields share (a quantity, a moment): one input, a line for its error.

A subclass reads the text in :meth:`TypedField.evaluate` (setting ``error`` when it names
nothing it accepts) and shows what it read beside the input.
"""

from __future__ import annotations

from typing import ClassVar, Self

from rich.text import Text
from textual import on
from textual.containers import Vertical
from textual.widgets import Input, Static


class TypedField(Vertical):
    """A field a person types into, checked as they type."""

    ERROR_LINE: ClassVar[str] = ".error"
    """The selector of the line that shows the field's message."""

    error: str | None = None
    """Why the text cannot be used as it is, or None."""

    def evaluate(self) -> object:
        """Read the text now, show what it names and set :attr:`error`."""
        raise NotImplementedError

    def on_mount(self) -> None:
        """Show what the default names (or what is expected)."""
        self.evaluate()

    @property
    def input(self) -> Input:
        """The text input itself."""
        return self.query_one(Input)

    @property
    def text(self) -> str:
        """What was typed."""
        return self.input.value

    @text.setter
    def text(self, value: str) -> None:
        self.input.value = value

    def focus(self, scroll_visible: bool = True) -> Self:
        """Focus the input."""
        self.input.focus(scroll_visible)
        return self

    def check(self) -> bool:
        """Before saving: True when the text can be used; else its message shows in red."""
        self.evaluate()
        if self.error is None:
            return True
        self.show_error(self.error)
        return False

    def show_error(self, message: str) -> None:
        """Mark the field invalid with ``message`` (also the service's refusal)."""
        self.query_one(self.ERROR_LINE, Static).update(Text(message))
        self.add_class("-invalid")

    @on(Input.Changed)
    def _changed(self, event: Input.Changed) -> None:
        event.stop()
        self.remove_class("-invalid")
        self.evaluate()
