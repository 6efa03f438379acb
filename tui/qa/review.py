"""QA review of a lot: batch summary, results (out of specification highlighted), the
lot's audit trail (changes after first entry marked), decisions; and the decision itself
— release, reject, quarantine, lift, exceptional release — signed."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, replace

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import DataTable, LoadingIndicator, Static
from textual.worker import Worker, WorkerState
from typing_extensions import override

from lottrack.records.permissions import Action, CurrentUser
from lottrack.release.disposition import open_decisions, why_not_open
from lottrack.storage.db import Database
from lottrack.views import listings
from lottrack.views.listings import AuditRow
from tui.common.screen import AppScreen
from tui.dialogs.text_view import TextViewModal
from tui.lot import tables as lot_tables
from tui.lot.detail_data import LotRecord, read_review
from tui.lot.head import lot_head, readiness_text
from tui.widgets.key_footer import KeyFooter
from tui.widgets.lazy_tabs import LazyTabs
from tui.widgets.session_header import SessionHeader
from tui.widgets.wrapped_rows import StretchTable
from tui.workers import post_if_current, start_read

TABS = (
    ("results", "Results"),
    ("audit", "Audit trail"),
    ("decisions", "Decisions"),
    ("counts", "Counts"),
    ("passages", "Passages"),
)
FILLS: dict[str, tuple[tuple[str, Callable[..., None]], ...]] = {
    "results": (("results", lot_tables.fill_results),),
    "audit": (("audit", lot_tables.fill_audit),),
    "decisions": (("decisions", lot_tables.fill_decisions), ("quality", lot_tables.fill_quality)),
    "counts": (("counts", lot_tables.fill_counts),),
    "passages": (("passages", lot_tables.fill_passages),),
}
"""Each tab's tables and how they are filled: a tab when it is first shown (#18: the
audit trail of a lot is hundreds of wrapped rows, not drawn until asked for)."""


@dataclass
class ReviewRead(Message):
    """The batch record with its audit trail."""

    lot: LotRecord


@dataclass
class AuditNamed(Message):
    """The audit trail of the read ``lot``, each record named as people name it."""

    lot: LotRecord
    audit: tuple[AuditRow, ...]


class QAReviewScreen(AppScreen):
    """Summary and readiness on top; tabs below; the decisions the lot's state allows."""

    HELP = """\
# QA review

The head names the lot and says whether it is ready: every required result in and
conforming (green), results **missing**, or **OUT OF SPECIFICATION** (red, with the
result and its limit).

Tabs: **1** results (out of specification in red; superseded results struck through),
**2** the lot's audit trail — every insert and change of the lot and its records; a
change to a value already recorded is marked **✎** with its reason; **Enter** opens an
event with every change — **3** decisions
and their signatures, **4** counts, **5** passages.

Decisions (each signed: username and password again):

* **r** release — only when ready.
* **e** exceptional release — only for a complete lot out of specification, with the
  physician's request, the risk evaluation, the physician's acceptance and the time the
  sponsor was notified.
* **x** reject, **k** quarantine, **l** lift a quarantine.
* **n** closes an open out-of-specification investigation or deviation (the Decisions
  tab lists them below the decisions): a conclusion, then your signature. For an
  investigation, say whether an assignable laboratory error was found (the original
  result is invalidated and the retest stands) or not (the original stands). Any open
  investigation or deviation blocks release.

The person who recorded any step of the lot cannot release it; the service says so.
**d** opens the full batch record.
"""

    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("r", "decide('release')", "Release"),
        Binding("e", "decide('exceptional')", "Exceptional"),
        Binding("x", "decide('reject')", "Reject"),
        Binding("k", "decide('quarantine')", "Quarantine"),
        Binding("l", "decide('lift')", "Lift"),
        Binding("n", "close_record", "Close record"),
        Binding("d", "detail", "Batch record"),
        # A decision key that is not open says why (the first binding of the key that is
        # enabled runs).
        *(
            Binding(key, f"why_not('{kind}')", show=False)
            for key, kind in (
                ("r", "release"),
                ("e", "exceptional"),
                ("x", "reject"),
                ("k", "quarantine"),
                ("l", "lift"),
            )
        ),
        Binding("ctrl+r", "reload", "Refresh", show=False),
        *(Binding(str(n), f"tab({n})", show=False) for n in range(1, len(TABS) + 1)),
    ]

    def __init__(self, lot_id: int, *, detail: Callable[[int], Screen[None]] | None = None) -> None:
        """``detail`` builds the batch-record screen that ``d`` opens; without it the
        review was opened from that screen, and ``d`` goes back to it."""
        super().__init__()
        self.lot_id = lot_id
        self.detail = detail
        self.lot: LotRecord | None = None
        self._filled: set[str] = set()
        """The tabs filled from :attr:`lot` (the others are filled when first shown)."""
        self._audit_named = False
        """Whether :attr:`lot`'s audit trail names its records: they are read when the
        audit tab is first shown (#18: sixteen statements, a third of the review's, for a
        tab a review does not always open)."""
        self._naming: LotRecord | None = None
        """The read whose names are being read (a number key and the tab's Shown message
        both ask to fill the tab: its names are read once)."""

    def compose(self) -> ComposeResult:
        """Header, head, readiness, tabs, footer; the read of the lot starts first."""
        self.action_reload()  # while the widgets are mounted (#18), shown once mounted
        yield SessionHeader()
        with Vertical(id="review-body"):
            yield Static("Reading the batch record…", id="review-head")
            yield Static("", id="review-readiness")
            yield LoadingIndicator(id="review-loading")
            yield LazyTabs(
                [(tab, f"{n} {title}") for n, (tab, title) in enumerate(TABS, 1)],
                self._tab_pane,
                id="review-tabs",
            )
        yield KeyFooter()

    def _tab_pane(self, tab: str) -> Widget:
        """A tab's pane, built when the tab is first shown (#18: the screen opens with
        the first tab's widgets alone, a third of them)."""
        return Vertical(*self._tab_body(tab))

    @staticmethod
    def _tab_body(tab: str) -> ComposeResult:
        """What a tab holds: its table, and a line or a second table."""

        def table(name: str) -> StretchTable:
            return StretchTable(
                id=f"review-{name}", cursor_type="row", zebra_stripes=True, classes="review-table"
            )

        yield table(tab)
        if tab == "audit":
            yield Static("", id="audit-detail")
        if tab == "passages":
            yield Static("", id="review-reagents", classes="lot-caption")
        if tab == "counts":
            yield Static("", id="review-count-detail", classes="row-detail")
        if tab == "decisions":
            yield Static("Investigations and deviations", classes="lot-caption")
            yield table("quality")

    def on_screen_resume(self) -> None:
        """Back from a decision: show the new state."""
        if self.lot is not None:
            self.action_reload()

    @work(thread=True, exclusive=True, exit_on_error=False)
    def _read(self, reading: Future[LotRecord]) -> None:
        post_if_current(self, ReviewRead(reading.result()))

    @on(ReviewRead)
    def _show(self, message: ReviewRead) -> None:
        lot = self.lot = message.lot
        tz = self.ctx.clock().tzinfo
        self.query_one("#review-loading").display = False
        self.query_one("#review-head", Static).update(lot_head(lot, tz))
        readiness = readiness_text(lot.readiness)
        if lot.summary.counts_needing_recount:
            readiness.append(
                "\nA count needs a conforming recount before release.", style="bold red"
            )
        self.query_one("#review-readiness", Static).update(readiness)
        self._filled = set()
        self._audit_named = False
        tabs = self.query_one(LazyTabs)
        self._fill(tabs.active)
        corrections = sum(1 for e in lot.audit or () if e.changed_after_entry)
        if corrections:
            tabs.set_label("audit", f"2 Audit trail ✎{corrections}")
        if self.focused is None:
            self.query_one("#review-results").focus()
        self.refresh_bindings()

    def _fill(self, tab: str) -> None:
        """Fill ``tab``'s tables from the lot read, once per read."""
        lot = self.lot
        if lot is None or tab in self._filled or not self.query_one(LazyTabs).built(tab):
            return
        if tab == "audit" and not self._audit_named:
            if self._naming is not lot and self.ctx.user is not None:
                self._naming = lot
                self._name_audit(self.ctx.db, self.ctx.user, lot)  # filled once named
            return
        self._filled.add(tab)
        tz = self.ctx.clock().tzinfo
        for name, fill in FILLS.get(tab, ()):
            fill(self.query_one(f"#review-{name}", DataTable), lot, tz)
        if tab == "passages":
            self.query_one("#review-reagents", Static).update(lot_tables.reagents_text(lot))

    @work(thread=True, exclusive=True, exit_on_error=False, group="audit-names")
    def _name_audit(self, db: Database, who: CurrentUser, lot: LotRecord) -> None:
        with db.reader() as session:
            audit = tuple(listings.named(session, who, list(lot.audit or ())))
        post_if_current(self, AuditNamed(lot, audit))

    @on(AuditNamed)
    def _audit_named_read(self, message: AuditNamed) -> None:
        if message.lot is not self.lot:
            return  # read again meanwhile: that read names its own trail
        self.lot = replace(message.lot, audit=message.audit)
        self._audit_named = True
        self._fill("audit")

    @on(LazyTabs.Shown, "#review-tabs")
    def _tab_shown(self, event: LazyTabs.Shown) -> None:
        """A tab shown by a click (a number key has filled it already)."""
        self._use_tab(event.tab)

    def _use_tab(self, tab: str) -> None:
        """Fill ``tab`` and give its table the keys (the table of the tab hidden has them)."""
        self._fill(tab)
        self.query_one(f"#review-{tab}", DataTable).focus()

    @on(DataTable.RowHighlighted, "#review-counts")
    def _count_detail(self, event: DataTable.RowHighlighted) -> None:
        if self.lot is not None:
            self.query_one("#review-count-detail", Static).update(
                lot_tables.count_detail(self.lot, event.row_key.value, self.ctx.clock().tzinfo)
            )

    @on(DataTable.RowHighlighted, "#review-audit")
    def _audit_detail(self, event: DataTable.RowHighlighted) -> None:
        """The highlighted event under the list (the table has no room for its changes)."""
        text = self._audit_event(event.row_key.value)
        self.query_one("#audit-detail", Static).update(text or "")

    @on(DataTable.RowSelected, "#review-audit")
    def _audit_open(self, event: DataTable.RowSelected) -> None:
        """Enter: the event in full, one change a line (the line under the list is cut)."""
        text = self._audit_event(event.row_key.value, full=True)
        if text is not None:
            self.app.push_screen(TextViewModal("Audit event", text))

    def _audit_event(self, seq: str | None, *, full: bool = False) -> Text | None:
        row = (
            next((e for e in (self.lot.audit or ()) if str(e.seq) == seq), None)
            if self.lot
            else None
        )
        if row is None:
            return None
        return lot_tables.audit_event_text(
            head=f"#{row.seq} {row.action} {row.record} by {row.username}",
            reason=row.reason,
            changes=row.changes,
            tz=self.ctx.clock().tzinfo,
            corrected=row.changed_after_entry,
            full=full,
        )

    @on(Worker.StateChanged)
    def _failed(self, event: Worker.StateChanged) -> None:
        # The app shows every worker's error; a failed read of the names leaves the
        # batch record as it was read, and showing the audit tab again tries again.
        if event.state is WorkerState.ERROR and event.worker.group == "audit-names":
            self._naming = None
        elif event.state is WorkerState.ERROR:
            self.query_one("#review-loading").display = False
            self.query_one("#review-head", Static).update("The batch record could not be read.")

    @override
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Offer only the decisions the lot's state allows (the service checks again); the
        key of another one says why it is not open."""
        lot = self.lot
        if action == "close_record":
            return (
                lot is not None
                and self.ctx.can(Action.CLOSE_QUALITY_RECORD)
                and bool(lot.readiness.open_records)
            )
        if action not in ("decide", "why_not"):
            return True
        if lot is None or not self.ctx.can(Action.DECIDE_DISPOSITION):
            return False
        is_open = str(parameters[0]) in open_decisions(lot.summary.status, lot.readiness)
        return is_open if action == "decide" else not is_open

    def action_why_not(self, kind: str) -> None:
        """Say why this decision is not open to the lot."""
        if self.lot is not None:
            reason = why_not_open(kind, self.lot.summary.status, self.lot.readiness)
            if reason:
                self.notify(reason, title="Not open", severity="warning", markup=False, timeout=8)

    def action_decide(self, kind: str) -> None:
        """The decision form (justification, then the signature dialog)."""
        from tui.qa.decision_form import DecisionForm

        if self.lot is None:
            return
        self.app.push_screen(
            DecisionForm(
                self.lot_id,
                kind,
                self.lot.summary.lot_number,
                self.lot.summary.subject_code,
                tuple(d.id for d in self.lot.deviations if d.is_open),
            )
        )

    def action_close_record(self) -> None:
        """Close the open investigation or deviation under the cursor of the Decisions
        tab's lower table (else the first open one), with a signed conclusion."""
        from tui.lot.quality_forms import CloseRecordForm

        if self.lot is None:
            return
        key = None
        table = next(iter(self.query("#review-quality").results(DataTable)), None)
        if table is not None and table.row_count:
            key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        record = lot_tables.open_quality_record(self.lot, key)
        if record is not None:
            kind, record_id, summary = record
            self.app.push_screen(
                CloseRecordForm(kind, record_id, summary, self.lot.summary.lot_number)
            )

    def action_detail(self) -> None:
        """The full batch record."""
        if self.detail is None:
            self.dismiss()
            return
        self.app.push_screen(self.detail(self.lot_id))

    async def action_tab(self, number: int) -> None:
        """Switch to tab ``number``."""
        tab = TABS[number - 1][0]
        await self.query_one(LazyTabs).show(tab)
        self._use_tab(tab)  # at once, so that it is never seen empty

    def action_reload(self) -> None:
        """Read again."""
        if self.ctx.user is not None:
            who, lot_id = self.ctx.user, self.lot_id
            self._read(start_read(self.ctx.db, lambda session: read_review(session, who, lot_id)))

    def action_back(self) -> None:
        """Back."""
        self.dismiss()
