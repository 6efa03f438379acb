"""Lots: every lot, searched by DIN, lot number or subject as you type, one page at a
time (paged in SQL, so ten thousand lots stay instant)."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.message import Message
from textual.timer import Timer
from textual.widgets import DataTable, Footer, Input, Select, Static
from typing_extensions import override

from lottrack import listings, lots
from lottrack.db import Database
from lottrack.errors import LotTrackError
from lottrack.permissions import Action, CurrentUser
from tui.screens.base import AppScreen
from tui.widgets.session_header import SessionHeader
from tui.widgets.status_badge import status_text

SORT_ORDER = ("newest", "oldest", "lot", "subject", "status")
SORT_NAMES = {"newest": "newest first", "oldest": "oldest first", "lot": "by lot number",
              "subject": "by subject", "status": "by status"}
COLUMN_SORTS = {"lot": "lot", "subject": "subject", "status": "status", "started": "newest"}
ALL = "all"
SEARCH_DELAY = 0.2


@dataclass(frozen=True)
class Query:
    """What the list shows: search text, status, order and page."""

    search: str = ""
    status: str | None = None
    sort: str = "newest"
    offset: int = 0
    limit: int = 20


@dataclass
class LotsLoaded(Message):
    """A page of lots for ``query``."""

    query: Query
    page: listings.LotPage


@dataclass
class LotsRefused(Message):
    """The listing refused the query (for example a search that is too long)."""

    message: str


class LotsScreen(AppScreen):
    """Search box, status filter, one page of lots; Enter opens the batch record."""

    DESTINATION = "lots"

    HELP = """\
# Lots

Every lot, newest first. Type (or scan) a **DIN**, **lot number** or **subject code** in
the search box: the list follows as you type. A scanned DIN barcode is read as the DIN.

