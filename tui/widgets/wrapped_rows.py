"""Table rows that wrap inside fixed-width columns instead of running off an 80-column
screen: a column given a width keeps it, and its longer text continues on the next line
of the same row."""

from __future__ import annotations

import textwrap

from rich.text import Text
from textual.widgets import DataTable
from textual.widgets.data_table import RowKey


def add_wrapped_row(table: DataTable[Text], *cells: Text, key: str | None = None) -> RowKey:
    """Add a row whose text wraps inside the columns that have a fixed width (the row
    grows as tall as its longest cell)."""
    widths = [None if c.auto_width else c.width for c in table.columns.values()]
    out = []
    for cell, width in zip(cells, widths, strict=True):
        if width is not None and cell.cell_len > width:
            wrapped = textwrap.fill(cell.plain, width)
            cell = Text(wrapped, style=cell.style, end="")
        out.append(cell)
    return table.add_row(*out, key=key, height=max(c.plain.count("\n") for c in out) + 1)
