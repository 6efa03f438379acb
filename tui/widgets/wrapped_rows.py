"""Table rows that wrap inside fixed-width columns instead of running off an 80-column
screen: a column given a width keeps it, and its longer text continues on the next line
of the same row, broken between words (or after a ``/`` inside one), never
inside a word that fits the column."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any, Self

from rich.cells import cell_len
from rich.text import Text
from textual import events
from textual.widget import Widget
from textual.widgets import DataTable
from textual.widgets.data_table import RowKey
from typing_extensions import override

from tui.widgets.record_table import RecordTable

_BREAK = re.compile(r"(?<=/)")
"""Where a word may break: after a ``/`` (``(aerobic/`` ``anaerobic``); never at a hyphen,
which would cut a code (``TLS-103``, ``K-ATW5CJYK``) or a date in two."""


WrappedRow = tuple[Sequence[Text], str | None]
"""A row's cells and its key."""


def wrap_words(text: str, width: int) -> list[str]:
    """``text`` in lines of at most ``width`` cells, broken at spaces or where :data:`_BREAK`
    allows; only a piece longer than the whole width is cut inside."""
    width = max(1, width)
    lines: list[str] = []
    for paragraph in text.split("\n"):
        line = ""
        for n, word in enumerate(paragraph.split()):
            for m, piece in enumerate(p for p in _BREAK.split(word) if p):
                glue = " " if n and not m and line else ""
                if line and len(line) + len(glue) + len(piece) > width:
                    lines.append(line)
                    line, glue = "", ""
                line += glue + piece
                while len(line) > width:
                    lines.append(line[:width])
                    line = line[width:]
        lines.append(line)
    return lines


class StretchTable(RecordTable[Text]):
    """A table whose last column (or the one named by ``stretch``), given a width, takes
    the room the others leave, so a long address runs on one line when the terminal is
    wide and wraps when it is not; rows added with :func:`add_wrapped_row` are wrapped
    again when the width changes.

    Columns named by :func:`grow_first` share that room with it: first every word whole
    (the stretching column, unless named in its own place, then those columns in the order
    named, each up to its longest word), then every text on one line (in the same order,
    each up to its longest line: a QC note, then the test's name, at 120 columns), and the
    stretching column takes what is left. A column never gets less
    than the width it was given."""

    def __init__(self, *args: Any, stretch: int = -1, **kwargs: Any) -> None:
        """``stretch``: the index of the column that takes the room (the last one)."""
        super().__init__(*args, **kwargs)
        self._stretch = stretch
        self._given: list[WrappedRow] = []
        self._least: list[int] | None = None
        self._longest: dict[int, tuple[int, int]] = {}
        """Per column: (its longest line, its longest word) in the rows."""
        self._grows_first: tuple[int, ...] = ()

    @override
    def clear(self, columns: bool = False) -> Self:
        self._given.clear()
        if columns:
            self._least = None
            self._longest.clear()
            self._grows_first = ()
        return super().clear(columns)

    def _note_lengths(self, cells: Sequence[Text]) -> None:
        for i, cell in enumerate(cells):
            lines = cell.plain.split("\n")
            line = max(cell_len(x) for x in lines)
            word = max((len(w) for x in lines for w in _pieces(x)), default=0)
            had = self._longest.get(i, (0, 0))
            self._longest[i] = (max(had[0], line), max(had[1], word))

    def fit_last_column(self, adding: int = 0) -> bool:
        """Share the room as the class says (``adding`` rows about to be added); True when
        a width changed."""
        columns = list(self.columns.values())
        if not columns or len(columns) <= self._stretch or columns[self._stretch].auto_width:
            return False
        grows = columns[self._stretch]
        if self._least is None:
            self._least = [c.width for c in columns]
        least = self._least
        fixed = [i for i, c in enumerate(columns) if c is not grows and not c.auto_width]
        stretch_at = columns.index(grows)
        # An auto-width column is measured when the table is next idle; until then its
        # width is its heading's, so count its longest line already added (#18: else
        # every fill wraps its rows twice, once at the heading widths).
        used = sum(
            max(c.get_render_width(self), self._longest.get(i, (0, 0))[0] + 2 * self.cell_padding)
            for i, c in enumerate(columns)
            if c.auto_width and c is not grows
        )
        used += sum(least[i] + 2 * self.cell_padding for i in fixed)
        spare = self._room(adding) - 2 * self.cell_padding - used
        widths = {i: least[i] for i in [stretch_at, *fixed]}
        spare -= widths[stretch_at]
        named = [i % len(columns) for i in self._grows_first]
        order = [i for i in named if i in widths]
        if stretch_at not in order:
            order.insert(0, stretch_at)
        for kind in (1, 0):  # every word whole first, then every line on one line
            for i in order:
                grow = max(0, min(spare, self._longest.get(i, (0, 0))[kind] - widths[i]))
                widths[i] += grow
                spare -= grow
        widths[stretch_at] += max(0, spare)
        changed = False
        for i, w in widths.items():
            if columns[i].width != w:
                columns[i].width = w
                changed = True
        return changed

    def _room(self, adding: int = 0) -> int:
        """The width the columns share: the table's inside its scrollbar; before the table
        is laid out (it is hidden while its rows are read), the room its parent gives it,
        less a vertical scrollbar when its rows will not fit (#18: rows added to a table
        not yet laid out were wrapped to nothing, then again once it was: a home's
        hundred rows added twice). A wrong guess is put right when the table is sized."""
        if self.size.width or not isinstance(self.parent, Widget):
            return self.scrollable_content_region.width
        width, height = _room_inside(self)
        if len(self._given) + adding + 1 > height:  # the rows and the heading
            return max(0, width - int(self.styles.scrollbar_size_vertical))
        return width

    def _on_resize(self, event: events.Resize) -> None:
        super()._on_resize(event)
        self._wrap_again()

    @override
    def measured(self) -> None:
        """The other columns now have their measured widths: the room left may differ from
        what the rows were wrapped to (they were added before the table was measured or
        laid out; which comes first depends on how busy the machine is)."""
        self._wrap_again()

    def watch_show_vertical_scrollbar(self) -> None:
        """A vertical scrollbar takes room from the stretching column (the table's size
        does not change, so no resize says so)."""
        self.call_later(self._wrap_again)

    def refit(self) -> None:
        """Share the room again after rows were added to a table that had rows (a page
        of older events), wrapping the rows again when a width changed."""
        self._wrap_again()

    def _wrap_again(self, *, fitted: bool = False) -> None:
        """Wrap the rows again when the stretching column's room changed (``fitted``: it
        did, and the columns have their new widths)."""
        if not fitted and not self.fit_last_column():
            return
        given, row = list(self._given), self.cursor_row
        self.clear()
        self._given = given
        _add(self, given)
        if given:
            self.move_cursor(row=row)


def _room_inside(widget: Widget) -> tuple[int, int]:
    """The width and height ``widget`` will have inside its gutter, before it is laid
    out: the content region of its nearest ancestor that was, less the gutters and
    margins of those between (which have their styles from the moment they are mounted).
    A table whose rows are shown as the screen mounts (a home with its lists read at
    login) is laid out only once, with them (#18)."""
    width = height = 0
    node: Widget = widget
    while True:
        spacing = node.styles.gutter + node.styles.margin
        width, height = width + spacing.width, height + spacing.height
        parent = node.parent
        if not isinstance(parent, Widget):
            return max(0, node.app.size.width - width), max(0, node.app.size.height - height)
        if parent.size.width:  # a screen has its size before its region
            inside = parent.size - parent.styles.gutter.totals
            return max(0, inside.width - width), max(0, inside.height - height)
        node = parent


def grow_first(table: DataTable[Text], *columns: int) -> None:
    """Give ``columns`` of a :class:`StretchTable` room up to their longest text before its
    stretching column takes the rest (until its columns are set again); any other table is
    left as it is."""
    if isinstance(table, StretchTable):
        table._grows_first = columns


def _pieces(line: str) -> list[str]:
    """The pieces :func:`wrap_words` never breaks."""
    return [p for word in line.split() for p in _BREAK.split(word) if p]


def add_wrapped_row(table: DataTable[Text], *cells: Text, key: str | None = None) -> RowKey:
    """Add a row whose text wraps inside the columns that have a fixed width (the row
    grows as tall as its longest cell)."""
    return add_wrapped_rows(table, [(cells, key)])[0]


def add_wrapped_rows(table: DataTable[Text], rows: Iterable[WrappedRow]) -> list[RowKey]:
    """Add rows as :func:`add_wrapped_row` does, sharing a :class:`StretchTable`'s room
    once for all of them (#18: row by row, each longer text than the rows so far changed
    the widths and wrapped every row before it again, 400 rows added for a page of 200)."""
    rows = list(rows)
    if isinstance(table, StretchTable):
        for cells, _key in rows:
            table._note_lengths(cells)
        if table.fit_last_column(adding=len(rows)) and table.row_count:
            # A longer text than the rows so far changed the widths: wrap those again now
            # rather than after the table is measured and painted (#18: a second paint).
            table._wrap_again(fitted=True)
        table._given.extend(rows)
    return _add(table, rows)


def _add(table: DataTable[Text], rows: list[WrappedRow]) -> list[RowKey]:
    """Add ``rows`` wrapped at the columns' widths now."""
    widths = [None if c.auto_width else c.width for c in table.columns.values()]
    keys = []
    for cells, key in rows:
        out = []
        for cell, width in zip(cells, widths, strict=True):
            if width is not None and (cell.cell_len > width or "\n" in cell.plain):
                cell = Text("\n".join(wrap_words(cell.plain, width)), style=cell.style, end="")
            out.append(cell)
        height = max(c.plain.count("\n") for c in out) + 1
        keys.append(table.add_row(*out, key=key, height=height))
    return keys
