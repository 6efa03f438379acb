"""Record a cell count: what was counted, the method, and the replicates — with the
hemocytometer calculator showing concentration, viability and CV as they are typed."""

from __future__ import annotations

from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.widgets import Label, RadioButton, RadioSet, Select

from lottrack.manufacturing import counts
from tui.common.form import FormProblem, SaveCall, field_row, grid, service_call
from tui.lot.form import LotForm
from tui.widgets.automated_counts import AutomatedCounts
from tui.widgets.hemocytometer import HemocytometerCalculator
from tui.widgets.moment_input import MomentField

FINAL = "final-product"


class CountForm(LotForm):
    """Counted (a passage harvest or the final product), method, time, replicates."""

    FORM_TITLE = "Record a cell count"
    HELP = """\
# Record a cell count

Pick what was counted (the harvest of a passage, or the final product before
formulation) and the method.

**Hemocytometer** (trypan blue): for each replicate type the live and dead cells counted,
the number of large squares and the dilution factor. Each row shows its viable
concentration (mean cells per square × dilution × 10⁴ /mL) and viability; below, the
mean, the viability and the CV of the replicates.

**Automated**: type the total concentration and viability the counter printed.

The specification asks for a minimum number of replicates and a maximum CV. A count
whose CV is too high is still stored, flagged **RECOUNT**: formulation and release wait
for a conforming recount. **ctrl+s** saves.
"""

    def compose_fields(self) -> ComposeResult:
        """What, method, when, then the replicate area."""
        with grid():
            yield from field_row(
                "Counted",
                Select[str](
                    [], prompt="What was counted", name="Counted", id="target", compact=True
                ),
            )
            yield Label("Method", classes="form-label", id="label-method")
            with RadioSet(name="Method", id="method", compact=True):
                yield RadioButton("hemocytometer", True, name=counts.HEMOCYTOMETER)
                yield RadioButton("automated", name=counts.AUTOMATED)
            yield from field_row(
                "Counted at", MomentField("Counted at", self.ctx.clock, id="counted-at")
            )
        yield HemocytometerCalculator(id="hemocytometer")
        yield AutomatedCounts(id="automated")

    def on_mount(self) -> None:
        """Method choice; the automated rows wait until chosen."""
        super().on_mount()
        self.query_one("#automated").display = False

    def apply(self, data: Any) -> None:
        """Targets from the lot's harvested passages; the specification's limits."""
        super().apply(data)
        lot = self.lot
        options = [("Final product", FINAL)] + [
            (f"Harvest of {p.label}", f"passage:{p.id}")
            for p in reversed(lot.passages)
            if p.harvested_at is not None
        ]
        target = self.query_one("#target", Select)
        target.set_options(options)
        target.value = FINAL
        self.query_one(HemocytometerCalculator).set_limits(
            replicates=lot.min_replicates,
            max_cv_pct=lot.max_cv_pct,
            decimal_separator=lot.decimal_separator,
        )
        automated = self.query_one(AutomatedCounts)
        automated.max_cv_pct, automated.decimal_separator = (lot.max_cv_pct, lot.decimal_separator)

    def context_line(self) -> str:
        """Lot and the specification's count rules."""
        lot = self.lot
        return (
            f"{super().context_line()} · ≥ {lot.min_replicates} replicates, "
            f"CV ≤ {lot.max_cv_pct:g} %"
        )

    def method(self) -> str:
        """The chosen counting method."""
        pressed = self.query_one("#method", RadioSet).pressed_button
        return pressed.name if pressed is not None and pressed.name else counts.HEMOCYTOMETER

    @on(RadioSet.Changed, "#method")
    def _method_changed(self) -> None:
        hemocytometer = self.method() == counts.HEMOCYTOMETER
        self.query_one("#hemocytometer").display = hemocytometer
        self.query_one("#automated").display = not hemocytometer

    def collect(self) -> SaveCall:
        """record_count with the replicates read from the calculator."""
        target = self.query_one("#target", Select).value
        if not isinstance(target, str):
            raise FormProblem("Counted: pick what was counted.", "Counted")
        method = self.method()
        reps: list[Any]
        if method == counts.HEMOCYTOMETER:
            reps = list(self.query_one(HemocytometerCalculator).replicates())
        else:
            reps = list(self.query_one(AutomatedCounts).replicates())
        counted = self.query_one("#counted-at", MomentField).moment()
        passage_id = int(target.split(":")[1]) if target.startswith("passage:") else None
        unit_id = int(target.split(":")[1]) if target.startswith("unit:") else None
        kind = (
            counts.PASSAGE_HARVEST
            if passage_id
            else counts.POST_THAW
            if unit_id
            else counts.FINAL_PRODUCT
        )
        lot_id, lot_number = self.lot_id, self.lot.lot_number

        def summary(result: counts.CountResult) -> str:
            flag = (
                f" CV {result.cv_pct:.1f} % exceeds {result.max_cv_pct:g} %: RECOUNT required."
                if result.recount_required
                else ""
            )
            return f"Count of lot {lot_number} recorded ({result.replicates} replicates).{flag}"

        return service_call(
            counts.record_count,
            summary,
            lot_id=lot_id,
            target=kind,
            passage_id=passage_id,
            unit_id=unit_id,
            method=method,
            counted_at=counted,
            replicates=reps,
        )
