"""Audit trail (QA, administrators): the events, searched by record, person, action and
date, each record named in words; and the verification of the hash chain."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.widgets import DataTable, Input, LoadingIndicator, Static
from textual.worker import Worker, WorkerState

from lottrack.records import safekeeping
from lottrack.records.permissions import CurrentUser
from lottrack.storage import anchors
from lottrack.storage.db import Database
from lottrack.views.listings.audit_log import AuditLogPage, AuditLogRow, AuditQuery, audit_log
from tui.common.screen import AppScreen
from tui.dialogs.text_view import TextViewModal
from tui.lot.tables import audit_columns, audit_event_text
from tui.widgets.key_footer import KeyFooter
from tui.widgets.session_header import SessionHeader
from tui.widgets.wrapped_rows import StretchTable, add_wrapped_rows
from tui.workers import post_if_current

PAGE = 50
"""Events read at a time, newest first: three screens of them; the next page is read when
the cursor reaches the last row shown, or on m (#18: a page of 200 wrapped rows took
longer to lay out than the rest of the screen)."""
FILTERS = (
    ("record", "record (P3, TLS-…)", 3),
    ("person", "person", 2),
    ("action", "action", 2),
    ("since", "from YYYY-MM-DD", 2),
    ("until", "to YYYY-MM-DD", 2),
)
"""The filter boxes: id, placeholder, relative width."""


@dataclass(frozen=True)
class AuditSummary:
    """What :func:`lottrack.storage.anchors.verify` found, as plain values."""

    events: int
    rows: int
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        """True when nothing is wrong."""
        return not self.problems


@dataclass
class AuditVerified(Message):
    """The verification finished."""

    summary: AuditSummary


@dataclass
class AuditListed(Message):
    """The events matching the filters."""

    page: AuditLogPage


class AuditScreen(AppScreen):
    """The audit events (filters on top, the highlighted event in full below) and the
    result of verifying the chain."""

    DESTINATION = "audit"

    HELP = """\
# Audit trail

Every change to a GMP record, every login and every signature, newest first. Each
record is named as people name it ("Passage P3 of L-…", "QC CD73 of L-…", "Bag K-…").

Type in the boxes above the list to narrow it, then **Enter**: part of the **record**'s
name, of the **person**'s username, of the **action** (update, void, login, refused …),
and a date range **from** / **to** (YYYY-MM-DD, at the site; both days included). The
highlighted event is shown under the list; **Enter** opens it with every change on its own
line (**Esc** goes back). Older events are listed when the cursor reaches the last
one, or on **m**.

At the top, lottrack says whether the hash chain of every event is intact and every
record matches its last audited values; a change made behind the application's back (for
example with SQL) is reported with the table and the record id. **r** verifies again.

