"""What the paged, searchable lists share (the lots, the allocation): one page of a table
read in SQL at a time, as many rows as the table's height holds, and a search box the
list follows as you type.

A screen names its search box, table and page line (CSS ids), the noun of its page line
and the longest page its service returns, reads a page in :meth:`PagedListScreen._read_page`
(in a worker thread) and shows it in :meth:`PagedListScreen._show_page`. Its own
``BINDINGS`` bind ``page(1)`` / ``page(-1)``, ``to_list``, ``search``, ``reload`` and
``back`` to the keys it wants (the base class adds no key of its own, so the footer stays
the screen's).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, Protocol, TypeVar

from textual import on, work
from textual.content import Content
from textual.message import Message
from textual.timer import Timer
from textual.widgets import Input, Static
from typing_extensions import override

from lottrack.kernel.errors import LotTrackError
from lottrack.records.permissions import CurrentUser
from lottrack.storage.db import Database
from tui.common.screen import AppScreen
from tui.widgets.record_table import RecordTable
from tui.workers import post_if_current

SEARCH_DELAY = 0.2
"""Seconds of no typing before the search is read (a scanner types faster)."""


class Window(Protocol):
    """Where a page starts and how many rows it holds at most."""

    @property
    def offset(self) -> int: ...

    @property
    def limit(self) -> int: ...


class PageQuery(Window, Protocol):
    """What a list asks for (a frozen dataclass): the search text too."""

    __dataclass_fields__: ClassVar[dict[str, dataclasses.Field[Any]]]
    """A dataclass (the screen asks for the next page with ``dataclasses.replace``)."""

    @property
    def search(self) -> str: ...


class Page(Window, Protocol):
    """What a service returns for a page: how many rows match in all too."""

    @property
    def total(self) -> int: ...


Q = TypeVar("Q", bound=PageQuery)
P = TypeVar("P", bound=Page)


@dataclass
class PageLoaded(Message, Generic[Q, P]):
    """A page read for ``query``."""

    query: Q
    page: P


@dataclass
class PageRefused(Message):
    """The service refused the query (a search that is too long, a role that may not)."""

    message: str


class PagedListScreen(AppScreen, Generic[Q, P]):
    """A screen with a search box, a table showing one page, and a line under it."""

    SEARCH_ID: ClassVar[str]
    """CSS id of the search box (without ``#``)."""
    TABLE_ID: ClassVar[str]
    """CSS id of the table."""
    PAGE_LINE_ID: ClassVar[str]
    """CSS id of the line that says which rows are shown."""
    NOUN: ClassVar[str]
    """First word of the page line: ``Lots 1–20 of 83 · page 1 of 5``."""
    MAX_PAGE: ClassVar[int]
    """Most rows the service returns at once."""

    def __init__(self, query: Q) -> None:
        super().__init__()
        self.query_state: Q = query
        self.page: P | None = None
        self._timer: Timer | None = None
        self._asked = False
        """Whether a page has been asked for (the first is read once the table is sized)."""

    # ------------------------------------------------------------------ hooks

    def _read_page(self, db: Database, who: CurrentUser, query: Q) -> P:
        """Read one page (runs in a worker thread; raises :class:`LotTrackError`)."""
        raise NotImplementedError

    def _show_page(self, page: P) -> None:
        """Show the page read for the current query (sets ``self.page``)."""
        raise NotImplementedError

    def _row_count(self, page: P) -> int:
        """How many rows ``page`` holds."""
        raise NotImplementedError

    def _nothing_text(self) -> str:
        """The page line when nothing matches."""
        raise NotImplementedError

    def _search_note(self) -> str:
        """Said after the count (``matching "x"``), or nothing."""
        return ""

    def _line_end(self) -> str:
        """Said after the page number (`` · newest first``), or nothing."""
        return ""

    # ------------------------------------------------------------------ size

    def read_when_sized(self) -> None:
        """Read the first page as soon as the table has its size: when its first layout
        resizes it, or after the screen's first refresh should that not (a page holds
        the rows that fit). Screens call this on mount.

        (#18: asked for only after the first refresh, the page came a frame later, 17 ms
        at 60 frames a second, and its read shared the interpreter with that frame's
        paint.)"""
        self.call_after_refresh(self._read_first)

    def _read_first(self) -> None:
        if not self._asked:
            self.action_reload()

    @on(RecordTable.Resized)
    def _table_resized(self, message: RecordTable.Resized) -> None:
        """The table has its first size (the first page is read), or grew or shrank (a
        taller terminal, a status line of two lines, a field shown or hidden): the page
        follows once the layout is done, whenever that is."""
        if message.table.id == self.TABLE_ID:
            if self._asked:
                self._refit()
            else:
                self._read_first()

    def _refit(self) -> None:
        """The table's height changed (terminal, status line): fit the page to it."""
        if self.page is not None and self._rows_that_fit() != self.query_state.limit:
            self.action_reload()

    def _rows_that_fit(self) -> int:
        height = self.query_one(f"#{self.TABLE_ID}").size.height
        return max(5, min(self.MAX_PAGE, height - 1))

    # ------------------------------------------------------------------ loading

    def _ask(self, **changes: object) -> None:
        self._asked = True
        self.query_state = dataclasses.replace(self.query_state, **changes)
        user = self.ctx.user
        if user is not None:
            self._load(self.ctx.db, user, self.query_state)

    @work(thread=True, exclusive=True, exit_on_error=False, group="load")
    def _load(self, db: Database, who: CurrentUser, query: Q) -> None:
        try:
            page = self._read_page(db, who, query)
        except LotTrackError as exc:
            post_if_current(self, PageRefused(exc.message))
            return
        post_if_current(self, PageLoaded(query, page))

    @on(PageLoaded)
    def _page_loaded(self, message: PageLoaded[Q, P]) -> None:
        if message.query != self.query_state:
            return  # an older answer arriving late
        self._show_page(message.page)

    @on(PageRefused)
    def _page_refused(self, message: PageRefused) -> None:
        line = self.query_one(f"#{self.PAGE_LINE_ID}", Static)
        line.update(Content(message.message))
        line.add_class("error")

    def _describe_page(self) -> None:
        page = self.page
        line = self.query_one(f"#{self.PAGE_LINE_ID}", Static)
        line.remove_class("error")
        if page is None:
            return
        if page.total == 0:
            line.update(Content(self._nothing_text()))
            return
        first, last = page.offset + 1, page.offset + self._row_count(page)
        pages = -(-page.total // page.limit)
        number = page.offset // page.limit + 1
        line.update(
            Content(
                f"{self.NOUN} {first}–{last} of {page.total}{self._search_note()}"
                f" · page {number} of {pages}{self._line_end()}"
            )
        )

    # ------------------------------------------------------------------ search

    @on(Input.Changed)
    def _search_changed(self, event: Input.Changed) -> None:
        if event.input.id != self.SEARCH_ID:
            return
        if self._timer is not None:
            self._timer.stop()
        self._timer = self.set_timer(SEARCH_DELAY, self._search_now)

    def _search_now(self) -> None:
        self._timer = None
        text = self.query_one(f"#{self.SEARCH_ID}", Input).value
        if text != self.query_state.search:
            self._ask(search=text, offset=0, limit=self._rows_that_fit())

    @on(Input.Submitted)
    def _search_submitted(self, event: Input.Submitted) -> None:
        if event.input.id != self.SEARCH_ID:
            return
        if self._timer is not None:
            self._timer.stop()
            self._search_now()
        self.query_one(f"#{self.TABLE_ID}").focus()

    def on_descendant_focus(self) -> None:
        """The footer follows the focus (↓ List only from the search box)."""
        self.refresh_bindings()

    # ------------------------------------------------------------------ actions

    @override
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """↓ List only from the search box; paging only where there is a page."""
        if action == "to_list":
            return self.focused is self.query_one(f"#{self.SEARCH_ID}")
        if action == "page":
            page = self.page
            if page is None:
                return False
            step = int(str(parameters[0])) if parameters else 1
            if step > 0:
                return page.offset + page.limit < page.total
            return page.offset > 0
        return True

    def action_page(self, step: int) -> None:
        """Next (1) or previous (-1) page."""
        query = self.query_state
        offset = max(0, query.offset + step * query.limit)
        if self.page is not None and offset < self.page.total and offset != query.offset:
            self._ask(offset=offset)

    def action_search(self) -> None:
        """To the search box (its text selected: typing replaces it)."""
        search = self.query_one(f"#{self.SEARCH_ID}", Input)
        search.focus()
        search.select_all()

    def action_to_list(self) -> None:
        """↓ in the search box moves to the list."""
        self.query_one(f"#{self.TABLE_ID}").focus()

    def action_reload(self) -> None:
        """Read the current page again (page length follows the terminal height)."""
        self._ask(limit=self._rows_that_fit())

    def action_back(self) -> None:
        """Back to the home screen."""
        self.dismiss()
