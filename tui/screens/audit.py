"""Audit trail (QA, administrators): verify the hash chain and every audited record."""

from __future__ import annotations

from dataclasses import dataclass

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.widgets import Footer, LoadingIndicator, Static
from textual.worker import Worker, WorkerState

from lottrack import anchors, safekeeping
from lottrack.db import Database
from lottrack.permissions import CurrentUser
from tui.screens.base import AppScreen
from tui.widgets.session_header import SessionHeader


@dataclass(frozen=True)
class AuditSummary:
    """What :func:`lottrack.anchors.verify` found, as plain values."""

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


class AuditScreen(AppScreen):
    """Runs the verification in a worker and shows "intact" or the problems found."""

    DESTINATION = "audit"

    HELP = """\
# Audit trail

lottrack recomputes the hash chain of every audit event and compares each record's
current values with its last audited values. A change made behind the application's
back (for example with SQL) is reported with the table and the record id.

**r** verifies again; **Escape** goes back.
"""

    BINDINGS = [
        Binding("r", "verify", "Verify again"),
        Binding("escape", "back", "Back"),
    ]

    def compose(self) -> ComposeResult:
        """Header, result, problems, footer."""
        yield SessionHeader()
        with Vertical(id="audit-body"):
            yield Static("Audit trail", classes="pane-title")
            yield LoadingIndicator(id="audit-loading")
            yield Static("", id="audit-result")
            with VerticalScroll(id="audit-problems"):
                yield Static("", id="audit-problem-list")
        yield Footer()

    def on_mount(self) -> None:
        """Verify at once."""
        self.action_verify()

    def action_back(self) -> None:
        """Back to the home screen."""
        self.dismiss()

    def action_verify(self) -> None:
        """Run the verification (again)."""
        self.query_one("#audit-loading").display = True
        self.query_one("#audit-result", Static).update("Verifying the audit trail…")
        self.query_one("#audit-problems").display = False
        if self.ctx.user is not None:
            self._verify(self.ctx.db, self.ctx.user)

    @work(thread=True, exclusive=True, exit_on_error=False)
    def _verify(self, db: Database, who: CurrentUser) -> None:
        with db.reader() as session:
            safekeeping.may_verify(session, who)
            report = anchors.verify(session.connection())  # the checkpoints too
        with db.session() as session:  # each run is in the trail, as on the command line
            safekeeping.record_verification(session, who, report)
        self.post_message(AuditVerified(
            AuditSummary(report.events, report.rows, tuple(report.problems))
        ))

    @on(AuditVerified)
    def _verified(self, message: AuditVerified) -> None:
        summary = message.summary
        self.query_one("#audit-loading").display = False
        result = self.query_one("#audit-result", Static)
        result.set_class(summary.ok, "success")
        result.set_class(not summary.ok, "error")
        if summary.ok:
            result.update(Content(
                f"Audit trail intact: {summary.events} events, {summary.rows} records match."
            ))
            return
        result.update(Content(
            f"Audit trail BROKEN: {len(summary.problems)} problem(s) in {summary.events} "
            f"events and {summary.rows} records."
        ))
        self.query_one("#audit-problem-list", Static).update(
            Content("\n".join(f"• {p}" for p in summary.problems))
        )
        self.query_one("#audit-problems").display = True

    @on(Worker.StateChanged)
    def _worker_done(self, event: Worker.StateChanged) -> None:
        if event.state in (WorkerState.ERROR, WorkerState.CANCELLED):
            self.query_one("#audit-loading").display = False
            self.query_one("#audit-result", Static).update("The verification did not finish.")
