"""What a person does from a lot's batch record to one entry already recorded: correct a
passage, void a count, record a bag's move, thaw a cryopreserved bag and count it after
the thaw.

The entry is the row under the cursor of the focused table. The footer offers a key
only when it fits that row, the lot's state and the person's roles (the permission
table of :mod:`lottrack.permissions`); the services check all of it again.
"""

from __future__ import annotations

from textual import on, work
from textual.binding import Binding
from textual.widgets import DataTable
from textual.widgets.data_table import CellDoesNotExist
from typing_extensions import override

from lottrack import counts, expansion, formulation, listings, lots
from lottrack.db import Database
from lottrack.errors import LotTrackError
from lottrack.permissions import Action, CurrentUser
from tui.screens.base import AppScreen
from tui.screens.lot_detail_data import LotDetail

BINDINGS = [
    Binding("e", "correct", "Correct"),
    Binding("x", "void", "Void"),
    Binding("m", "custody", "Custody"),
    Binding("w", "thaw", "Thaw"),
    Binding("k", "post_thaw_count", "Post-thaw count"),
]
ACTIONS = frozenset(b.action for b in BINDINGS)
CUSTODY_ACTIONS = (Action.RECORD_MANUFACTURING, Action.DISPENSE, Action.RECORD_INFUSION)
"""Who may record a move of a bag (lottrack.formulation.record_custody)."""
THAW_ACTIONS = (Action.RECORD_MANUFACTURING, Action.DISPENSE)
"""Who may record a thaw (lottrack.formulation.record_thaw)."""

HELP = """\
## Correcting the record

Move the cursor to the entry in its table, then:

* **e** (Passages tab) corrects the passage: its form opens with the recorded values;
  saving asks why. A correction of a released lot sends it back to awaiting release and
  its release signature shows INVALIDATED.
* **x** (Counts tab) voids a count, with a reason. It stays in the table marked VOID and
  no longer counts; record a recount with **c**. Counts of a passage or the final product
  can be voided while the lot is in process, post-thaw counts at any time.
* A QC result is not edited: record a **retest** with **t** (the first result stays,
  shown superseded).

## Bags

On the Bags tab, with the cursor on a bag: **m** records a move (chain of custody),
**w** records the thaw of a cryopreserved bag, and **k** counts a thawed bag.
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

    def selected_passage(self) -> expansion.PassageRow | None:
        """The passage under the cursor of the passage table."""
        key = self._selected("lot-passages")
        return next((p for p in self.lot.passages if str(p.id) == key), None) if (
            key and self.lot) else None

    def selected_count(self) -> listings.CountRow | None:
        """The count under the cursor (a replicate row stands for its count)."""
        key = self._selected("lot-counts")
        if not key or self.lot is None:
            return None
        count_id = key.split("-")[1]
        return next((c for c in self.lot.counts if str(c.id) == count_id), None)

    def selected_bag(self) -> formulation.UnitInfo | None:
        """The bag under the cursor of the bag table."""
        key = self._selected("lot-bags")
        return next((b for b in self.lot.bags if str(b.id) == key), None) if (
            key and self.lot) else None

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
        if action == "correct":
            return ctx.can(Action.RECORD_MANUFACTURING) and self.selected_passage() is not None
        if action == "void":
            count = self.selected_count()
            return (ctx.can(Action.RECORD_MANUFACTURING) and count is not None
                    and count.voided_reason is None
                    and (count.target == counts.POST_THAW
                         or lot.summary.status == lots.IN_PROCESS))
        bag = self.selected_bag()
        if bag is None:
            return False
        if action == "custody":
            return any(ctx.can(a) for a in CUSTODY_ACTIONS)
        if action == "thaw":
            return (any(ctx.can(a) for a in THAW_ACTIONS) and bag.cryopreserved
                    and bag.thawed_at is None and bag.status == formulation.AVAILABLE)
        return ctx.can(Action.RECORD_MANUFACTURING) and bag.thawed_at is not None

    # ---------------------------------------------------------------------- actions

    def action_correct(self) -> None:
        """Open the selected passage's correction form."""
        from tui.screens.forms.correction import PassageCorrectionForm

        passage = self.selected_passage()
        if passage is not None:
            self.app.push_screen(PassageCorrectionForm(self.lot_id, passage.id))

    def action_void(self) -> None:
        """Void the selected count, once a reason is given."""
        from tui.modals.reason import ReasonModal

        count = self.selected_count()
        if count is None or self.lot is None:
            return
        what = (f"{count.passage_label} harvest" if count.passage_label else count.target)
        counted = count.counted_at.astimezone(self.ctx.clock().tzinfo)
        name = f"the {what} count of {counted:%Y-%m-%d %H:%M}"

        def reasoned(reason: str | None) -> None:
            if reason and self.ctx.user is not None:
                self._void(self.ctx.db, self.ctx.user, count.id, name, reason)

        self.app.push_screen(ReasonModal(
            f"Void {name}",
            f"The count stays in the batch record of lot {self.lot.summary.lot_number}, "
            "marked VOID with your reason, and no longer counts. Why is it voided?",
            "Void count"), reasoned)

    @work(thread=True, exclusive=True, exit_on_error=False, group="void")
    def _void(self, db: Database, who: CurrentUser, count_id: int, name: str,
              reason: str) -> None:
        try:
            with db.session() as session:
                counts.void_count(session, who, count_id, reason)
        except LotTrackError as exc:
            self.app.call_from_thread(self.app.notify, exc.message, title=exc.title,
                                      severity="error", timeout=10, markup=False)
            return
        self.app.call_from_thread(self._voided, name)

    def _voided(self, name: str) -> None:
        self.notify(f"Voided {name}.", title="Voided", markup=False)
        self.action_reload()

    def action_custody(self) -> None:
        """Record a move of the selected bag."""
        from tui.screens.forms.custody import CustodyForm

        bag = self.selected_bag()
        if bag is not None:
            self.app.push_screen(CustodyForm(self.lot_id, bag.id))

    def action_thaw(self) -> None:
        """Record the thaw of the selected bag."""
        from tui.screens.forms.thaw import ThawForm

        bag = self.selected_bag()
        if bag is not None:
            self.app.push_screen(ThawForm(self.lot_id, bag.id))

    def action_post_thaw_count(self) -> None:
        """Count the selected (thawed) bag."""
        from tui.screens.forms.thaw import PostThawCountForm

        bag = self.selected_bag()
        if bag is not None:
            self.app.push_screen(PostThawCountForm(self.lot_id, bag.id, bag.kit_code))
