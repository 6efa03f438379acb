"""Formulate a lot's final product into bags; the lot then awaits QA release."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Checkbox, Input

from lottrack.kernel.units import Dim
from lottrack.manufacturing import formulation
from tui.common.form import FormProblem, SaveCall, field_row, grid, service_call
from tui.dialogs.confirm import ConfirmModal
from tui.lot.form import LotForm
from tui.widgets.moment_input import MomentField
from tui.widgets.quantity_input import QuantityField


class FormulationForm(LotForm):
    """Volume per bag, number of bags, storage, fresh or cryopreserved, time."""

    FORM_TITLE = "Formulate the final product"
    SAVE_LABEL = "Formulate"
    HELP = """\
# Formulate

Fills the final product into bags. Needs the last passage harvested and a final-product
count after it without a pending recount. The concentration and viability come from that
count unless typed here. Each bag gets the harvest DIN, the site's product code with a
division, and a random blinded kit code. The lot then **awaits QA release**: no further
passage or count can be added.

A fresh bag expires after the specification's shelf life; a cryopreserved one much
later. **ctrl+s** asks to confirm, then formulates.
"""

    def compose_fields(self) -> ComposeResult:
        """The fields."""
        with grid():
            yield from field_row(
                "Volume per bag", QuantityField("Volume per bag", Dim.VOLUME, id="volume")
            )
            yield from field_row(
                "Bags", Input("1", compact=True, name="Bags", id="bags", type="integer")
            )
            yield from field_row(
                "Storage", Input("2–8 °C", compact=True, name="Storage", id="storage")
            )
            yield from field_row("", Checkbox("Cryopreserved", False, id="cryo", compact=True))
            yield from field_row(
                "Formulated at", MomentField("Formulated at", self.ctx.clock, id="formulated-at")
            )
            yield from field_row(
                "Concentration",
                QuantityField(
                    "Total concentration", Dim.CONCENTRATION, optional=True, id="concentration"
                ),
            )
            yield from field_row(
                "Viability", QuantityField("Viability", Dim.FRACTION, optional=True, id="viability")
            )

    def context_line(self) -> str:
        """Lot, and where concentration and viability come from."""
        return f"{super().context_line()} · blank concentration/viability: from the count"

    def collect(self) -> SaveCall:
        """formulation.formulate with what was typed."""
        bags_text = self.query_one("#bags", Input).value.strip()
        try:
            bags = int(bags_text)
        except ValueError:
            raise FormProblem(
                f'Bags: "{bags_text[:20]}" is not a whole number of bags.', "Bags"
            ) from None
        volume = self.query_one("#volume", QuantityField).text
        storage = self.query_one("#storage", Input).value
        cryo = self.query_one("#cryo", Checkbox).value
        when = self.query_one("#formulated-at", MomentField).value()
        concentration = self.query_one("#concentration", QuantityField).text.strip() or None
        viability = self.query_one("#viability", QuantityField).text.strip() or None
        lot_id = self.lot_id

        def summary(made: formulation.FormulationResult) -> str:
            kits = ", ".join(u.kit_code for u in made.units)
            return (
                f"Lot {self.lot.lot_number} formulated into {len(made.units)} bag(s) "
                f"({kits}); it now awaits QA release."
            )

        return service_call(
            formulation.formulate,
            summary,
            lot_id=lot_id,
            volume_text=volume,
            storage=storage,
            cryopreserve=cryo,
            concentration_text=concentration,
            viability_text=viability,
            bags=bags,
            formulated_at=when,
        )

    def submit(self, call: SaveCall) -> None:
        """Formulating closes the lot to further work: ask first."""
        bags = self.query_one("#bags", Input).value.strip()
        volume = self.query_one("#volume", QuantityField).text.strip()

        def answered(go: bool | None) -> None:
            if go:
                super(FormulationForm, self).submit(call)

        self.app.push_screen(
            ConfirmModal(
                "Formulate the final product?",
                f"Lot {self.lot.lot_number}: fill {bags} bag(s) of {volume}. The lot then awaits "
                "QA release; no further passage or count can be added to it.",
                yes="Formulate",
                no="Not yet",
            ),
            answered,
        )