* **↓** or **Enter** in the search box moves to the list; **/** goes back to the search.
* **Tab** reaches the status filter.
* **PgDn / PgUp** show the next / previous page; **o** changes the order (or click a
  column heading).
* **Enter** on a lot opens its batch record.
* Technicians: **n** records a new harvest, **s** starts a lot from a harvest.
"""

    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("down", "to_list", "List", key_display="↓", priority=True),
        Binding("slash", "search", "Search"),
        Binding("pagedown", "page(1)", "Next page", priority=True),
        Binding("pageup", "page(-1)", "Prev page", priority=True),
        Binding("o", "order", "Order"),
        Binding("n", "new_harvest", "New harvest"),
        Binding("s", "start_lot", "Start lot"),
        Binding("r", "reload", "Refresh", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.query_state = Query()
        self.page: listings.LotPage | None = None
        self._timer: Timer | None = None

    def compose(self) -> ComposeResult:
        """Header, search and filter, table, page line, footer."""
        yield SessionHeader()
        with Vertical(id="lots-body"):
            with Horizontal(id="lots-filters"):
                yield Input(placeholder="Search DIN, lot number or subject (type or scan)",
                            id="lots-search", compact=True)
                options = [("All statuses", ALL)] + [(s, s) for s in lots.STATUSES]
                yield Select(options, value=ALL, allow_blank=False, id="lots-status",
                             compact=True)
            table: DataTable[Text] = DataTable(id="lots-table", cursor_type="row",
                                               zebra_stripes=True)
            table.add_column("Lot", key="lot")
            table.add_column("Subject", key="subject")
            table.add_column("Status", key="status")
            table.add_column("Started", key="started")
            table.add_column("Formulated", key="formulated")
            yield table
            yield Static("", id="lots-page")
        yield Footer()

    def on_mount(self) -> None:
        """Search box first (a scanner types into it); load once the table has a size."""
        self.query_one("#lots-search").focus()
        self.call_after_refresh(self.action_reload)

    def on_resize(self) -> None:
        """A taller terminal gets longer pages."""
        if self.page is not None and self._rows_that_fit() != self.query_state.limit:
            self.action_reload()

    def on_screen_resume(self) -> None:
        """Back from a batch record or a form: show what changed."""
        if self.page is not None:
            self.action_reload()

    # ------------------------------------------------------------------ loading

    def _rows_that_fit(self) -> int:
        height = self.query_one("#lots-table").size.height
        return max(5, min(listings.MAX_PAGE, height - 1))

    def _ask(self, **changes: object) -> None:
        self.query_state = Query(**{**self.query_state.__dict__, **changes})
        user = self.ctx.user
        if user is not None:
            self._load(self.ctx.db, user, self.query_state)

    @work(thread=True, exclusive=True, exit_on_error=False)
    def _load(self, db: Database, who: CurrentUser, query: Query) -> None:
        try:
            page = listings.lot_page(db, who, search=query.search, status=query.status,
                                     offset=query.offset, limit=query.limit, sort=query.sort)
        except LotTrackError as exc:
            self.post_message(LotsRefused(exc.message))
            return
        self.post_message(LotsLoaded(query, page))

    @on(LotsLoaded)
    def _loaded(self, message: LotsLoaded) -> None:
        if message.query != self.query_state:
            return  # an older answer arriving late
        self.page = message.page
        table: DataTable[Text] = self.query_one("#lots-table", DataTable)
        table.clear()
        fmt = "%Y-%m-%d"
        tz = self.ctx.clock().tzinfo
        for row in message.page.rows:
            table.add_row(
                Text(row.lot_number), Text(row.subject_code),
                status_text(row.status, short=True),
                Text(row.created_at.astimezone(tz).strftime(fmt)),
                Text(row.formulated_at.astimezone(tz).strftime(fmt) if row.formulated_at
                     else "—"),
                key=str(row.id),
            )
        self._describe_page()
        self.refresh_bindings()

    @on(LotsRefused)
    def _refused(self, message: LotsRefused) -> None:
        line = self.query_one("#lots-page", Static)
        line.update(Text(message.message))
        line.add_class("error")

    def _describe_page(self) -> None:
        page, query = self.page, self.query_state
        line = self.query_one("#lots-page", Static)
        line.remove_class("error")
        if page is None:
            return
        order = SORT_NAMES[query.sort]
        if page.total == 0:
            what = "No lot matches" if query.search or query.status else "No lots yet"
            line.update(Content(f"{what}. · {order}"))
            return
        first, last = page.offset + 1, page.offset + len(page.rows)
        pages = -(-page.total // page.limit)
        number = page.offset // page.limit + 1
        line.update(Content(f"Lots {first}–{last} of {page.total} · page {number} of {pages} "
                            f"· {order}"))

    # ------------------------------------------------------------------ filters

    @on(Input.Changed, "#lots-search")
    def _search_changed(self) -> None:
        if self._timer is not None:
            self._timer.stop()
        self._timer = self.set_timer(SEARCH_DELAY, self._search_now)

    def _search_now(self) -> None:
        self._timer = None
        text = self.query_one("#lots-search", Input).value
        if text != self.query_state.search:
            self._ask(search=text, offset=0, limit=self._rows_that_fit())

    @on(Input.Submitted, "#lots-search")
    def _to_table(self) -> None:
        if self._timer is not None:
            self._timer.stop()
            self._search_now()
        self.query_one("#lots-table").focus()

    @on(Select.Changed, "#lots-status")
    def _status_changed(self, event: Select.Changed) -> None:
        status = None if event.value == ALL else str(event.value)
        if status != self.query_state.status:
            self._ask(status=status, offset=0, limit=self._rows_that_fit())

    def on_descendant_focus(self) -> None:
        """The footer follows the focus (↓ List only from the search box)."""
        self.refresh_bindings()

    def action_to_list(self) -> None:
        """↓ in the search box (or on the filter) moves to the list."""
        self.query_one("#lots-table").focus()

    @on(DataTable.HeaderSelected)
    def _header(self, event: DataTable.HeaderSelected) -> None:
        sort = COLUMN_SORTS.get(str(event.column_key.value))
        if sort is not None:
            self._ask(sort=sort, offset=0)

    @on(DataTable.RowSelected)
    def _open(self, event: DataTable.RowSelected) -> None:
        from tui.screens.lot_detail import LotDetailScreen

        if event.row_key.value is not None:
            self.app.push_screen(LotDetailScreen(int(event.row_key.value)))

    # ------------------------------------------------------------------ actions

    @override
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Paging only where there is a page; forms only for technicians."""
        if action in ("new_harvest", "start_lot"):
            return self.ctx.can(Action.RECORD_MANUFACTURING)
        if action == "to_list":
            return self.focused is self.query_one("#lots-search")
        if action == "page" and self.page is not None:
            step = int(parameters[0]) if parameters else 1
            if step > 0:
                return self.page.offset + self.page.limit < self.page.total
            return self.page.offset > 0
        return True

    def action_page(self, step: int) -> None:
        """Next (1) or previous (-1) page."""
        query = self.query_state
        offset = max(0, query.offset + step * query.limit)
        if self.page is not None and offset < self.page.total:
            self._ask(offset=offset)

    def action_order(self) -> None:
        """Cycle through the orders."""
        index = SORT_ORDER.index(self.query_state.sort)
        self._ask(sort=SORT_ORDER[(index + 1) % len(SORT_ORDER)], offset=0)

    def action_search(self) -> None:
        """Back to the search box (its text selected: typing replaces it)."""
        search = self.query_one("#lots-search", Input)
        search.focus()
        search.select_all()

    def action_reload(self) -> None:
        """Read the current page again (page length follows the terminal height)."""
        self._ask(limit=self._rows_that_fit())

    def action_back(self) -> None:
        """Back to the home screen."""
        self.dismiss()

    def action_new_harvest(self) -> None:
        """Open the harvest form."""
        from tui.screens.forms.harvest import HarvestForm

        self.app.push_screen(HarvestForm())

    def action_start_lot(self) -> None:
        """Open the start-lot form."""
        from tui.screens.forms.start_lot import StartLotForm

        self.app.push_screen(StartLotForm())
