"""What a person does from a lot's batch record to one entry already recorded: correct a
passage, void a count, correct or void a QC result, record a bag's move, thaw a
cryopreserved bag and count it after the thaw.

The entry is the row under the cursor of the focused table. The footer offers a key
only when it fits that row, the lot's state and the person's roles (the permission
table of :mod:`lottrack.records.permissions`); the services check all of it again.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlmodel import Session
from textual import on, work
from textual.binding import Binding
from textual.widgets import DataTable
from textual.widgets.data_table import CellDoesNotExist
from typing_extensions import override

from lottrack.kernel.errors import LotTrackError
from lottrack.manufacturing import counts, formulation, lots, passage_table, qc
from lottrack.records.permissions import MASKED, Action, CurrentUser
from lottrack.storage.db import Database
from lottrack.views import listings
from tui.common.screen import AppScreen
from tui.lot.detail_data import LotDetail

BINDINGS = [
    Binding("e", "correct", "Correct"),
    Binding("x", "void", "Void"),
    Binding("m", "custody", "Custody"),
    Binding("w", "thaw", "Thaw"),
    Binding("k", "post_thaw_count", "Post-thaw count"),
]
ACTIONS = frozenset(b.action for b in BINDINGS)
CUSTODY_ACTIONS = (Action.RECORD_MANUFACTURING, Action.DISPENSE, Action.RECORD_INFUSION)
"""Who may record a move of a bag (lottrack.manufacturing.formulation.record_custody)."""
THAW_ACTIONS = (Action.RECORD_MANUFACTURING, Action.DISPENSE)
"""Who may record a thaw (lottrack.manufacturing.formulation.record_thaw)."""

HELP = """\
## Correcting the record

Move the cursor to the entry in its table, then:

* **e** (Passages tab) corrects the passage: its form opens with the recorded values;
  saving asks why. A correction of a released lot sends it back to awaiting release and
  its release signature shows INVALIDATED.
* **x** (Counts tab) voids a count, with a reason. It stays in the table marked VOID and
  no longer counts; record a recount with **c**. Counts of a passage or the final product
  can be voided while the lot is in process, post-thaw counts at any time.
* **e** (QC tab) corrects the result under the cursor when it was typed wrong: its form
  opens with the recorded value, method and time; saving asks why, and the result is
  judged again. **x** voids a result that should not count (wrong sample, wrong lot),
  with a reason: it stays in the table marked VOID, and a required test then counts as
  missing until a new result is recorded. Both are possible until the lot is rejected;
  on a released lot they send it back to awaiting release and its release signature
  shows INVALIDATED.
* A new measurement is not a correction: record a **retest** with **t** (the first
  result stays, shown superseded).

## Bags

