"""Pharmacy (unblinded): second-person verification of prepared dispensings.

A pharmacist other than the preparer repeats checks 1–3 (identity, release, expiry)
independently and signs ``second-verified``. The screen shows the checks as they stand
now (a dry run of the service's own checks); the service runs them again on signing and
refuses the preparer with its own message.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import DataTable, Static
from typing_extensions import override

from lottrack.kernel.errors import LotTrackError
from lottrack.records.permissions import CurrentUser
from lottrack.records.signatures import Credentials
from lottrack.storage.db import Database
from lottrack.trial import dispensing, listings
from lottrack.trial.dispensing import CheckOutcome, DispensingResult
from lottrack.trial.listings import AwaitingVerification
from tui.common.trial_screen import TrialScreen, Write, when, zone_name
from tui.pharmacy.arms import ARM_LABELS
from tui.pharmacy.checks import CheckList
from tui.widgets.key_footer import KeyFooter
from tui.widgets.record_table import RecordTable
from tui.widgets.session_header import SessionHeader
from tui.workers import post_if_current


@dataclass
class WaitingLoaded(Message):
    """The dispensings awaiting verification."""

    rows: tuple[AwaitingVerification, ...]


@dataclass
class ChecksReady(Message):
    """Checks 1–3 as they stand now for one dispensing."""

    dispensing_id: int
    checks: tuple[CheckOutcome, ...]
    error: str = ""


class PharmacyVerifyScreen(TrialScreen):
    """The dispensings awaiting a second pharmacist, and checks 1–3 for the highlighted."""

    DESTINATION = "verify"

    HELP = """\
# Second verification (unblinded)

Dispensings prepared by a pharmacist and not yet verified, oldest first. The second
verifier must be a **different person** from the preparer.

* **↑/↓** choose a dispensing; checks **1** (chain of identity), **2** (release) and
  **3** (expiry and thaw) are shown as they stand now.
* **s** signs *second-verified*: the service repeats the three checks and stores them.
  Only then can the ward start the bedside check.
