"""Find a patient (blinded ward): every trial subject and their visits, searched by subject
code or initials as you type, one page of lines at a time (paged in SQL, so a site with
thousands of patients stays instant); Enter opens a visit, w the patient's weights.

The lines come from :func:`lottrack.trial.listings.ward_line_page`, whose wording, order
and counts are the same for MSC and placebo patients. Keep it so: never add a column, a
style or a key that depends on the arm.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.widgets import DataTable, Input, Static
from typing_extensions import override

from lottrack.records.permissions import Action, CurrentUser
from lottrack.storage.db import Database
from lottrack.trial import listings
from lottrack.trial.listings import WardLinePage, WardRow
from lottrack.trial.listings.blinded import MAX_PAGE
from tui.common.paged_list import PagedListScreen
from tui.widgets.key_footer import KeyFooter
from tui.widgets.record_table import RecordTable, highlighted_key
from tui.widgets.session_header import SessionHeader

PAGE_KEYS = Binding.Group("Page")
"""PgUp and PgDn share one place in the footer."""
COLUMNS = ("Subject", "Initials", "Period", "Planned", "State")
"""The home's columns (:class:`tui.panes.clinician.PatientsPane`)."""


@dataclass(frozen=True)
class Query:
    """What the list shows: search text and page."""

    search: str = ""
    offset: int = 0
    limit: int = 20


def line_key(row: WardRow) -> str:
    """The table key of a line: its visit, or its patient when it has no visit."""
    return f"visit-{row.visit_id}" if row.visit_id is not None else f"subject-{row.subject_id}"


NO_VISIT_NOTE = "No visit scheduled yet (the pharmacy schedules visits); w opens the weights."
"""What Enter on a patient without a visit says, under the list (one line at 80 columns)."""


def line_cells(row: WardRow) -> tuple[Text, ...]:
    """The cells of a line, as the home shows them (``—`` for what a line has not)."""
    period = "—" if row.period is None else str(row.period)
    planned = "—" if row.planned_date is None else row.planned_date.isoformat()
    return tuple(Text(c) for c in (row.subject_code, row.initials, period, planned, row.state))


