"""Lots: every lot, searched by DIN, lot number or subject as you type, one page at a
time (paged in SQL, so ten thousand lots stay instant)."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Input, Select, Static
from typing_extensions import override

from lottrack.manufacturing import lots
from lottrack.records.permissions import Action, CurrentUser
from lottrack.storage.db import Database
from lottrack.views import listings
from tui.common.paged_list import PagedListScreen
from tui.widgets.key_footer import KeyFooter
from tui.widgets.record_table import RecordTable
from tui.widgets.session_header import SessionHeader
from tui.widgets.status_badge import status_text

SORT_ORDER = ("newest", "oldest", "lot", "subject", "status")
SORT_NAMES = {
    "newest": "newest first",
    "oldest": "oldest first",
    "lot": "by lot number",
    "subject": "by subject",
    "status": "by status",
}
COLUMN_SORTS = {"lot": "lot", "subject": "subject", "status": "status", "started": "newest"}
ALL = "all"


@dataclass(frozen=True)
class Query:
    """What the list shows: search text, status, order and page."""

    search: str = ""
    status: str | None = None
    sort: str = "newest"
    offset: int = 0
    limit: int = 20


class LotsScreen(PagedListScreen[Query, listings.LotPage]):
    """Search box, status filter, one page of lots; Enter opens the batch record."""

    DESTINATION = "lots"
    SEARCH_ID = "lots-search"
    TABLE_ID = "lots-table"
    PAGE_LINE_ID = "lots-page"
    NOUN = "Lots"
    MAX_PAGE = listings.MAX_PAGE

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
        super().__init__(Query())

    def compose(self) -> ComposeResult:
        """Header, search and filter, table, page line, footer."""
        yield SessionHeader()
        with Vertical(id="lots-body"):
            with Horizontal(id="lots-filters"):
                yield Input(
                    placeholder="Search DIN, lot number or subject (type or scan)",
                    id="lots-search",
                    compact=True,
                )
                options = [("All statuses", ALL)] + [(s, s) for s in lots.STATUSES]
                yield Select(options, value=ALL, allow_blank=False, id="lots-status", compact=True)
            table: DataTable[Text] = RecordTable(
                id="lots-table", cursor_type="row", zebra_stripes=True
            )
            table.add_column("Lot", key="lot")
            table.add_column("Subject", key="subject")
            table.add_column("Status", key="status")
            table.add_column("Started", key="started")
            table.add_column("Formulated", key="formulated")
            yield table
            yield Static("", id="lots-page")
        yield KeyFooter()

    def on_mount(self) -> None:
        """Search box first (a scanner types into it); load once the table has a size."""
        self.query_one("#lots-search").focus()
        self.read_when_sized()

    def on_screen_resume(self) -> None:
        """Back from a batch record or a form: show what changed."""
        if self.page is not None:
            self.action_reload()

    # ------------------------------------------------------------------ loading

    @override
    def _read_page(self, db: Database, who: CurrentUser, query: Query) -> listings.LotPage:
        return listings.lot_page(
            db,
            who,
            search=query.search,
            status=query.status,
            offset=query.offset,
            limit=query.limit,
            sort=query.sort,
        )

    @override
    def _show_page(self, page: listings.LotPage) -> None:
        self.page = page
        table: DataTable[Text] = self.query_one("#lots-table", DataTable)
        table.clear()
        fmt = "%Y-%m-%d"
        tz = self.ctx.clock().tzinfo
        for row in page.rows:
            table.add_row(
                Text(row.lot_number),
                Text(row.subject_code),
                _status_cell(row),
                Text(row.created_at.astimezone(tz).strftime(fmt)),
                Text(row.formulated_at.astimezone(tz).strftime(fmt) if row.formulated_at else "—"),
                key=str(row.id),
            )
        self._describe_page()
        self.refresh_bindings()

    @override
    def _row_count(self, page: listings.LotPage) -> int:
        return len(page.rows)

    @override
    def _nothing_text(self) -> str:
        query = self.query_state
        what = "No lot matches" if query.search or query.status else "No lots yet"
        return f"{what}.{self._line_end()}"

    @override
    def _line_end(self) -> str:
        return f" · {SORT_NAMES[self.query_state.sort]}"

    # ------------------------------------------------------------------ filters

    @on(Select.Changed, "#lots-status")
    def _status_changed(self, event: Select.Changed) -> None:
        status = None if event.value == ALL else str(event.value)
        if status != self.query_state.status:
            self._ask(status=status, offset=0, limit=self._rows_that_fit())

    @on(DataTable.HeaderSelected)
    def _header(self, event: DataTable.HeaderSelected) -> None:
        sort = COLUMN_SORTS.get(str(event.column_key.value))
        if sort is not None:
            self._ask(sort=sort, offset=0)

    @on(DataTable.RowSelected)
    def _open(self, event: DataTable.RowSelected) -> None:
        from tui.manufacturing.lot_detail import LotDetailScreen

        if event.row_key.value is not None:
            self.app.push_screen(LotDetailScreen(int(event.row_key.value)))

    # ------------------------------------------------------------------ actions

    @override
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Paging only where there is a page; forms only for technicians."""
        if action in ("new_harvest", "start_lot"):
            return self.ctx.can(Action.RECORD_MANUFACTURING)
        if action == "page" and self.page is None:
            return True  # the page keys show before the first page is read
        return super().check_action(action, parameters)

    def action_order(self) -> None:
        """Cycle through the orders."""
        index = SORT_ORDER.index(self.query_state.sort)
        self._ask(sort=SORT_ORDER[(index + 1) % len(SORT_ORDER)], offset=0)

    def action_new_harvest(self) -> None:
        """Open the harvest form."""
        from tui.manufacturing.forms.harvest import HarvestForm

        self.app.push_screen(HarvestForm())

    def action_start_lot(self) -> None:
        """Open the start-lot form."""
        from tui.manufacturing.forms.start_lot import StartLotForm

        self.app.push_screen(StartLotForm())


def _status_cell(row: listings.LotRow) -> Text:
    """The status, and what is open on the lot (it cannot be released meanwhile)."""
    cell = status_text(row.status, short=True)
    if row.open_note:
        cell.append(f" · {row.open_note}", style="bold red")
    return cell
