"""A role pane listing lots: Enter opens the lot (detail or QA review)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.screen import Screen
from textual.widgets import DataTable
from typing_extensions import override

from tui.context import context_of
from tui.panes.base import Row, TablePane, first_of, format_cell
from tui.widgets.record_table import highlighted_key
from tui.widgets.wrapped_rows import StretchTable, add_wrapped_rows

LotRow = tuple[object, ...]
"""``(lot_id, cell, cell, …)``: the id keys the row and is not shown."""

PAGE_SIZE = 50
"""Lots a home lists at most (the first of its order, two or three screens of them; the
hint says how many there are); the lot list pages through all. #18: a hundred wrapped
rows took longer to add and lay out than the rest of the home at N = 1000."""


def first_page(rows: Sequence[Row], total: int) -> list[Row]:
    """``rows`` (at most :data:`PAGE_SIZE` of them), and a last row ``(None, total)`` when
    ``total`` lots are more than those listed: the hint says so (:attr:`TablePane.MORE`)."""
    return first_of(rows[:PAGE_SIZE], total)


class LotTablePane(TablePane):
    """A table pane whose rows are lots; cells may be styled ``Text``."""

    OPENS: ClassVar[str] = "detail"
    """``detail`` (the batch record) or ``review`` (the QA review)."""
    WRAP: ClassVar[tuple[str, int] | None] = None
    """A column (heading, least width) that takes the room the others leave and wraps
    there, so that what is due is read whole at 80 columns (None: every column sized
    to its text)."""

    @override
    def new_table(self) -> DataTable[Text]:
        """The table; the :attr:`WRAP` column stretches and wraps."""
        if self.WRAP is None:
            return super().new_table()
        heading, least = self.WRAP
        table = StretchTable(
            cursor_type="row", zebra_stripes=True, stretch=self.COLUMNS.index(heading)
        )
        for column in self.COLUMNS:
            table.add_column(column, width=least if column == heading else None)
        return table

    @override
    def show(self, data: Sequence[Row]) -> None:
        """Fill the table; the first value of each row is the lot id (the row's key). The
        cursor stays on the lot it was on (back from a lot, the list goes on from there)."""
        data = self.listed(data)
        tz = context_of(self).clock().tzinfo
        table: DataTable[Text] = self.query_one(DataTable)
        before = highlighted_key(table) if table.display else None
        table.clear()
        add_wrapped_rows(
            table,
            (
                (
                    [cell if isinstance(cell, Text) else _cell(cell, tz) for cell in cells],
                    str(lot_id),
                )
                for lot_id, *cells in data
            ),
        )
        keys = [str(row[0]) for row in data]
        if before in keys:
            table.move_cursor(row=keys.index(before), animate=False)
        table.display = bool(data)
        self.query_one(".pane-empty").display = not data
        self.settle_focus(table, bool(data))

    @on(DataTable.RowSelected)
    def _open(self, event: DataTable.RowSelected) -> None:
        event.stop()
        if event.row_key.value is not None:
            self.app.push_screen(self.screen_for(int(event.row_key.value)))

    def screen_for(self, lot_id: int) -> Screen[None]:
        """The screen Enter opens."""
        from tui.manufacturing.lot_detail import LotDetailScreen

        if self.OPENS == "review":
            from tui.qa.review import QAReviewScreen

            return QAReviewScreen(lot_id, detail=LotDetailScreen)
        return LotDetailScreen(lot_id)


def _cell(value: object, tz: dt.tzinfo | None) -> Text:
    if isinstance(value, dt.datetime):
        return Text(value.astimezone(tz).strftime("%d %b %H:%M"))
    return format_cell(value, tz)
