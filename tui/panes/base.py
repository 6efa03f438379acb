"""The base of every role pane on the home screen.

A pane shows one list a role works from ("Lots in process", "Visits due", …). It loads its
rows in a worker thread when it is mounted and when the person refreshes, through
:meth:`RolePane.fetch`, which receives a read-only session and the logged-in person and
returns plain data (never ORM rows). :meth:`RolePane.show` puts that data on screen.

:class:`TablePane` is the usual case: ``fetch`` returns rows of text, shown in a
``DataTable`` with :attr:`TablePane.COLUMNS` (datetimes in the clock's time zone), or
the :attr:`TablePane.EMPTY` text when there are none.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from rich.text import Text
from sqlmodel import Session
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.content import Content
from textual.message import Message
from textual.widget import Widget
from textual.widgets import DataTable, LoadingIndicator, Static, Tabs
from textual.worker import Worker, WorkerState
from typing_extensions import override

from lottrack.records.permissions import CurrentUser
from lottrack.storage.db import Database
from tui.context import context_of
from tui.widgets.record_table import RecordTable
from tui.workers import ReportsWorkerErrors, post_if_current

Row = tuple[object, ...]
"""One line of a table pane: text, numbers, dates or aware datetimes (formatted on show)."""


def format_cell(value: object, tz: dt.tzinfo | None) -> Text:
    """Text of one table cell (never markup); an aware datetime is shown in ``tz``."""
    if value is None:
        return Text("—")
    if isinstance(value, dt.datetime):
        return Text(value.astimezone(tz).strftime("%Y-%m-%d %H:%M %Z"))
    if isinstance(value, dt.date):
        return Text(value.isoformat())
    return Text(str(value))


def first_of(rows: Sequence[Row], total: int) -> list[Row]:
    """``rows``, and a last row ``(None, total)`` when ``total`` is more than them:
    :meth:`TablePane.listed` takes it off and puts it in the hint."""
    return [*rows, (None, total)] if total > len(rows) else list(rows)


class RolePane(ReportsWorkerErrors, Vertical):
    """A titled area of the home screen that belongs to one role."""

    ROLE: ClassVar[str]
    """The role whose home shows this pane (a constant of ``lottrack.records.permissions``)."""
    TAB_LABEL: ClassVar[str]
    """Label of the pane's tab when the home screen shows several panes."""
    TITLE: ClassVar[str]
    """Heading shown above the pane's content."""
    HINT: ClassVar[str] = ""
    """One line under the heading that says what the list holds."""
    HELP: ClassVar[str | None] = None
    """Markdown added to the home screen's F1 help."""

    @dataclass
    class Loaded(Message):
        """Posted by the loading worker with what :meth:`fetch` returned."""

        data: Any

    def __init__(self, *, first: Any = None, id: str | None = None) -> None:  # noqa: A002
        """``first``: what :meth:`fetch` returned, read before the pane was made (at login,
        :func:`tui.home.first_lists`): shown at once, and read again only on a reload."""
        super().__init__(id=id)
        self._first = first

    def compose(self) -> ComposeResult:
        """Heading, hint and a loading indicator; :meth:`compose_body` adds the rest."""
        yield Static(Content(self.TITLE), classes="pane-title")
        if self.HINT:
            yield Static(Content(self.HINT), classes="pane-hint")
        yield LoadingIndicator(classes="pane-loading")
        failed = Static(
            "This list could not be loaded; press r to try again.", classes="pane-failed"
        )
        failed.display = False
        yield failed
        yield from self.compose_body()

    def compose_body(self) -> ComposeResult:
        """Widgets that show the loaded data (hidden until :meth:`show`)."""
        yield from ()

    def on_mount(self) -> None:
        """Show what was read already, else load as soon as the pane is on screen."""
        if self._first is None:
            self.reload()
            return
        first, self._first = self._first, None
        self.query_one(".pane-loading").display = False
        self.show(first)

    def reload(self) -> None:
        """Fetch the data again (the home screen's refresh key calls this)."""
        self.query_one(".pane-loading").display = True
        self.query_one(".pane-failed").display = False
        ctx = context_of(self)
        if ctx.user is not None:
            self._load(ctx.db, ctx.user)

    @work(thread=True, exclusive=True, exit_on_error=False)
    def _load(self, db: Database, who: CurrentUser) -> None:
        with db.reader() as session:
            data = self.fetch(session, who)
        post_if_current(self, self.Loaded(data))

    @on(Loaded)
    def _loaded(self, message: Loaded) -> None:
        message.stop()
        self.query_one(".pane-loading").display = False
        self.show(message.data)

    @on(Worker.StateChanged)
    def _load_failed(self, event: Worker.StateChanged) -> None:
        # The error itself is shown by the app (ReportsWorkerErrors); say so here too.
        if event.state is WorkerState.ERROR:
            self.query_one(".pane-loading").display = False
            self.query_one(".pane-failed").display = True

    @classmethod
    def fetch(cls, session: Session, who: CurrentUser) -> Any:
        """Runs in a worker thread: read what the pane shows. Return plain data only.

        A :class:`TablePane` returns a sequence of :data:`Row`.
        """
        raise NotImplementedError

    def show(self, data: Any) -> None:
        """Runs on the UI thread with what :meth:`fetch` returned."""