On the Bags tab, with the cursor on a bag: **m** records a move (chain of custody),
**w** records the thaw of a cryopreserved bag, and **k** counts a thawed bag. From a
lot's first release on, its bags are the pharmacy's: the lab neither moves nor thaws
them.
"""


class LotRecordActions(AppScreen):
    """The batch-record screen's actions on the entry under the cursor."""

    lot: LotDetail | None
    lot_id: int

    def action_reload(self) -> None:
        """Read the lot again (the batch-record screen reads it)."""
        raise NotImplementedError

    # ----------------------------------------------------------- the entry selected

    def _selected(self, table_id: str) -> str | None:
        """The key of the row under the cursor when table ``table_id`` has the focus."""
        table = self.focused
        if not isinstance(table, DataTable) or table.id != table_id or not table.row_count:
            return None
        try:
            key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        except CellDoesNotExist:
            return None
        return key

    def selected_passage(self) -> passage_table.PassageRow | None:
        """The passage under the cursor of the passage table."""
        key = self._selected("lot-passages")
        return (
            next((p for p in self.lot.passages if str(p.id) == key), None)
            if (key and self.lot)
            else None
        )

    def selected_count(self) -> listings.CountRow | None:
        """The count under the cursor (a replicate row stands for its count)."""
        key = self._selected("lot-counts")
        if not key or self.lot is None:
            return None
        count_id = key.split("-")[1]
        return next((c for c in self.lot.counts if str(c.id) == count_id), None)

    def selected_result(self) -> qc.QCRow | None:
        """The QC result under the cursor of the QC table."""
        key = self._selected("lot-qc")
        return (
            next((r for r in self.lot.results if str(r.id) == key), None)
            if (key and self.lot)
            else None
        )

    def selected_bag(self) -> formulation.UnitInfo | None:
        """The bag under the cursor of the bag table."""
        key = self._selected("lot-bags")
        return (
            next((b for b in self.lot.bags if str(b.id) == key), None)
            if (key and self.lot)
            else None
        )

    @on(DataTable.RowHighlighted)
    def _row_moved(self) -> None:
        """The keys in the footer follow the entry under the cursor."""
        self.refresh_bindings()

    # -------------------------------------------------------------- what is offered

    @override
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Offer a key only where the entry, the lot's state and the roles allow it."""
        del parameters
        if action not in ACTIONS:
            return True
        lot, ctx = self.lot, self.ctx
        if lot is None:
            return False
        if action in ("correct", "void"):
            if not ctx.can(Action.RECORD_MANUFACTURING):
                return False
            result = self.selected_result()
            if result is not None:
                return result.voided_reason is None and lot.summary.status in qc.QC_CORRECTABLE
        if action == "correct":
            return self.selected_passage() is not None
        if action == "void":
            count = self.selected_count()
            return (
                count is not None
                and count.voided_reason is None
                and (count.target == counts.POST_THAW or lot.summary.status == lots.IN_PROCESS)
            )
        bag = self.selected_bag()
        if bag is None:
            return False
        # From a lot's first release on the pharmacy, not the lab, moves and thaws its
        # bags (the services refuse the lab, in the same words for both arms).
        unblinded = ctx.user is not None and ctx.user.unblinded
        lab_barred = lot.summary.ever_released and not unblinded
        if action == "custody":
            return any(ctx.can(a) for a in CUSTODY_ACTIONS) and not lab_barred
        if action == "thaw":
            return (
                any(ctx.can(a) for a in THAW_ACTIONS)
                and not lab_barred
                and bag.cryopreserved
                and bag.thawed_at is None
                and bag.status in (formulation.AVAILABLE, MASKED)
            )
        return ctx.can(Action.RECORD_MANUFACTURING) and bag.thawed_at is not None

    # ---------------------------------------------------------------------- actions

    def action_correct(self) -> None:
        """Open the correction form of the selected passage or QC result."""
        from tui.manufacturing.forms.correction import PassageCorrectionForm, QCCorrectionForm

        passage, result = self.selected_passage(), self.selected_result()
        if passage is not None:
            self.app.push_screen(PassageCorrectionForm(self.lot_id, passage.id))
        elif result is not None:
            self.app.push_screen(QCCorrectionForm(self.lot_id, result.id))

    def action_void(self) -> None:
        """Void the selected count or QC result, once a reason is given."""
        count, result = self.selected_count(), self.selected_result()
        if self.lot is None:
            return
        lot_number = self.lot.summary.lot_number
        if count is not None:
            what = f"{count.passage_label} harvest" if count.passage_label else count.target
            counted = count.counted_at.astimezone(self.ctx.clock().tzinfo)
            count_id = count.id
            self._ask_void(
                f"the {what} count of {counted:%Y-%m-%d %H:%M}",
                f"The count stays in the batch record of lot {lot_number}, marked VOID with "
                "your reason, and no longer counts. Why is it voided?",
                "Void count",
                lambda session, who, reason: counts.void_count(session, who, count_id, reason),
            )
        elif result is not None:
            tested = result.tested_at.astimezone(self.ctx.clock().tzinfo)
            result_id = result.id
            then = (
                f" Lot {lot_number} is {self.lot.summary.status}: voiding sends it back "
                "to awaiting release and invalidates its release signature."
                if self.lot.summary.status in lots.RELEASED_STATES
                else ""
            )
            missing = (
                " A required test without another result counts as missing for release."
                if result.required
                else ""
            )
            self._ask_void(
                f"the {result.test_name} result {result.value_text} of {tested:%Y-%m-%d %H:%M}",
                f"The result stays in the batch record of lot {lot_number}, marked VOID with "
                f"your reason, and no longer counts.{missing}{then} Why is it voided?",
                "Void result",
                lambda session, who, reason: qc.void_result(session, who, result_id, reason),
            )

    def _ask_void(
        self,
        name: str,
        question: str,
        confirm: str,
        void: Callable[[Session, CurrentUser, str], None],
    ) -> None:
        from tui.dialogs.reason import ReasonModal

        def reasoned(reason: str | None) -> None:
            if reason and self.ctx.user is not None:
                self._void(self.ctx.db, self.ctx.user, void, name, reason)

        self.app.push_screen(ReasonModal(f"Void {name}", question, confirm), reasoned)

    @work(thread=True, exclusive=True, exit_on_error=False, group="void")
    def _void(
        self,
        db: Database,
        who: CurrentUser,
        void: Callable[[Session, CurrentUser, str], None],
        name: str,
        reason: str,
    ) -> None:
        try:
            with db.session() as session:
                void(session, who, reason)
        except LotTrackError as exc:
            self.app.call_from_thread(
                self.app.notify,
                exc.message,
                title=exc.title,
                severity="error",
                timeout=10,
                markup=False,
            )
            return
        self.app.call_from_thread(self._voided, name)

    def _voided(self, name: str) -> None:
        self.notify(f"Voided {name}.", title="Voided", markup=False)
        self.action_reload()

    def action_custody(self) -> None:
        """Record a move of the selected bag."""
        from tui.manufacturing.forms.custody import CustodyForm

        bag = self.selected_bag()
        if bag is not None:
            self.app.push_screen(CustodyForm(self.lot_id, bag.id))

    def action_thaw(self) -> None:
        """Record the thaw of the selected bag."""
        from tui.manufacturing.forms.thaw import ThawForm

        bag = self.selected_bag()
        if bag is not None:
            self.app.push_screen(ThawForm(self.lot_id, bag.id))

    def action_post_thaw_count(self) -> None:
        """Count the selected (thawed) bag."""
        from tui.manufacturing.forms.thaw import PostThawCountForm

        bag = self.selected_bag()
        if bag is not None:
            self.app.push_screen(PostThawCountForm(self.lot_id, bag.id, bag.kit_code))
