"""A subject's weights (design §6.8): every weight with its id, newest first, voided ones
marked; record a new one, correct one or void one, each correction and void with a
reason. A correction or void judges again the endotoxin results judged against the old
weight; what followed is shown here in the service's words (the same for both arms)."""

from __future__ import annotations

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.message import Message
from textual.widgets import DataTable, Static
from typing_extensions import override

from lottrack.kernel.units import Dim, format_quantity
from lottrack.records.permissions import CurrentUser
from lottrack.storage.db import Database
from lottrack.trial import weights
from lottrack.trial.weights import WeightChange, WeightRow
from tui.common.trial_screen import TrialScreen
from tui.dialogs.reason import ReasonModal
from tui.dialogs.weight_correction import WeightCorrection, WeightCorrectionModal
from tui.widgets.key_footer import KeyFooter
from tui.widgets.record_table import RecordTable
from tui.widgets.session_header import SessionHeader
from tui.workers import post_if_current


class WeightsRead(Message):
    """The subject's weights, read in a worker."""

    def __init__(self, rows: list[WeightRow]) -> None:
        super().__init__()
        self.rows = rows


class WeightsScreen(TrialScreen):
    """One subject's weights and the keys that change them."""

    HELP = """\
# Weights

Every weight of the subject, newest first, with its id; a voided one stays, marked
VOID with its reason. The dose, the endotoxin limit and the pharmacy's check 4 use the
latest valid weight.

* **a** records a weight (outside 30–200 kg only after a second Enter confirms it).
* **c** corrects the highlighted weight, with a reason.
* **x** voids the highlighted weight, with a reason (refused while an endotoxin result
  would be left without any valid weight: record the right one first).

A correction or void judges again every endotoxin result judged against the old weight;
the line under the table says what followed (an investigation opened, a lot returned to
awaiting release).
"""

    BINDINGS = [
        Binding("a", "record", "Record"),
        Binding("c", "correct", "Correct"),
        Binding("x", "void", "Void"),
        Binding("escape", "back", "Back"),
    ]

    def __init__(self, subject_id: int, subject_code: str) -> None:
        super().__init__()
        self.subject_id = subject_id
        self.subject_code = subject_code
        self.rows: list[WeightRow] = []

    def compose(self) -> ComposeResult:
        """Header, title, the weights, the status line, footer."""
        yield SessionHeader()
        with Vertical(id="weights-body"):
            yield Static(Content(f"Weights of {self.subject_code}"), classes="pane-title")
            table: DataTable[Text] = RecordTable(
                id="weights-table", cursor_type="row", zebra_stripes=True
            )
            table.add_columns("Id", "Measured", "Weight", "Void")
            yield table
            yield Static("", id="trial-status", classes="message")
        yield KeyFooter()

    def on_mount(self) -> None:
        """Read the weights; the table takes the keys."""
        self.query_one("#weights-table").focus()
        self.reload()

    def reload(self) -> None:
        """Read the weights again."""
        self._read(self.ctx.db, self.who)

    @work(thread=True, exclusive=True, exit_on_error=False)
    def _read(self, db: Database, who: CurrentUser) -> None:
        with db.reader() as session:
            rows = weights.weights_of(session, who, self.subject_id)
        post_if_current(self, WeightsRead(rows))

    @on(WeightsRead)
    def _show(self, message: WeightsRead) -> None:
        self.rows = message.rows
        table: DataTable[Text] = self.query_one("#weights-table", DataTable)
        table.clear()
        for row in self.rows:
            table.add_row(
                Text(f"#{row.id}"),
                Text(row.measured_at_text),
                Text(row.weight_text),
                Text(f"VOID: {row.voided_reason}", style="dim")
                if row.voided_reason is not None
                else Text(""),
                key=str(row.id),
            )
        if not self.rows:
            self.status("No weight is recorded yet: press a to record one.")
        self.refresh_bindings()

    def _selected(self) -> WeightRow | None:
        table: DataTable[Text] = self.query_one("#weights-table", DataTable)
        if not self.rows or not 0 <= table.cursor_row < len(self.rows):
            return None
        return self.rows[table.cursor_row]

    @override
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Correct and void a highlighted weight that is not void."""
        if action in ("correct", "void"):
            row = self._selected()
            return row is not None and row.voided_reason is None
        return True

    @on(DataTable.RowHighlighted, "#weights-table")
    def _highlighted(self) -> None:
        self.refresh_bindings()

    def action_back(self) -> None:
        """Back to the list."""
        self.dismiss()

    def action_record(self) -> None:
        """Record a weight (the weight dialog)."""
        from tui.common.weighing import record_weight

        record_weight(self, self.subject_id, self.subject_code, after=self.reload)

    def action_correct(self) -> None:
        """Correct the highlighted weight with a reason."""
        row, who = self._selected(), self.who
        if row is None:
            return

        def typed(entry: WeightCorrection | None) -> None:
            if entry is not None:
                self.write(
                    lambda s: weights.correct_weight(
                        s,
                        who,
                        row.id,
                        weight_text=entry.weight_text,
                        reason=entry.reason,
                        confirm_implausible=entry.confirmed,
                    ),
                    self._changed,
                )

        self.app.push_screen(
            WeightCorrectionModal(self.subject_code, row.id, row.weight_text), typed
        )

    def action_void(self) -> None:
        """Void the highlighted weight with a reason."""
        row, who = self._selected(), self.who
        if row is None:
            return

        def reason(text: str | None) -> None:
            if text is not None:
                self.write(lambda s: weights.void_weight(s, who, row.id, text), self._changed)

        self.app.push_screen(
            ReasonModal(
                f"Void weight #{row.id} of {self.subject_code} ({row.weight_text})",
                "It stays in the record, marked void; no rule uses it.",
                "Void",
            ),
            reason,
        )

    def _changed(self, change: WeightChange) -> None:
        done = (
            "Weight voided."
            if change.weight_kg is None
            else f"Weight corrected to {format_quantity(change.weight_kg, Dim.MASS)}."
        )
        self.status(
            " ".join((done, *change.consequences)),
            success=not change.consequences,
            error=bool(change.consequences),
        )
        self.reload()
