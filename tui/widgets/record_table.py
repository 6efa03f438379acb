"""The one table of the UI: Textual's DataTable, repainted once it has measured new rows.

A DataTable measures rows it was given when it is next idle. When the table is cleared
and filled again with rows of the same total size, and the screen paints in between (a
busy machine makes that likely), the cells are painted at the width of the column
headings and cached; the measurement that follows changes no size, so nothing repaints
them and the row stays cut off ("blinde" for "blinded · thawed 03-14 09:10") until the
next key press. This table forgets what it painted and repaints whenever it has measured.

It also says when its size changed (:class:`RecordTable.Resized`): a paged list fits its
page to the rows that show, and the table shrinks or grows without the terminal changing
(a status line of two lines, a field shown or hidden above it).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

from textual import events
from textual.message import Message
from textual.widgets import DataTable

Cell = TypeVar("Cell")
Row = TypeVar("Row")


class RecordTable(DataTable[Cell]):
    """A DataTable that never keeps cells painted before their column was measured."""

    class Resized(Message):
        """The table's size on screen changed."""

        def __init__(self, table: RecordTable[Any]) -> None:
            super().__init__()
            self.table = table

    def on_resize(self, _: events.Resize) -> None:
        """Tell the screen (a paged list fits its page to the rows that show)."""
        self.post_message(self.Resized(self))

    async def _on_idle(self, event: events.Idle) -> None:
        measuring = self._require_update_dimensions or bool(self._updated_cells)
        await super()._on_idle(event)
        if measuring:
            # Called by Textual after this (each class's own handler runs), DataTable's
            # handler then finds nothing left to measure.
            self._clear_caches()
            self.refresh(layout=True)  # a table of height auto takes its new height
            self.measured()

    def measured(self) -> None:
        """Called once the table has measured new or changed rows (its columns have their
        widths); a table that fits its columns to the room it has does it here."""


def highlighted_key(table: DataTable[Any]) -> str | None:
    """The key of the row under the cursor, or None when the table has no row."""
    if table.row_count == 0 or table.cursor_row < 0:
        return None
    return table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value


def refill(
    table: DataTable[Cell],
    rows: Iterable[Row],
    key: Callable[[Row], str],
    cells: Callable[[Row], Sequence[Cell]],
    add: Callable[[DataTable[Cell], list[tuple[Sequence[Cell], str | None]]], object] | None = None,
) -> dict[str, Row]:
    """Replace the table's rows with ``rows`` (added all at once by ``add(table, [(cells,
    key), …])``, else each by the table's own ``add_row``), keeping the cursor on the row it
    was on when that row is still there; returns the rows by key."""
    keep = highlighted_key(table)
    table.clear()
    keyed = [(key(row), row) for row in rows]
    by_key = dict(keyed)
    if add is None:
        for row_key, row in keyed:
            table.add_row(*cells(row), key=row_key)
    else:
        add(table, [(cells(row), row_key) for row_key, row in keyed])
    if keep is not None and keep in by_key:
        table.move_cursor(row=table.get_row_index(keep))
    return by_key