class TablePane(RolePane):
    """A pane that lists rows in a table, or says plainly that there are none."""

    COLUMNS: ClassVar[tuple[str, ...]] = ()
    """Column headings of the table."""
    EMPTY: ClassVar[str] = "Nothing to show."
    """What the pane says when :meth:`fetch` returns no rows."""
    MORE: ClassVar[str] = ""
    """The hint when the pane lists only the first rows of more (:func:`first_of`): a
    format with ``{page}`` (listed) and ``{total}`` (in all)."""
    _focus_settled = False

    def compose_body(self) -> ComposeResult:
        """A table and an empty-state line, both hidden until the rows arrive."""
        table = self.new_table()
        table.display = False
        yield table
        empty = Static(Content(self.EMPTY), classes="pane-empty")
        empty.display = False
        yield empty
        note = Static("", classes="pane-note")
        note.display = False
        yield note

    def say(self, text: str) -> None:
        """Why a key did nothing on the highlighted row, on the pane's own line under the
        list (a toast would cover the list's heading); gone when the cursor moves."""
        note = self.query_one(".pane-note", Static)
        note.update(Content(text))
        note.display = True

    @on(DataTable.RowHighlighted)
    def _forget_note(self) -> None:
        self.query_one(".pane-note").display = False

    def listed(self, data: Sequence[Row]) -> Sequence[Row]:
        """``data`` without the last row :func:`first_of` adds when there are more; the
        hint says how many there are (:attr:`MORE`) when there are, else the usual one."""
        more = data[-1][1] if data and data[-1][0] is None else None
        if more is not None:
            data = data[:-1]
        if self.HINT:
            self.query_one(".pane-hint", Static).update(
                Content(self.HINT if more is None else self.MORE.format(page=len(data), total=more))
            )
        return data

    def new_table(self) -> DataTable[Text]:
        """The pane's table with its :attr:`COLUMNS`."""
        table: DataTable[Text] = RecordTable(cursor_type="row", zebra_stripes=True)
        table.add_columns(*self.COLUMNS)
        return table

    @override
    def show(self, data: Sequence[Row]) -> None:
        """Fill the table, or show the empty state; the cursor stays on the row it was on
        (a person back from a visit continues where they were)."""
        tz = context_of(self).clock().tzinfo
        table: DataTable[Text] = self.query_one(DataTable)
        row_before = table.cursor_row
        table.clear()
        for row in data:
            table.add_row(*(format_cell(value, tz) for value in row))
        if data:
            table.move_cursor(row=min(row_before, len(data) - 1), animate=False)
        table.display = bool(data)
        self.query_one(".pane-empty").display = not data
        self.settle_focus(table, bool(data))

    def settle_focus(self, table: DataTable[Text], has_rows: bool) -> None:
        """Keyboard-first: a list with rows takes the focus; a hidden one gives it up.

        On a home with a tab per role, the shown tab's list takes the focus from the tab
        bar when it first loads, so that its keys (the ward's **w**) work and show in the
        footer at once, as on a home with one role.
        """
        focused = self.screen.focused
        first = not self._focus_settled
        self._focus_settled = True
        if has_rows and (
            focused is None
            or first
            and isinstance(focused, Tabs)
            and all(a.display for a in self.ancestors_with_self if isinstance(a, Widget))
        ):
            table.focus()
        elif not has_rows and table.has_focus:
            self.screen.set_focus(None)
