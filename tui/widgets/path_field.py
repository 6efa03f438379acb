"""The import line of a screen: the path a person typed in an Input."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from textual.widgets import Input


def typed_path(field: Input, missing: Callable[[], None]) -> tuple[str, Path] | None:
    """What was typed in ``field`` (trimmed) and the path it names (``~`` expanded); when
    nothing was typed, ``missing()`` says what to type and the answer is None."""
    typed = field.value.strip()
    if not typed:
        missing()
        return None
    return typed, Path(typed).expanduser()
