"""What the lists of a few records share (the sites, the reagent lots): one table of every
record, read in a worker, the cursor kept on its record when the list is read again.

A screen names its table (CSS id), reads its records in :meth:`RowListScreen._read_rows`
(in a worker thread), gives each record's cells in :meth:`RowListScreen._cells` and does
what follows the filling in :meth:`RowListScreen._rows_shown`. Its own ``BINDINGS`` bind
``reload`` and ``back`` to the keys it wants.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, Protocol, TypeVar

from rich.text import Text
from sqlmodel import Session
from textual import on, work
from textual.message import Message
from textual.widgets import DataTable

from lottrack.records.permissions import CurrentUser
from lottrack.storage.db import Database
from tui.common.screen import AppScreen
from tui.widgets.record_table import highlighted_key, refill
from tui.widgets.wrapped_rows import add_wrapped_rows
from tui.workers import post_if_current


class Record(Protocol):
    """A record of the list: its id keys its row."""

    @property
    def id(self) -> int: ...


R = TypeVar("R", bound=Record)


@dataclass
class RowsLoaded(Message):
    """Every record of the list, as read."""

    rows: Sequence[Any]


class RowListScreen(AppScreen, Generic[R]):
    """A screen with one table of records and what may be done to the highlighted one."""

    TABLE_ID: ClassVar[str]
    """CSS id of the table."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[str, R] = {}

    # ------------------------------------------------------------------ hooks

    def _read_rows(self, session: Session, who: CurrentUser) -> Sequence[R]:
        """Read every record (runs in a worker thread)."""
        raise NotImplementedError

    def _cells(self, row: R) -> Sequence[Text]:
        """A record's cells, one a column."""
        raise NotImplementedError

    def _rows_shown(self) -> None:
        """The table holds the records read: what the keys may do may have changed."""
        self.refresh_bindings()

    # ------------------------------------------------------------------ the list

    def on_mount(self) -> None:
        """Read the records."""
        self.query_one(f"#{self.TABLE_ID}").focus()
        self.action_reload()

    def selected(self) -> R | None:
        """The highlighted record."""
        table = self.query_one(f"#{self.TABLE_ID}", DataTable)
        return self.rows.get(highlighted_key(table) or "")

    def action_reload(self) -> None:
        """Read the records again."""
        if self.ctx.user is not None:
            self._load(self.ctx.db, self.ctx.user)

    def action_back(self) -> None:
        """Back to the home screen."""
        self.dismiss()

    @work(thread=True, exclusive=True, exit_on_error=False, group="load")
    def _load(self, db: Database, who: CurrentUser) -> None:
        with db.reader() as session:
            rows = self._read_rows(session, who)
        post_if_current(self, RowsLoaded(rows))

    @on(RowsLoaded)
    def _loaded(self, message: RowsLoaded) -> None:
        self.rows = refill(
            self.query_one(f"#{self.TABLE_ID}", DataTable),
            message.rows,
            lambda row: str(row.id),
            self._cells,
            add=add_wrapped_rows,
        )
        self._rows_shown()
