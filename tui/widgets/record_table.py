"""The one table of the UI: Textual's DataTable, repainted once it has measured new rows.

A DataTable measures rows it was given when it is next idle. When the table is cleared
and filled again with rows of the same total size, and the screen paints in between (a
busy machine makes that likely), the cells are painted at the width of the column
headings and cached; the measurement that follows changes no size, so nothing repaints
them and the row stays cut off ("blinde" for "blinded · thawed 03-14 09:10") until the
next key press. This table forgets what it painted and repaints whenever it has measured.
"""

from __future__ import annotations

from typing import TypeVar

from textual import events
from textual.widgets import DataTable

Cell = TypeVar("Cell")


class RecordTable(DataTable[Cell]):
    """A DataTable that never keeps cells painted before their column was measured."""

    async def _on_idle(self, event: events.Idle) -> None:
        measuring = self._require_update_dimensions or bool(self._updated_cells)
        await super()._on_idle(event)
        if measuring:
            self._clear_caches()
            self.refresh()
