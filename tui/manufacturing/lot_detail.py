"""A lot's batch record: head, timeline, passages and growth, counts, QC, bags and
custody, QA decisions. Technicians record the next step from here."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import DataTable, LoadingIndicator, Static
from textual.worker import Worker, WorkerState
from typing_extensions import override

from lottrack.kernel.errors import ValidationError
from lottrack.manufacturing import deviations, lots
from lottrack.records.permissions import Action, CurrentUser
from lottrack.storage.db import Database
from tui.lot import tables as lot_tables
from tui.lot.detail_data import LotDetail, read_lot
from tui.lot.head import lot_head, readiness_text
from tui.manufacturing import lot_record_actions
from tui.manufacturing.lot_record_actions import LotRecordActions
from tui.screen_keys import ScreenKeys
from tui.widgets.growth_chart import GrowthChart
from tui.widgets.key_footer import KeyFooter
from tui.widgets.lazy_tabs import LazyTabs
from tui.widgets.session_header import SessionHeader
from tui.widgets.wrapped_rows import StretchTable
from tui.workers import post_if_current, start_read

if TYPE_CHECKING:
    from tui.common.form import FormScreen

TABS = ("overview", "passages", "counts", "qc", "bags", "decisions")
SINGLE_TABLE_TABS = ("overview", "counts", "qc")
TAB_TITLES = ("Overview", "Passages", "Counts", "QC", "Bags", "Decisions")


_FILLS: dict[str, tuple[tuple[str, Callable[..., None]], ...]] = {
    "overview": (("timeline", lot_tables.fill_timeline),),
    "passages": (("passages", lot_tables.fill_passages),),
    "counts": (("counts", lot_tables.fill_counts),),
    "qc": (("qc", lot_tables.fill_results),),
    "bags": (("bags", lot_tables.fill_bags), ("custody", lot_tables.fill_custody)),
    "decisions": (("decisions", lot_tables.fill_decisions), ("quality", lot_tables.fill_quality)),
}
"""Each tab's tables and how they are filled."""


@dataclass
class LotRead(Message):
    """The batch record, read."""

    lot: LotDetail