"""

    BINDINGS = [
        Binding("s", "sign", "Sign verification"),
        Binding("r", "reload", "Refresh"),
        Binding("escape", "back", "Back"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[AwaitingVerification] = []
        self.checked: ChecksReady | None = None

    def compose(self) -> ComposeResult:
        """Header, the list, the checks of the highlighted dispensing, the status line."""
        yield SessionHeader()
        with Vertical(id="verify-body", classes="trial-body"):
            yield Static("Second verification", classes="pane-title")
            yield Static(
                "Dispensings awaiting a second pharmacist (not the preparer).", classes="pane-hint"
            )
            table: DataTable[Text] = RecordTable(
                id="verify-table", cursor_type="row", zebra_stripes=True
            )
            yield table
            yield Static("", id="verify-empty", classes="pane-empty")
            yield Static("", id="verify-about", classes="trial-section")
            yield CheckList((1, 2, 3), id="verify-checks")
            yield Static("", id="verify-problems", classes="error")
        # Under the body, not in it: always in sight, however long the body grows.
        yield Static("", id="trial-status", classes="message")
        yield KeyFooter()

    def on_mount(self) -> None:
        """Read the list."""
        self.action_reload()

    def selected(self) -> AwaitingVerification | None:
        """The highlighted dispensing."""
        table: DataTable[Text] = self.query_one("#verify-table", DataTable)
        if not self.rows or table.cursor_row < 0:
            return None
        return self.rows[min(table.cursor_row, len(self.rows) - 1)]

    @override
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Signing needs a dispensing whose checks pass now."""
        if action != "sign":
            return True
        row, checked = self.selected(), self.checked
        if row is None:
            return False
        ok = (
            checked is not None
            and checked.dispensing_id == row.dispensing_id
            and bool(checked.checks)
            and all(c.passed for c in checked.checks)
        )
        return True if ok else None

    # ------------------------------------------------------------------------ loading

    def action_reload(self) -> None:
        """Read the dispensings awaiting verification again."""
        self._load(self.ctx.db, self.who)

    @work(thread=True, exclusive=True, exit_on_error=False, group="load")
    def _load(self, db: Database, who: CurrentUser) -> None:
        with db.reader() as session:
            rows = listings.awaiting_verification(session, who)
        post_if_current(self, WaitingLoaded(tuple(rows)))

    @on(WaitingLoaded)
    def _loaded(self, message: WaitingLoaded) -> None:
        tz = self.ctx.clock().tzinfo
        table: DataTable[Text] = self.query_one("#verify-table", DataTable)
        table.clear(columns=True)
        table.add_columns(
            "Subject",
            "Period",
            "Arm",
            "Kit code",
            "Prepared by",
            f"At {zone_name(tz, self.ctx.clock())}",
        )
        self.rows = list(message.rows)
        for r in self.rows:
            table.add_row(
                Text(r.subject_code),
                Text(str(r.period)),
                Text(ARM_LABELS.get(r.arm, r.arm)),
                Text(r.kit_code),
                Text(r.prepared_by),
                Text(when(r.prepared_at, tz, zone=False)),
            )
        table.display = bool(self.rows)
        empty = self.query_one("#verify-empty", Static)
        empty.display = not self.rows
        empty.update("No dispensing is awaiting verification.")
        if self.rows:
            table.focus()
        self._request_checks()

    @on(DataTable.RowHighlighted, "#verify-table")
    def _highlighted(self) -> None:
        self._request_checks()

    def _request_checks(self) -> None:
        row = self.selected()
        self.checked = None
        about = self.query_one("#verify-about", Static)
        self.query_one("#verify-problems", Static).update("")
        checks = self.query_one("#verify-checks", CheckList)
        checks.display = row is not None
        if row is None:
            about.update("")
            self.refresh_bindings()
            return
        mine = row.prepared_by_id == self.who.id
        about.update(
            Text(
                f"{row.subject_code} (born {row.date_of_birth}) · period {row.period} · kit "
                f"{row.kit_code} · DIN {row.din} — checks now:"
                + (
                    "\nYou prepared this dispensing: another pharmacist must verify it."
                    if mine
                    else ""
                )
            )
        )
        checks.pending(" …")
        self._checks(self.ctx.db, self.who, row.dispensing_id)
        self.refresh_bindings()

    @work(thread=True, exclusive=True, exit_on_error=False, group="checks")
    def _checks(self, db: Database, who: CurrentUser, dispensing_id: int) -> None:
        try:
            with db.reader() as session:
                checks = listings.preview_verification(session, who, dispensing_id)
        except LotTrackError as exc:
            post_if_current(self, ChecksReady(dispensing_id, (), exc.message))
        else:
            post_if_current(self, ChecksReady(dispensing_id, checks))

    @on(ChecksReady)
    def _checks_ready(self, message: ChecksReady) -> None:
        row = self.selected()
        if row is None or row.dispensing_id != message.dispensing_id:
            return
        self.checked = message
        self.query_one("#verify-checks", CheckList).show(message.checks)
        failing = CheckList.failures(message.checks) or message.error
        self.query_one("#verify-problems", Static).update(Text(failing))
        self.refresh_bindings()

    # ------------------------------------------------------------------------ actions

    def action_back(self) -> None:
        """Back to the home screen."""
        self.dismiss()

    def action_sign(self) -> None:
        """Sign ``second-verified`` for the highlighted dispensing."""
        row = self.selected()
        if row is None:
            return
        who, dispensing_id = self.who, row.dispensing_id
        text = (
            f"Second verification of bag {row.kit_code} (DIN {row.din}) for "
            f"{row.subject_code}, period {row.period}, prepared by {row.prepared_by}"
        )

        def make(creds: Credentials) -> Write:
            return lambda s: dispensing.second_verify(s, who, creds, dispensing_id)

        self.sign("second-verified", text, make, self._verified)

    def _verified(self, result: DispensingResult) -> None:
        self.status(f"Verified: kit {result.kit_code} may go to the ward.", success=True)
        self.action_reload()
