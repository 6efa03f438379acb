"""Sites (administrators): every site; register one, or correct one with a reason."""

from __future__ import annotations

from rich.text import Text
from sqlmodel import Session
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.content import Content
from textual.widgets import DataTable, Static
from textual.worker import Worker, WorkerState
from typing_extensions import override

from lottrack.facility import sites
from lottrack.facility.sites import SiteInfo
from lottrack.records.permissions import Action, CurrentUser
from tui.admin.list_layout import compose_list
from tui.common.row_list import RowListScreen
from tui.widgets.wrapped_rows import StretchTable


class SitesScreen(RowListScreen[SiteInfo]):
    """A table of sites and the administrator's actions on them."""

    DESTINATION = "sites"
    TABLE_ID = "sites-table"

    HELP = """\
# Sites

Every site with its ISBT 128 facility identification number (FIN), time zone, decimal
separator and product codes.

* **n** register a site.
* **e** (or **Enter**) correct the highlighted site. Every change needs a reason and is
  recorded in the audit trail with the old and new values. The FIN cannot change once a
  DIN has been issued under it.

A site is never deleted: its subjects and records refer to it.
"""

    BINDINGS = [
        Binding("n", "add", "Register"),
        Binding("e", "edit", "Correct"),
        Binding("ctrl+r", "reload", "Refresh", show=False),
        Binding("escape", "back", "Back"),
    ]

    def compose(self) -> ComposeResult:
        """Header, title, table, status line, footer."""
        table: DataTable[Text] = StretchTable(
            id="sites-table", cursor_type="row", zebra_stripes=True
        )
        # Widths that fit 80 columns; a longer name wraps in its row, the address takes
        # the room left (on one line at 120 columns).
        for label, width in (
            ("FIN", 5),
            ("Name", 14),
            ("Time zone", 13),
            ("Decimal", 7),
            ("MSC", 8),
            ("Placebo", 8),
            ("Address", 8),
        ):
            table.add_column(label, width=width)
        yield from compose_list("sites", "Sites", table)

    @override
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Register and correct for administrators; correct needs a highlighted site."""
        if action in ("add", "edit"):
            if not self.ctx.can(Action.MANAGE_SITES):
                return False
            return action == "add" or self.selected() is not None
        return True

    @on(DataTable.RowHighlighted)
    def _highlighted(self) -> None:
        self.refresh_bindings()

    @on(DataTable.RowSelected)
    def _selected(self) -> None:
        # Enter on a row (the table's own key) opens it, like e.
        if self.check_action("edit", ()):
            self.action_edit()

    # ------------------------------------------------------------------------ actions

    @override
    def action_reload(self) -> None:
        """Read the sites again."""
        if self.ctx.user is not None:
            self.query_one("#sites-loading").display = True
        super().action_reload()

    def action_add(self) -> None:
        """The registration form."""
        self._open_form(None)

    def action_edit(self) -> None:
        """The correction form for the highlighted site."""
        site = self.selected()
        if site is not None:
            self._open_form(site)

    def _open_form(self, site: SiteInfo | None) -> None:
        from tui.admin.site_form import SiteForm

        def done(summary: str | None) -> None:
            if summary:
                self._say(summary)
                self.action_reload()
                self.lottrack.read_site_clock()  # the header's zone may have changed

        self.app.push_screen(SiteForm(site), done)

    # ------------------------------------------------------------------------ the list

    @override
    def _read_rows(self, session: Session, who: CurrentUser) -> list[SiteInfo]:
        return sites.list_sites(session, who)

    @override
    def _cells(self, row: SiteInfo) -> tuple[Text, ...]:
        return (
            Text(row.fin),
            Text(row.name),
            Text(row.timezone),
            Text(row.decimal_separator),
            Text(row.product_code_msc),
            Text(row.product_code_placebo),
            Text(row.address or "—"),
        )

    @override
    def _rows_shown(self) -> None:
        self.query_one("#sites-loading").display = False
        super()._rows_shown()

    @on(Worker.StateChanged)
    def _worker_failed(self, event: Worker.StateChanged) -> None:
        # The app shows the error; the screen stops looking busy.
        if event.state is WorkerState.ERROR:
            self.query_one("#sites-loading").display = False

    def _say(self, text: str) -> None:
        line = self.query_one("#sites-status", Static)
        line.update(Content(text))
        line.add_class("success")