Blinded roles see "(blinded)" instead of the values of records that could tell the arm.
"""

    BINDINGS = [
        Binding("slash", "search", "Filter"),
        Binding("r", "verify", "Verify again"),
        Binding("m", "more", "Older events"),
        Binding("escape", "back", "Back"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._rows: list[AuditLogRow] = []
        self._more = False
        self._reading_more = False
        self._query = AuditQuery()

    def compose(self) -> ComposeResult:
        """Header, verification result, filters, events, the event in full, footer."""
        yield SessionHeader()
        with Vertical(id="audit-body"):
            yield Static("Audit trail", classes="pane-title")
            yield LoadingIndicator(id="audit-loading")
            yield Static("", id="audit-result")
            with VerticalScroll(id="audit-problems"):
                yield Static("", id="audit-problem-list")
            with Horizontal(id="audit-filters"):
                for name, placeholder, _ in FILTERS:
                    yield Input(
                        id=f"audit-{name}",
                        placeholder=placeholder,
                        compact=True,
                        classes=f"audit-filter w{_}",
                    )
            yield Static("", id="audit-count")
            yield StretchTable(id="audit-events", cursor_type="row", zebra_stripes=True)
            yield Static("", id="audit-detail")
        yield KeyFooter()

    _verify_after_list = True

    def on_mount(self) -> None:
        """List the newest events, then verify the chain: the verification reads the whole
        trail (half a minute at N = 1000) and would hold up the first page's drawing."""
        self.query_one("#audit-problems").display = False
        self.query_one("#audit-result", Static).update("Verifying the audit trail…")
        self._list()

    def _start_verification(self) -> None:
        """The first verification, once the first page is drawn (or could not be read)."""
        if self._verify_after_list:
            self._verify_after_list = False
            self.call_after_refresh(self.action_verify)

    def action_search(self) -> None:
        """To the first filter box (Tab to the others, Enter lists what matches)."""
        self.query_one("#audit-record", Input).focus()

    def action_back(self) -> None:
        """Back to the home screen."""
        self.dismiss()

    # ------------------------------------------------------------------ the list

    @on(Input.Submitted, ".audit-filter")
    def _filter(self) -> None:
        try:
            self._query = self._read_filters()
        except ValueError as exc:
            self.query_one("#audit-count", Static).update(Text(str(exc), style="bold red"))
            return
        self._rows = []
        self._list()

    def _read_filters(self) -> AuditQuery:
        def text(name: str) -> str:
            return self.query_one(f"#audit-{name}", Input).value.strip()

        tz = self.ctx.clock().tzinfo

        def day(name: str, label: str, plus: int) -> dt.datetime | None:
            typed = text(name)
            if not typed:
                return None
            try:
                date = dt.date.fromisoformat(typed)
            except ValueError:
                raise ValueError(
                    f'{label}: "{typed[:20]}" is not a date; expected '
                    "YYYY-MM-DD, such as 2025-03-14."
                ) from None
            return dt.datetime.combine(date + dt.timedelta(days=plus), dt.time(), tzinfo=tz)

        return AuditQuery(
            record=text("record"),
            person=text("person"),
            action=text("action"),
            since=day("since", "From", 0),
            until=day("until", "To", 1),
        )

    def _list(self, before_seq: int | None = None) -> None:
        self.query_one("#audit-count", Static).update("Reading the events…")
        if self.ctx.user is not None:
            self._read(self.ctx.db, self.ctx.user, self._query, before_seq)

    @work(thread=True, exclusive=True, exit_on_error=False, group="audit-list")
    def _read(
        self, db: Database, who: CurrentUser, query: AuditQuery, before_seq: int | None
    ) -> None:
        with db.reader() as session:
            page = audit_log(session, who, query, limit=PAGE, before_seq=before_seq)
        post_if_current(self, AuditListed(page))

    @on(AuditListed)
    def _listed(self, message: AuditListed) -> None:
        self._start_verification()
        self._reading_more = False
        rows = message.page.rows
        self._rows += rows
        self._more = message.page.more
        tz = self.ctx.clock().tzinfo
        table = self.query_one("#audit-events", StretchTable)
        if len(self._rows) == len(rows):  # the first page (or none)
            audit_columns(table)  # the record's name wraps: nothing cut off on 80 columns
        add_wrapped_rows(
            table,
            (
                (
                    (
                        Text(str(r.seq)),
                        Text(r.at.astimezone(tz).strftime("%m-%d %H:%M")),
                        Text(r.username),
                        Text(r.action),
                        Text(r.record),
                    ),
                    str(r.seq),
                )
                for r in rows
            ),
        )
        table.refit()
        shown = len(self._rows)
        more = " (m: older events)" if self._more else ""
        self.query_one("#audit-count", Static).update(
            Text(
                f"{shown} event{'s' if shown != 1 else ''}, newest first{more}"
                if shown
                else "No event matches."
            )
        )
        self._show_detail(table.cursor_row)
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """m only while older events exist."""
        del parameters
        return self._more if action == "more" else True

    def action_more(self) -> None:
        """The next page of older events."""
        if self._rows and self._more and not self._reading_more:
            self._reading_more = True
            self._list(self._rows[-1].seq)

    @on(DataTable.RowHighlighted, "#audit-events")
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show_detail(event.cursor_row)
        if event.cursor_row == len(self._rows) - 1:
            self.action_more()

    @on(DataTable.RowSelected, "#audit-events")
    def _selected(self, event: DataTable.RowSelected) -> None:
        """Enter: the event in full, one change a line (the line under the list is cut)."""
        text = self._event_text(event.cursor_row, full=True)
        if text is not None:
            self.app.push_screen(TextViewModal("Audit event", text))

    def _show_detail(self, index: int) -> None:
        self.query_one("#audit-detail", Static).update(self._event_text(index) or "")

    def _event_text(self, index: int, *, full: bool = False) -> Text | None:
        if not 0 <= index < len(self._rows):
            return None
        r = self._rows[index]
        at = r.at.astimezone(self.ctx.clock().tzinfo).strftime("%Y-%m-%d %H:%M %Z")
        return audit_event_text(
            head=f"#{r.seq} {r.action} {r.record} by {r.username}, {at}",
            reason=r.reason,
            changes=r.changes,
            tz=self.ctx.clock().tzinfo,
            full=full,
        )

    # ------------------------------------------------------------ verification

    def action_verify(self) -> None:
        """Run the verification (again)."""
        self.query_one("#audit-loading").display = True
        self.query_one("#audit-result", Static).update("Verifying the audit trail…")
        self.query_one("#audit-problems").display = False
        if self.ctx.user is not None:
            self._verify(self.ctx.db, self.ctx.user)

    @work(thread=True, exclusive=True, exit_on_error=False, group="audit-verify")
    def _verify(self, db: Database, who: CurrentUser) -> None:
        with db.reader() as session:
            safekeeping.may_verify(session, who)
            report = anchors.verify(session.connection())  # the checkpoints too
        with db.session() as session:  # each run is in the trail, as on the command line
            safekeeping.record_verification(session, who, report)
        self.post_message(
            AuditVerified(AuditSummary(report.events, report.rows, tuple(report.problems)))
        )

    @on(AuditVerified)
    def _verified(self, message: AuditVerified) -> None:
        summary = message.summary
        self.query_one("#audit-loading").display = False
        result = self.query_one("#audit-result", Static)
        result.set_class(summary.ok, "success")
        result.set_class(not summary.ok, "error")
        if summary.ok:
            result.update(
                Content(
                    f"Audit trail intact: {summary.events} events, {summary.rows} records match."
                )
            )
            return
        result.update(
            Content(
                f"Audit trail BROKEN: {len(summary.problems)} problem(s) in {summary.events} "
                f"events and {summary.rows} records."
            )
        )
        self.query_one("#audit-problem-list", Static).update(
            Content("\n".join(f"• {p}" for p in summary.problems))
        )
        self.query_one("#audit-problems").display = True

    @on(Worker.StateChanged)
    def _failed(self, event: Worker.StateChanged) -> None:
        if event.state is WorkerState.ERROR:
            self.query_one("#audit-loading").display = False
            if event.worker.group == "audit-verify":
                self.query_one("#audit-result", Static).update(
                    "The audit trail could not be verified; see the message."
                )
            else:
                self._reading_more = False  # m (or the last row) may try again
                self.query_one("#audit-count", Static).update(
                    "The events could not be read; see the message."
                )
                self._start_verification()
