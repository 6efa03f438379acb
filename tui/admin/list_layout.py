"""The layout the administrator's lists share (users, sites)."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import DataTable, LoadingIndicator, Static

from tui.widgets.key_footer import KeyFooter
from tui.widgets.session_header import SessionHeader


def compose_list(name: str, title: str, table: DataTable[Any]) -> ComposeResult:
    """Header, title, a loading indicator, ``table``, status line, footer; ids
    ``NAME-body``, ``NAME-loading`` and ``NAME-status``."""
    yield SessionHeader()
    with Vertical(id=f"{name}-body"):
        yield Static(title, classes="pane-title")
        yield LoadingIndicator(id=f"{name}-loading")
        yield table
        yield Static("", id=f"{name}-status", classes="message")
    yield KeyFooter()