class LotDetailScreen(LotRecordActions):
    """One lot; tabs 1–6; the footer offers the record that is due next, and what can be
    done to the entry under the cursor."""

    COMMANDS = {ScreenKeys}

    HELP = (
        """\
# Batch record of a lot

The head names the lot, its status, subject, DIN and progress. Tabs (**1**–**6**, or a
click on the tab's name):

1. **Overview** — what is due next, and the lot's timeline.
2. **Passages** — seeding and harvest of each passage with population doublings (PD),
   cumulative PD (cPD), doubling time in hours (DT h) and seeding density (per cm²);
   the growth chart plots cumulative PD against days since P0 was seeded.
3. **Counts** — each count with its replicates, CV, and RECOUNT when the CV exceeds the
   specification.
4. **QC** — every result; out of specification in red, superseded results (a retest
   followed) struck through but still shown.
5. **Bags** — the bags and their chain of custody.
6. **Decisions** — QA decisions with their signatures, valid or INVALIDATED.

Technicians: **p** seed a passage, **h** harvest the open passage, **c** record a count,
**t** a QC test result, **f** formulate. QA: **v** opens the review. The footer (and the
command palette, **ctrl+p**) shows only what the lot's state and your roles allow; the
service checks again.

"""
        + lot_record_actions.HELP
    )

    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("p", "record('seed')", "Seed"),
        Binding("h", "record('harvest')", "Harvest"),
        Binding("c", "record('count')", "Count"),
        Binding("t", "record('qc')", "QC"),
        Binding("f", "record('formulate')", "Formulate"),
        Binding("v", "review", "Review"),
        Binding("o", "deviation", "Deviation"),
        Binding("d", "certificate", "Certificate"),
        Binding("r", "reload", "Refresh", show=False),
        *(Binding(str(n), f"tab({n})", show=False) for n in range(1, len(TABS) + 1)),
        *lot_record_actions.BINDINGS,
    ]

    def __init__(self, lot_id: int) -> None:
        super().__init__()
        self.lot_id = lot_id
        self.lot: LotDetail | None = None
        self._filled: set[str] = set()
        """The tabs filled from :attr:`lot` (the others are filled when first shown)."""

    def compose(self) -> ComposeResult:
        """Header, head lines, tabs, footer; the read of the lot starts first."""
        self.action_reload()  # while the widgets are mounted (#18), shown once mounted
        yield SessionHeader()
        with Vertical(id="lot-body"):
            yield Static("Reading the batch record…", id="lot-head")
            yield LoadingIndicator(id="lot-loading")
            yield LazyTabs(
                [
                    (tab, f"{n} {title}")
                    for n, (tab, title) in enumerate(zip(TABS, TAB_TITLES, strict=True), 1)
                ],
                self._tab_box,
                id="lot-tabs",
            )
        yield KeyFooter()

    def _tab_box(self, tab: str) -> Vertical | VerticalScroll:
        """A tab's pane, built when the tab is first shown (#18: the screen opens with a
        fifth of the widgets of all six tabs). A tab of one table under a line or two
        scrolls in its table alone (one scroll bar, so the table keeps the width for its
        last column); the tabs that hold more than a table scroll as a whole."""
        if tab in SINGLE_TABLE_TABS:
            return Vertical(*self._tab_body(tab), classes="lot-single")
        return VerticalScroll(*self._tab_body(tab))

    def _tab_body(self, tab: str) -> ComposeResult:
        def table(name: str) -> DataTable[Text]:
            return StretchTable(
                id=f"lot-{name}", cursor_type="row", zebra_stripes=True, classes="lot-table"
            )

        if tab == "overview":
            yield Static("", id="lot-next")
            yield table("timeline")
        elif tab == "passages":
            yield table("passages")
            yield Static("", id="lot-reagents", classes="lot-caption")
            yield Static(
                "Cumulative population doublings against days since P0 was seeded",
                classes="lot-caption",
            )
            chart = GrowthChart(id="lot-growth")
            chart.styles.height = self._chart_height()
            yield chart
        elif tab == "counts":
            yield table("counts")
            yield Static("", id="lot-count-detail", classes="row-detail")
        elif tab == "qc":
            yield Static("", id="lot-readiness")
            yield table("qc")
        elif tab == "bags":
            yield table("bags")
            yield Static("Chain of custody", classes="lot-caption")
            yield table("custody")
        elif tab == "decisions":
            yield table("decisions")
            yield Static("Investigations and deviations", classes="lot-caption")
            yield table("quality")
        else:
            yield table(tab)

    def on_resize(self) -> None:
        """A taller terminal gets a taller growth chart."""
        for chart in self.query(GrowthChart):
            chart.styles.height = self._chart_height()

    def _chart_height(self) -> int:
        return max(8, self.size.height - 21)

    def on_screen_resume(self) -> None:
        """Back from a form or the review: show what changed."""
        if self.lot is not None:
            self.action_reload()

    @work(thread=True, exclusive=True, exit_on_error=False)
    def _read(self, reading: Future[LotDetail]) -> None:
        post_if_current(self, LotRead(reading.result()))

    @on(LotRead)
    def _show(self, message: LotRead) -> None:
        lot = self.lot = message.lot
        tz = self.ctx.clock().tzinfo
        self.query_one("#lot-loading").display = False
        self.query_one("#lot-head", Static).update(lot_head(lot, tz))
        nxt = Text("Next: ", style="bold")
        nxt.append(
            lot.next_step or "nothing is due from the lab.",
            style="bold yellow" if lot.next_step else "dim",
        )
        self.query_one("#lot-next", Static).update(nxt)
        self._filled = set()
        self._fill(self.query_one(LazyTabs).active)
        if self.focused is None:
            self.query_one("#lot-timeline").focus()
        self.refresh_bindings()

    def _fill(self, tab: str) -> None:
        """Fill ``tab``'s tables (and the growth chart) from the lot read, once per read:
        a tab is drawn when it is first shown, not all of them with the lot."""
        lot = self.lot
        if lot is None or tab in self._filled or not self.query_one(LazyTabs).built(tab):
            return
        self._filled.add(tab)
        tz = self.ctx.clock().tzinfo
        for name, fill in _FILLS.get(tab, ()):
            fill(self.query_one(f"#lot-{name}", DataTable), lot, tz)
        if tab == "passages":
            self.query_one("#lot-reagents", Static).update(lot_tables.reagents_text(lot))
            self.query_one(GrowthChart).plot(lot.growth)
        if tab == "qc":
            self.query_one("#lot-readiness", Static).update(readiness_text(lot.readiness))

    @on(DataTable.RowHighlighted, "#lot-counts")
    def _count_detail(self, event: DataTable.RowHighlighted) -> None:
        if self.lot is not None:
            self.query_one("#lot-count-detail", Static).update(
                lot_tables.count_detail(self.lot, event.row_key.value, self.ctx.clock().tzinfo)
            )

    @on(LazyTabs.Shown, "#lot-tabs")
    def _shown(self, event: LazyTabs.Shown) -> None:
        """A tab shown by a click (a number key has filled it already)."""
        self._use_tab(event.tab)

    def _use_tab(self, tab: str) -> None:
        """Fill ``tab`` and give its first table the keys (the table of the tab hidden
        has them)."""
        self._fill(tab)
        tables = self.query_one(LazyTabs).pane(tab).query(DataTable)
        if tables:
            tables.first().focus()

    @on(Worker.StateChanged)
    def _failed(self, event: Worker.StateChanged) -> None:
        if event.state is WorkerState.ERROR and event.worker.name == "_read":
            self.query_one("#lot-loading").display = False
            self.query_one("#lot-head", Static).update("The batch record could not be read.")

    # ------------------------------------------------------------------ actions

    @override
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Offer a record only when the lot's state and the person's roles allow it."""
        lot = self.lot
        if action == "record":
            if lot is None or not self.ctx.can(Action.RECORD_MANUFACTURING):
                return False
            return str(parameters[0]) in lot.recordable
        if action == "review":
            return self.ctx.can(Action.DECIDE_DISPOSITION)
        if action == "deviation":
            return (
                lot is not None
                and lot.summary.status in deviations.OPEN_STATES
                and self.ctx.can(Action.OPEN_DEVIATION)
            )
        if action == "certificate":
            return (
                lot is not None
                and lot.summary.status in lots.RELEASED_STATES
                and self.ctx.can(Action.ISSUE_RELEASE_CERTIFICATE)
            )
        return super().check_action(action, parameters)

    def action_certificate(self, reason: str = "") -> None:
        """Issue (print) the release certificate; a reprint asks why."""
        if self.lot is None or self.ctx.user is None:
            return
        self.notify("Issuing the release certificate…")
        self._issue(self.ctx.db, self.ctx.user, self.lot_id, self.lot.summary.lot_number, reason)

    @work(thread=True, exclusive=True, exit_on_error=False, group="certificate")
    def _issue(
        self, db: Database, who: CurrentUser, lot_id: int, lot_number: str, reason: str
    ) -> None:
        from tui.pharmacy.documents import issue_release_certificate

        try:
            with db.session() as session:
                issued = issue_release_certificate(session, who, lot_id, lot_number, reason)
        except ValidationError as exc:
            if exc.field == "reason":
                self.app.call_from_thread(self._ask_reprint_reason)
                return
            raise
        copy = f" (COPY {issued.copy_number})" if issued.copy_number else ""
        self.app.call_from_thread(
            self.notify,
            f"Release certificate {issued.document_id}{copy} written to {issued.path}.",
            title="Certificate issued",
        )

    def _ask_reprint_reason(self) -> None:
        from tui.dialogs.reason import ReasonModal

        def reasoned(reason: str | None) -> None:
            if reason:
                self.action_certificate(reason)

        self.app.push_screen(
            ReasonModal(
                "Reprint the release certificate",
                "It was issued before; the reprint is marked COPY. Why is it printed again?",
                "Reprint",
            ),
            reasoned,
        )

    def action_record(self, what: str) -> None:
        """Open the form for ``what`` (seed, harvest, count, qc, formulate)."""
        self.app.push_screen(form_for(what, self.lot_id))

    def action_deviation(self) -> None:
        """Open a deviation on this lot."""
        from tui.lot.quality_forms import DeviationForm

        self.app.push_screen(DeviationForm(self.lot_id))

    def action_review(self) -> None:
        """QA: the review screen of this lot."""
        from tui.qa.review import QAReviewScreen

        self.app.push_screen(QAReviewScreen(self.lot_id))

    async def action_tab(self, number: int) -> None:
        """Switch to tab ``number``."""
        tab = TABS[number - 1]
        await self.query_one(LazyTabs).show(tab)
        self._use_tab(tab)  # at once, so that it is never seen empty

    def action_reload(self) -> None:
        """Read the lot again."""
        if self.ctx.user is not None:
            who, lot_id = self.ctx.user, self.lot_id
            self._read(start_read(self.ctx.db, lambda session: read_lot(session, who, lot_id)))

    def action_back(self) -> None:
        """Back to where the lot was opened."""
        self.dismiss()


def form_for(what: str, lot_id: int) -> FormScreen:
    """The form that records ``what`` for the lot."""
    from tui.manufacturing.forms.count import CountForm
    from tui.manufacturing.forms.formulation import FormulationForm
    from tui.manufacturing.forms.passage_harvest import PassageHarvestForm
    from tui.manufacturing.forms.passage_seed import PassageSeedForm
    from tui.manufacturing.forms.qc_result import QCResultForm

    forms = {
        "seed": PassageSeedForm,
        "harvest": PassageHarvestForm,
        "count": CountForm,
        "qc": QCResultForm,
        "formulate": FormulationForm,
    }
    return forms[what](lot_id)