class FindPatientScreen(PagedListScreen[Query, WardLinePage]):
    """A search box and one page of patients' lines; Enter opens a visit, w the weights."""

    DESTINATION = "patients"
    SEARCH_ID = "ward-search"
    TABLE_ID = "ward-table"
    PAGE_LINE_ID = "ward-page"
    NOUN = "Lines"
    MAX_PAGE = MAX_PAGE

    HELP = """\
# Find a patient (blinded)

Every trial subject, by subject code, one page at a time: a line for each visit with its
planned date and the step it is at, and one line for a patient without a visit. The
treatment arm is never shown.

* Type part of a **subject code** or the patient's **initials** in the search box: the
  list follows as you type (case, spaces and dashes do not matter). **↓** or **Enter**
  moves to the list; **/** goes back to the search.
* **PgDn / PgUp** show the next / previous page; the line under the list says which
  lines are shown, of how many, and for how many patients.
* **Enter** on a visit opens it: weight, bedside identity check, infusion start and
  end. A patient without a visit has none to open yet (the pharmacy schedules visits).
* **w** opens the highlighted patient's weights, also before any visit is scheduled:
  **a** records one, **c** corrects and **x** voids one, with a reason.
* **Esc** goes back to the home screen.
"""

    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("down", "to_list", "List", key_display="↓", priority=True),
        Binding("slash", "search", "Search"),
        Binding("pageup", "page(-1)", "Prev page", priority=True, group=PAGE_KEYS),
        Binding("pagedown", "page(1)", "Next page", priority=True, group=PAGE_KEYS),
        Binding("w", "weight", "Weights"),
        Binding("ctrl+r", "reload", "Refresh", show=False),
    ]

    def __init__(self) -> None:
        super().__init__(Query())
        self.rows: dict[str, WardRow] = {}

    def compose(self) -> ComposeResult:
        """Header, title and search, one page of lines, the page line, a note, footer."""
        yield SessionHeader()
        with Vertical(id="ward-body"):
            with Horizontal(id="ward-top"):
                yield Static("Find a patient", classes="pane-title")
                yield Input(
                    placeholder="Search subject code or initials (/)",
                    id="ward-search",
                    compact=True,
                )
            table: DataTable[Text] = RecordTable(
                id="ward-table", cursor_type="row", zebra_stripes=True
            )
            table.add_columns(*COLUMNS)
            yield table
            yield Static("Reading the patients…", id="ward-page")
            yield Static("", id="ward-note")
        yield KeyFooter()

    def on_mount(self) -> None:
        """The search box first (a nurse opens this to type a code); read once the table
        has a size."""
        self.query_one("#ward-search").focus()
        self.read_when_sized()

    def on_screen_resume(self) -> None:
        """Back from a visit or the weights: show the step the visit is at now."""
        if self.page is not None:
            self.action_reload()

    # ------------------------------------------------------------------ what is shown

    def selected(self) -> WardRow | None:
        """The highlighted line."""
        return self.rows.get(highlighted_key(self.query_one("#ward-table", DataTable)) or "")

    @on(DataTable.RowHighlighted, "#ward-table")
    def _highlighted(self) -> None:
        self._say("")
        self.refresh_bindings()

    def _say(self, text: str) -> None:
        """Why Enter opened nothing, under the list (gone when the cursor moves)."""
        self.query_one("#ward-note", Static).update(Content(text))

    @override
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """w on a patient's line, for roles that record weights (the service checks
        again); paging only where there is a page."""
        if action == "weight":
            return self.ctx.can(Action.RECORD_WEIGHT) and self.selected() is not None
        return super().check_action(action, parameters)

    # ------------------------------------------------------------------ loading

    @override
    def _read_page(self, db: Database, who: CurrentUser, query: Query) -> WardLinePage:
        with db.reader() as session:
            return listings.ward_line_page(
                session, who, search=query.search, offset=query.offset, limit=query.limit
            )

    @override
    def _show_page(self, page: WardLinePage) -> None:
        if not page.rows and page.offset > 0 and page.total > 0:
            # Past the end (a taller terminal, fewer matches): show the last page.
            self._ask(offset=(page.total - 1) // page.limit * page.limit)
            return
        table: DataTable[Text] = self.query_one("#ward-table", DataTable)
        keep = highlighted_key(table)
        table.clear()
        self.page = page
        self.rows = {line_key(row): row for row in page.rows}
        for key, row in self.rows.items():
            table.add_row(*line_cells(row), key=key)
        if keep is not None and keep in self.rows:
            table.move_cursor(row=table.get_row_index(keep))
        else:
            table.move_cursor(row=0)
        self._describe_page()
        self.refresh_bindings()

    @override
    def _row_count(self, page: WardLinePage) -> int:
        return len(page.rows)

    @override
    def _nothing_text(self) -> str:
        search = self.query_state.search.strip()
        if search:
            return f'No patient\'s subject code or initials contain "{search}".'
        return "No patients registered yet."

    @override
    def _search_note(self) -> str:
        page = self.page
        patients = f" ({page.patients} patient{'' if page.patients == 1 else 's'})" if page else ""
        search = self.query_state.search.strip()
        return f'{patients} matching "{search}"' if search else patients

    # ------------------------------------------------------------------ actions

    @on(DataTable.RowSelected, "#ward-table")
    def _open(self, event: DataTable.RowSelected) -> None:
        row = self.rows.get(str(event.row_key.value))
        if row is None:
            return
        if row.visit_id is None:
            self._say(NO_VISIT_NOTE)
            return
        from tui.ward.visit import WardVisitScreen

        self.app.push_screen(WardVisitScreen(row.visit_id))

    def action_weight(self) -> None:
        """The highlighted patient's weights (with or without a visit)."""
        row = self.selected()
        if row is not None:
            from tui.common.weights import WeightsScreen

            self.app.push_screen(WeightsScreen(row.subject_id, row.subject_code))
