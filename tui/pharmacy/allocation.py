"""Allocation (unblinded pharmacy): every subject's sequence and visits, searched by subject
code as you type, one page at a time (paged in SQL, so twelve thousand subjects stay
instant); start the trial.

The pharmacist imports the statistician's CSV or generates the allocation by seeded
permuted blocks, then schedules each allocated subject's two visits. Blinded roles never
reach this screen (the destination needs the allocation permission, and every service
it calls checks its own permission again).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.message import Message
from textual.widgets import DataTable, Input, Static
from textual.worker import Worker, WorkerState
from typing_extensions import override

from lottrack.kernel.errors import LotTrackError
from lottrack.records.permissions import Action, CurrentUser
from lottrack.storage.db import Database
from lottrack.trial import allocation, allocation_list, visits
from lottrack.trial.allocation_list import AllocationPage, PlannedVisit, SubjectAllocation
from tui.common.paged_list import PagedListScreen
from tui.pharmacy.generate_allocation import GenerateAllocationModal, GenerateEntry
from tui.pharmacy.week0 import Week0Modal
from tui.widgets.key_footer import KeyFooter
from tui.widgets.path_field import ImportLine
from tui.widgets.record_table import RecordTable, highlighted_key
from tui.widgets.session_header import SessionHeader

NOT_ALLOCATED = "not allocated"
PAGE_KEYS = Binding.Group("Page")
"""PgUp and PgDn share one place in the footer (so that 80 columns hold every key)."""


@dataclass(frozen=True)
class Query:
    """What the table shows: search text and page."""

    search: str = ""
    offset: int = 0
    limit: int = 20


@dataclass
class ActionDone(Message):
    """A service stored what was asked; ``text`` says what."""

    text: str
    imported: bool = False
    """True after an import (the path typed is cleared)."""


@dataclass
class ActionRefused(Message):
    """A service refused; nothing was stored."""

    message: str


def visit_text(visit: PlannedVisit | None) -> str:
    """``2025-03-14 planned`` (or ``—`` without a visit)."""
    if visit is None:
        return "—"
    return f"{visit.planned_date.isoformat()} {visit.status}"


def state_text(row: SubjectAllocation) -> Text:
    """Whether the sequence may still change."""
    if not row.allocated:
        return Text("—", style="dim")
    if row.frozen:
        return Text("frozen", style="bold")
    return Text("can change")


class AllocationScreen(PagedListScreen[Query, AllocationPage]):
    """The subjects table, an import line, and the keys that start the trial."""

    DESTINATION = "allocation"
    SEARCH_ID = "alloc-search"
    TABLE_ID = "alloc-table"
    PAGE_LINE_ID = "alloc-page"
    NOUN = "Subjects"
    MAX_PAGE = allocation_list.MAX_PAGE

    HELP = """\
# Allocation (unblinded)

Every trial subject, by subject code, one page at a time, with their treatment
**sequence** (`MSC-first` or `placebo-first`, or *not allocated*), whether the
allocation is **frozen** (a visit of the subject has been dispensed, so the sequence can
no longer change) and the planned date and state of their **period 1** and **period 2**
visits. Only unblinded pharmacists see this screen.

