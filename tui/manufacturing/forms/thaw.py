"""Thaw a cryopreserved bag, then count it after the thaw (the count form with the bag as
what was counted)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlmodel import Session
from textual.app import ComposeResult
from textual.widgets import Select, Static

from lottrack.manufacturing import formulation, lots
from lottrack.records.permissions import CurrentUser
from tui.common.form import SaveCall, field_row, grid
from tui.manufacturing.forms.bag_form import BagForm
from tui.manufacturing.forms.count import CountForm
from tui.widgets.moment_input import MomentField


class ThawForm(BagForm):
    """When the bag was thawed."""

    FORM_TITLE = "Thaw a cryopreserved bag"
    SAVE_LABEL = "Record thaw"
    HELP = """\
# Thaw a bag

Records when a cryopreserved bag was thawed (once; not before it was formulated, not
after it expired). From then on it must be infused within the specification's thaw
limit: the pharmacy checks refuse it afterwards.

Count it after the thaw: on the Bags tab, **k** opens the count form for the thawed bag.
"""

    def compose_fields(self) -> ComposeResult:
        """The bag and the time."""
        with grid():
            yield from field_row("Bag", Static("", id="bag"))
            yield from field_row(
                "Thawed at", MomentField("Thawed at", self.ctx.clock, id="thawed-at")
            )

    def collect(self) -> SaveCall:
        """formulation.record_thaw at the time typed."""
        thawed = self.query_one("#thawed-at", MomentField).moment()
        unit_id, lot_id, kit, zone = self.unit_id, self.lot_id, self.bag.kit_code, self.lot.timezone

        def save(session: Session, who: CurrentUser) -> str:
            formulation.record_thaw(session, who, unit_id, thawed)
            spec = lots.lot_spec(session, lots.get_lot(session, lot_id))
            until = thawed + dt.timedelta(minutes=spec.thaw_max_minutes)
            return (
                f"Bag {kit} thawed at {thawed.astimezone(zone):%H:%M %Z}; infuse by "
                f"{until.astimezone(zone):%H:%M} ({spec.thaw_max_minutes:g} min). "
                "k records its post-thaw count."
            )

        return save


class PostThawCountForm(CountForm):
    """The count form, counting one thawed bag."""

    FORM_TITLE = "Record a post-thaw count"
    HELP = """\
# Post-thaw count

Counts a thawed bag (what was counted is the bag; it cannot be changed here), after its
thaw. **Hemocytometer**: live and dead cells, large squares and dilution per replicate;
**automated**: the total concentration and viability the counter printed. The
specification's minimum number of replicates and maximum CV apply; a count whose CV is
too high is stored flagged **RECOUNT**. **ctrl+s** saves.
"""

    def __init__(self, lot_id: int, unit_id: int, kit_code: str) -> None:
        super().__init__(lot_id)
        self.unit_id = unit_id
        self.kit_code = kit_code

    def apply(self, data: Any) -> None:
        """What was counted: this bag, after its thaw."""
        super().apply(data)
        target = self.query_one("#target", Select)
        target.set_options([(f"Bag {self.kit_code} after thaw", f"unit:{self.unit_id}")])
        target.value = f"unit:{self.unit_id}"
