"""Harvest the open passage of a lot: time, cells harvested, viability."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from sqlmodel import Session
from textual.app import ComposeResult
from textual.widgets import Static

from lottrack.kernel.units import Dim
from lottrack.manufacturing import expansion
from lottrack.records.permissions import CurrentUser
from tui.common.form import FormProblem, SaveCall, field_row, grid
from tui.lot.form import LotForm
from tui.widgets.moment_input import MomentField
from tui.widgets.quantity_input import QuantityField


class PassageHarvestForm(LotForm):
    """Harvested at, cells harvested, viability of the seeded passage."""

    FORM_TITLE = "Harvest a passage"
    HELP = """\
# Harvest a passage

Records the harvest of the passage that is seeded and not yet harvested.

* **Cells harvested** is a cell count (`4.0e7 cells`).
* **Viability** is a percentage (`95 %`).

Population doublings, cumulative PD and doubling time are computed from these values
and shown in the batch record. **ctrl+s** saves.
"""

    def compose_fields(self) -> ComposeResult:
        """The fields."""
        with grid():
            yield from field_row("Passage", Static("", id="passage"))
            yield from field_row(
                "Harvested at", MomentField("Harvested at", self.ctx.clock, id="harvested-at")
            )
            yield from field_row(
                "Cells harvested", QuantityField("Cells harvested", Dim.CELLS, id="cells")
            )
            yield from field_row(
                "Viability", QuantityField("Viability", Dim.FRACTION, id="viability")
            )

    def apply(self, data: Any) -> None:
        """Name the passage being harvested."""
        super().apply(data)
        open_passage = self.lot.open_passage
        tz = self.ctx.clock().tzinfo
        self.query_one("#passage", Static).update(
            Text(
                f"{open_passage.label}, seeded "
                f"{open_passage.seeded_at.astimezone(tz):%Y-%m-%d %H:%M %Z}",
                style="bold",
            )
            if open_passage
            else Text("No passage is waiting for its harvest.", style="red")
        )

    def collect(self) -> SaveCall:
        """record_passage_harvest with the typed values."""
        passage = self.lot.open_passage
        if passage is None:
            raise FormProblem("No passage of this lot is seeded and waiting for its harvest.")
        harvested = self.query_one("#harvested-at", MomentField).moment()
        cells = self.query_one("#cells", QuantityField).text
        viability = self.query_one("#viability", QuantityField).text

        def save(session: Session, who: CurrentUser) -> str:
            expansion.record_passage_harvest(
                session,
                who,
                passage_id=passage.id,
                harvested_at=harvested,
                cells_harvested_text=cells,
                viability_text=viability,
            )
            return f"Harvest of {passage.label} of lot {self.lot.lot_number} recorded."

        return save