* **/** moves to the search box: type part of a subject code and the table follows as
  you type (case, spaces and dashes do not matter); **Enter** or **↓** goes back to the
  table.
* **PgDn / PgUp** show the next / previous page (the line under the table says which
  subjects are shown, of how many).
* **i** moves to the import line: type the path of the trial statistician's CSV file
  (`subject_code,sequence` on each line; a header line is allowed) and press **Enter**.
  A file with any bad line (an unknown subject, a sequence that is neither, a subject
  listed twice, a frozen subject changed) is refused whole and nothing is stored; the
  message names the line.
* **g** allocates every subject not yet allocated, in subject-code order, by 1:1
  permuted blocks: type a seed and a block size (default from the settings). The seed
  and block size are recorded with each allocation, so the list can be reproduced.
* **v** schedules both visits of the highlighted subject (allocated, without visits):
  period 1 on the week-0 date typed, period 2 the set number of weeks later.
* **w** opens the highlighted subject's weights, with or without visits (the endotoxin
  limit of the subject's lot needs one before its result can be judged): **a** records
  one, **c** corrects and **x** voids one, with a reason.
"""

    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("down", "to_list", "List", key_display="↓", priority=True),
        Binding("slash", "search", "Search", show=False),  # the box says "(/)"
        Binding("pageup", "page(-1)", "Prev page", priority=True, group=PAGE_KEYS),
        Binding("pagedown", "page(1)", "Next page", priority=True, group=PAGE_KEYS),
        Binding("i", "import", "Import"),
        Binding("g", "generate", "Generate"),
        Binding("v", "schedule", "Schedule"),
        Binding("w", "weight", "Weights"),
        Binding("ctrl+r", "reload", "Refresh", show=False),
    ]

    def __init__(self) -> None:
        super().__init__(Query())
        self.rows: dict[str, SubjectAllocation] = {}
        self.busy = False
        """True while a write is running (a second key press waits for it)."""

    def compose(self) -> ComposeResult:
        """Header, title and search, summary, one page of subjects, the page line, the
        highlighted subject, import line, status, footer."""
        yield SessionHeader()
        with Vertical(id="alloc-body"):
            with Horizontal(id="alloc-top"):
                yield Static("Allocation (unblinded)", classes="pane-title")
                yield Input(placeholder="Search subject code (/)", id="alloc-search", compact=True)
            yield Static("", id="alloc-summary")
            table: DataTable[Text] = RecordTable(
                id="alloc-table", cursor_type="row", zebra_stripes=True
            )
            table.add_columns("Subject", "Sequence", "Allocation", "Period 1", "Period 2")
            yield table
            yield Static("Reading the subjects…", id="alloc-page")
            yield Static("", id="alloc-detail")
            yield ImportLine(
                "alloc",
                "Import CSV file ",
                "path of the statistician's file, e.g. allocation.csv",
                "Type the path of the allocation CSV file, then press Enter.",
            )
            yield Static("", id="alloc-status", classes="message")
        yield KeyFooter()

    def on_mount(self) -> None:
        """The table first (its keys work at once); read once the table has a size."""
        self.query_one("#alloc-table").focus()
        self.read_when_sized()

    # ------------------------------------------------------------------ what is shown

    def selected(self) -> SubjectAllocation | None:
        """The highlighted subject."""
        return self.rows.get(highlighted_key(self.query_one("#alloc-table", DataTable)) or "")

    @on(DataTable.RowHighlighted, "#alloc-table")
    def _highlighted(self) -> None:
        self._show_detail(self.selected())
        self.refresh_bindings()

    def _show_detail(self, row: SubjectAllocation | None) -> None:
        detail = self.query_one("#alloc-detail", Static)
        if row is None:
            detail.update("")
        elif not row.allocated:
            detail.update(Content(f"{row.code}: not allocated."))
        else:
            frozen = " Frozen: a visit was dispensed." if row.frozen else ""
            detail.update(Content(f"{row.code}: {row.sequence}, from {row.source}.{frozen}"))

    @override
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Only what the person's roles allow (the services check again); generate while
        a subject is not allocated; schedule for an allocated subject without visits."""
        if action == "import":
            return self.ctx.can(Action.MANAGE_ALLOCATION)
        if action == "generate":
            return (
                self.ctx.can(Action.MANAGE_ALLOCATION)
                and self.page is not None
                and self.page.unallocated > 0
            )
        if action == "schedule":
            row = self.selected()
            return self.ctx.can(Action.SCHEDULE_VISITS) and row is not None and row.can_schedule
        if action == "weight":
            return self.ctx.can(Action.RECORD_WEIGHT) and self.selected() is not None
        return super().check_action(action, parameters)

    # ------------------------------------------------------------------------ actions

    def action_weight(self) -> None:
        """The highlighted subject's weights (visits or not)."""
        row = self.selected()
        if row is not None:
            from tui.common.weights import WeightsScreen

            self.app.push_screen(WeightsScreen(row.subject_id, row.code))

    def action_import(self) -> None:
        """Move to the import line."""
        self.query_one("#alloc-path", Input).focus()

    @on(ImportLine.Submitted)
    def _import_pressed(self, message: ImportLine.Submitted) -> None:
        user = self.ctx.user
        # Not while a write runs; the line says what to type when nothing was.
        if not self.busy and user is not None and (typed := message.typed_path(self._status)):
            self._start(f"Importing {typed[0]}…")
            self._import(self.ctx.db, user, typed[1])

    def action_generate(self) -> None:
        """Ask for the seed and block size, then allocate the subjects not yet allocated."""
        page, user = self.page, self.ctx.user
        if page is None or user is None or self.busy:
            return
        count = page.unallocated

        def done(entry: GenerateEntry | None) -> None:
            if entry is not None and not self.busy:
                self._start(f"Allocating {count} subjects…")
                self._generate(self.ctx.db, user, entry)

        self.app.push_screen(
            GenerateAllocationModal(page.first_unallocated, count, page.block_size), done
        )

    def action_schedule(self) -> None:
        """Ask for the week-0 date of the highlighted subject, then schedule both visits."""
        row, page, user = self.selected(), self.page, self.ctx.user
        if row is None or page is None or user is None or self.busy:
            return

        def done(week0: dt.date | None) -> None:
            if week0 is not None and not self.busy:
                self._start(f"Scheduling the visits of {row.code}…")
                self._schedule(self.ctx.db, user, row, week0)

        self.app.push_screen(Week0Modal(row.code, self.ctx.clock().date(), page.period2_week), done)

    # ------------------------------------------------------------------------ workers

    @override
    def _read_page(self, db: Database, who: CurrentUser, query: Query) -> AllocationPage:
        with db.reader() as session:
            return allocation_list.allocation_page(
                session, who, search=query.search, offset=query.offset, limit=query.limit
            )

    @work(thread=True, exclusive=True, exit_on_error=False, group="write")
    def _import(self, db: Database, who: CurrentUser, path: Path) -> None:
        try:
            with db.session() as session:
                result = allocation.import_csv(session, who, path)
        except LotTrackError as exc:
            self.post_message(ActionRefused(exc.message))
        else:
            self.post_message(
                ActionDone(
                    f"Imported {result.rows} row(s) from {path.name}: "
                    f"{result.created_or_changed} allocation(s) created or changed.",
                    imported=True,
                )
            )

    @work(thread=True, exclusive=True, exit_on_error=False, group="write")
    def _generate(self, db: Database, who: CurrentUser, entry: GenerateEntry) -> None:
        try:
            with db.session() as session:
                ids = allocation_list.unallocated_subject_ids(session, who)
                count = allocation.generate(
                    session, who, subject_ids=ids, seed=entry.seed, block_size=entry.block_size
                )
        except LotTrackError as exc:
            self.post_message(ActionRefused(exc.message))
        else:
            self.post_message(
                ActionDone(
                    f"Allocated {count} subject(s) by 1:1 permuted blocks of "
                    f"{entry.block_size}, seed {entry.seed}."
                )
            )

    @work(thread=True, exclusive=True, exit_on_error=False, group="write")
    def _schedule(
        self, db: Database, who: CurrentUser, row: SubjectAllocation, week0: dt.date
    ) -> None:
        try:
            with db.session() as session:
                visits.schedule(session, who, subject_id=row.subject_id, week0=week0)
        except LotTrackError as exc:
            self.post_message(ActionRefused(exc.message))
        else:
            self.post_message(
                ActionDone(f"Scheduled both visits of {row.code}, period 1 on {week0.isoformat()}.")
            )

    # ----------------------------------------------------------------------- results

    @override
    def _show_page(self, page: AllocationPage) -> None:
        if not page.subjects and page.offset > 0 and page.total > 0:
            # Past the end (a taller terminal, fewer matches): show the last page.
            self._ask(offset=(page.total - 1) // page.limit * page.limit)
            return
        table: DataTable[Text] = self.query_one("#alloc-table", DataTable)
        keep = self.selected()
        table.clear()
        self.page = page
        self.rows = {str(s.subject_id): s for s in page.subjects}
        for s in page.subjects:
            by_period = {v.period: v for v in s.visits}
            table.add_row(
                Text(s.code),
                Text(s.sequence) if s.sequence else Text(NOT_ALLOCATED, style="dim"),
                state_text(s),
                Text(visit_text(by_period.get(1))),
                Text(visit_text(by_period.get(2))),
                key=str(s.subject_id),
            )
        if keep is not None and str(keep.subject_id) in self.rows:
            table.move_cursor(row=table.get_row_index(str(keep.subject_id)))
        else:
            table.move_cursor(row=0)
        self.query_one("#alloc-summary", Static).update(
            Content(
                f"{page.subject_count} subjects: {page.allocated} allocated ({page.frozen} "
                f"frozen), {page.unallocated} not allocated."
            )
        )
        self._describe_page()
        self._show_detail(self.selected())
        self.refresh_bindings()

    @override
    def _row_count(self, page: AllocationPage) -> int:
        return len(page.subjects)

    @override
    def _nothing_text(self) -> str:
        search = self.query_state.search.strip()
        return f'No subject code contains "{search}".' if search else "No subjects yet."

    @override
    def _search_note(self) -> str:
        search = self.query_state.search.strip()
        return f' matching "{search}"' if search else ""

    @on(ActionDone)
    def _done(self, message: ActionDone) -> None:
        self.busy = False
        if message.imported:
            self.query_one("#alloc-path", Input).value = ""
        self._status(message.text, error=False, reload=True)
        self.query_one("#alloc-table").focus()

    @on(ActionRefused)
    def _refused(self, message: ActionRefused) -> None:
        self.busy = False
        self._status(f"{message.message} Nothing was stored.", error=True)

    @on(Worker.StateChanged)
    def _worker_failed(self, event: Worker.StateChanged) -> None:
        # The app shows the error; the screen stops looking busy.
        if event.state is WorkerState.ERROR:
            self.busy = False

    def _start(self, text: str) -> None:
        self.busy = True
        self._status(text, error=False)

    def _status(self, text: str, *, error: bool, reload: bool = False) -> None:
        """Show ``text``, and read the page again when ``reload`` (a write changed what it
        shows). A message of two lines takes one from the table: the page follows when
        the table is resized (:meth:`PagedListScreen._table_resized`)."""
        line = self.query_one("#alloc-status", Static)
        line.update(Content(text))
        line.set_class(error, "error")
        line.set_class(not error, "success")
        if reload:
            self.call_after_refresh(self.action_reload)
