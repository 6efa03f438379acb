"""Reagent lots: register (technicians, QA), release for use or reject (QA)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from rich.text import Text
from sqlmodel import Session
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.message import Message
from textual.widgets import DataTable, Static
from typing_extensions import override

from lottrack.kernel.errors import LotTrackError
from lottrack.manufacturing import reagents
from lottrack.records.permissions import Action, CurrentUser
from lottrack.storage.db import Database
from lottrack.views import listings
from tui.common.row_list import RowListScreen
from tui.dialogs.reason import ReasonModal
from tui.widgets.key_footer import KeyFooter
from tui.widgets.session_header import SessionHeader
from tui.widgets.status_badge import status_text
from tui.widgets.wrapped_rows import StretchTable, grow_first


@dataclass
class ReagentChanged(Message):
    """A release or rejection was saved (``error`` False) or refused (True)."""

    text: str
    error: bool


COLUMNS = (("Reagent", 14), ("Lot", 8), ("Status", 10), ("Usable", 6), ("Expiry", 10), ("Kind", 8))
"""Widths that fit 80 columns; the kind (last) takes the room left."""


class ReagentLotsScreen(RowListScreen[listings.ReagentRow]):
    """A table of reagent lots and what may be done to the highlighted one."""

    DESTINATION = "reagents"
    TABLE_ID = "reagents-table"

    HELP = """\
# Reagent lots

Every reagent lot with its status. A new lot is registered **in quarantine**; only a
lot QA has **released**, on or before its expiry date, can be recorded as used in a
passage ("usable").

* **n** register a delivered lot (technicians and QA).
* **r** release the highlighted lot for use (QA).
* **x** reject it, with a reason (QA).
"""

    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("n", "register", "Register"),
        Binding("r", "release", "Release"),
        Binding("x", "reject", "Reject"),
        Binding("ctrl+r", "reload", "Refresh", show=False),
    ]

    def compose(self) -> ComposeResult:
        """Header, table, status line, footer."""
        yield SessionHeader()
        with Vertical(id="reagents-body"):
            yield Static("Reagent lots", classes="pane-title")
            table: DataTable[Text] = StretchTable(
                id="reagents-table", cursor_type="row", zebra_stripes=True
            )
            # Widths that fit 80 columns (a longer name wraps, the kind takes the room
            # left); the supplier is on the line under the table, for the highlighted lot.
            for label, width in COLUMNS:
                table.add_column(label, width=width)
            grow_first(table, 0)
            yield table
            yield Static("", id="reagents-detail", classes="lot-caption")
            yield Static("", id="reagents-status", classes="message")
        yield KeyFooter()

    @override
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Register for technicians and QA; release and reject for QA, when they apply."""
        if action == "register":
            return self.ctx.can(Action.REGISTER_REAGENT)
        if action in ("release", "reject"):
            row = self.selected()
            if not self.ctx.can(Action.RELEASE_REAGENT) or row is None:
                return False
            return (
                row.status == reagents.QUARANTINE
                if action == "release"
                else (row.status != reagents.REJECTED)
            )
        return True

    @on(DataTable.RowHighlighted)
    def _highlighted(self) -> None:
        row = self.selected()
        self.query_one("#reagents-detail", Static).update(
            Text(f"{row.name} lot {row.lot_number} · {row.kind} · supplier {row.supplier or '—'}")
            if row is not None
            else ""
        )
        self.refresh_bindings()

    @override
    def _read_rows(self, session: Session, who: CurrentUser) -> list[listings.ReagentRow]:
        return listings.reagent_lots(session, who)

    @override
    def _cells(self, row: listings.ReagentRow) -> tuple[Text, ...]:
        return (
            Text(row.name),
            Text(row.lot_number),
            status_text(row.status),
            Text("yes", style="green") if row.usable else Text("no", style="red"),
            Text(row.expiry.isoformat()),
            Text(row.kind),
        )

    @override
    def _rows_shown(self) -> None:
        self._highlighted()

    def action_register(self) -> None:
        """The registration form."""
        from tui.manufacturing.forms.reagent_lot import ReagentLotForm

        def done(summary: str | None) -> None:
            if summary:
                self._say(summary, error=False)
                self.action_reload()

        self.app.push_screen(ReagentLotForm(), done)

    def action_release(self) -> None:
        """Release the highlighted lot for use."""
        row = self.selected()
        if row is not None:
            self._apply(
                lambda s, who: reagents.release_reagent_lot(s, who, row.id),
                f"{row.name} lot {row.lot_number} released for use.",
            )

    def action_reject(self) -> None:
        """Reject the highlighted lot, with a reason."""
        row = self.selected()
        if row is None:
            return

        def reasoned(reason: str | None) -> None:
            if reason is not None:
                self._apply(
                    lambda s, who: reagents.reject_reagent_lot(s, who, row.id, reason),
                    f"{row.name} lot {row.lot_number} rejected.",
                )

        self.app.push_screen(
            ReasonModal(
                f"Reject {row.name} lot {row.lot_number}",
                "Why is this reagent lot rejected?",
                "Reject",
            ),
            reasoned,
        )

    def _apply(self, change: Callable[[Session, CurrentUser], None], summary: str) -> None:
        if self.ctx.user is not None:
            self._change(self.ctx.db, self.ctx.user, change, summary)

    @work(thread=True, exclusive=True, exit_on_error=False, group="change")
    def _change(
        self,
        db: Database,
        who: CurrentUser,
        change: Callable[[Session, CurrentUser], None],
        summary: str,
    ) -> None:
        try:
            with db.session() as session:
                change(session, who)
        except LotTrackError as exc:
            self.post_message(ReagentChanged(exc.message, True))
        else:
            self.post_message(ReagentChanged(summary, False))

    @on(ReagentChanged)
    def _changed(self, message: ReagentChanged) -> None:
        self._say(message.text, error=message.error)
        self.action_reload()

    def _say(self, text: str, *, error: bool) -> None:
        line = self.query_one("#reagents-status", Static)
        line.update(Content(text))
        line.set_class(error, "error")
        line.set_class(not error, "success")
