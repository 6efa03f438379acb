"""The import line of a screen: a label, the path a person types, and an Import button."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import Button, Input, Label


def typed_path(field: Input, missing: Callable[[], None]) -> tuple[str, Path] | None:
    """What was typed in ``field`` (trimmed) and the path it names (``~`` expanded); when
    nothing was typed, ``missing()`` says what to type and the answer is None."""
    typed = field.value.strip()
    if not typed:
        missing()
        return None
    return typed, Path(typed).expanduser()


class Say(Protocol):
    """A screen's status line: shows ``text``, as an error or not."""

    def __call__(self, text: str, *, error: bool) -> None: ...


class ImportLine(Horizontal):
    """``label``, the path box and an Import button, with the ids ``PREFIX-import`` (the
    line), ``PREFIX-path-label``, ``PREFIX-path`` and ``PREFIX-import-button``. Enter in
    the box or the button posts :class:`ImportLine.Submitted`; ``missing`` is what to say
    when nothing was typed."""

    class Submitted(Message):
        """The person asked to import the file named in the box."""

        def __init__(self, line: ImportLine) -> None:
            super().__init__()
            self.line = line

        def typed_path(self, say: Say) -> tuple[str, Path] | None:
            """What was typed and the path it names; when nothing was typed, ``say`` shows
            the line's ``missing`` as an error and the answer is None."""
            line = self.line
            return typed_path(line.query_one(Input), lambda: say(line.missing, error=True))

    def __init__(self, prefix: str, label: str, placeholder: str, missing: str) -> None:
        super().__init__(id=f"{prefix}-import")
        self.prefix = prefix
        self.label = label
        self.placeholder = placeholder
        self.missing = missing

    def compose(self) -> ComposeResult:
        """The label, the path box, the button."""
        prefix = self.prefix
        yield Label(self.label, id=f"{prefix}-path-label")
        yield Input(id=f"{prefix}-path", compact=True, placeholder=self.placeholder)
        yield Button("Import", id=f"{prefix}-import-button", compact=True)

    @on(Input.Submitted)
    @on(Button.Pressed)
    def _submitted(self) -> None:
        self.post_message(self.Submitted(self))
