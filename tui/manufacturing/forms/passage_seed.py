"""Seed the next passage of a lot: cells, surface area, vessels and the reagent lots used
(picked from those released and not expired)."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from sqlmodel import Session
from textual import on
from textual.app import ComposeResult
from textual.widgets import Input, SelectionList, Static
from textual.widgets.selection_list import Selection

from lottrack.kernel.units import Dim
from lottrack.manufacturing import expansion
from lottrack.records.permissions import CurrentUser
from lottrack.views import listings
from tui.common.form import FormProblem, SaveCall, field_row, grid
from tui.lot.form import LotForm
from tui.widgets.moment_input import MomentField
from tui.widgets.quantity_input import QuantityField


class PassageSeedForm(LotForm):
    """Passage number (the next one), seeded at, cells, area, vessels, reagent lots."""

    FORM_TITLE = "Seed a passage"
    HELP = """\
# Seed a passage

The passage number is the lot's next (P0, P1, … up to the specification's maximum).

* **Cells seeded** is a cell count (`5e6 cells`, `5 × 10^6`); a volume such as `70 mL`
  is refused.
* **Surface area** takes an area (`175 cm²`, `175 cm2`).
* **Reagent lots**: tick (space) every lot used; only released, unexpired lots are
  offered.

The seeding density is computed from cells and area and shown in the batch record.
**ctrl+s** saves; a refusal is shown under the form and nothing is stored.
"""

    def compose_fields(self) -> ComposeResult:
        """The fields."""
        with grid():
            yield from field_row("Passage", Static("", id="passage-number"))
            yield from field_row(
                "Seeded at", MomentField("Seeded at", self.ctx.clock, id="seeded-at")
            )
            yield from field_row(
                "Cells seeded", QuantityField("Cells seeded", Dim.CELLS, id="cells")
            )
            yield from field_row("Surface area", QuantityField("Surface area", Dim.AREA, id="area"))
            yield from field_row(
                "Vessels",
                Input(
                    placeholder="e.g. 1 × CellSTACK-1", compact=True, name="Vessels", id="vessels"
                ),
            )
            yield from field_row(
                "Reagent lots", SelectionList[int](name="Reagent lots", id="reagents", compact=True)
            )
            yield from field_row("", Static("", id="reagents-note", classes="form-note"))

    def load(self, session: Session, who: CurrentUser) -> Any:
        """The lot and the usable reagent lots."""
        return (
            listings.lot_form_context(session, who, self.lot_id),
            listings.reagent_lots(session, who, usable_only=True),
        )

    def apply(self, data: Any) -> None:
        """The passage number and the reagent choices."""
        super().apply(data)
        reagents: list[listings.ReagentRow] = data[1]
        lot = self.lot
        self.query_one("#passage-number", Static).update(
            Text(f"P{lot.next_passage}  (maximum P{lot.max_passage})", style="bold")
        )
        picker: SelectionList[int] = self.query_one("#reagents", SelectionList)
        picker.clear_options()
        for r in reagents:
            if r.kind != "suspension-media":
                # The expiry on a line of its own: a long name does not push it (or the
                # kind) past the edge at 80 columns.
                picker.add_option(
                    (f"{r.name} {r.lot_number} ({r.kind})\nexp. {r.expiry.isoformat()}", r.id)
                )
        if picker.option_count:
            picker.highlighted = 0  # space ticks the first lot at once
        if not picker.option_count:
            self.query_one("#reagents-note", Static).update(
                Text(
                    "No reagent lot is released and in date: QA releases lots on the "
                    "Reagents screen.",
                    style="bold red",
                )
            )
        else:
            self._ticked()

    @on(SelectionList.SelectedChanged, "#reagents")
    def _ticked(self) -> None:
        """Say in words which lots are ticked (the boxes differ only by colour)."""
        picker: SelectionList[int] = self.query_one("#reagents", SelectionList)
        # SelectionList.options is typed as OptionList's; its options are Selections.
        labels = {
            o.value: str(o.prompt).split(" (")[0]
            for o in picker.options
            if isinstance(o, Selection)
        }
        names = [labels[i] for i in picker.selected]
        self.query_one("#reagents-note", Static).update(
            Text("Ticked: " + "; ".join(names))
            if names
            else Text("Space ticks the lot under the cursor; tick every lot used.")
        )

    def collect(self) -> SaveCall:
        """record_passage with the typed values."""
        picker: SelectionList[int] = self.query_one("#reagents", SelectionList)
        chosen = list(picker.selected)
        if not chosen:
            raise FormProblem(
                "Reagent lots: tick every reagent lot used (space ticks).", "Reagent lots"
            )
        seeded = self.query_one("#seeded-at", MomentField).moment()
        cells = self.query_one("#cells", QuantityField).text
        area = self.query_one("#area", QuantityField).text
        vessels = self.query_one("#vessels", Input).value
        lot_id, number = self.lot_id, self.lot.next_passage

        def save(session: Session, who: CurrentUser) -> str:
            expansion.record_passage(
                session,
                who,
                lot_id=lot_id,
                number=number,
                seeded_at=seeded,
                cells_seeded_text=cells,
                area_text=area,
                vessels=vessels,
                reagent_lot_ids=chosen,
            )
            return f"P{number} of lot {self.lot.lot_number} seeded."

        return save
