"""The dose rule and the endotoxin limit (design §5), decided in exact arithmetic.

Decisions on a limit are made in exact rational arithmetic on the decimal value of each
float (``repr``, i.e. what was typed), never on binary floating point: 1.4 × 10⁸ cells
for 70 kg is exactly 2.0 × 10⁶ cells/kg and therefore inside a window whose upper edge is
2.0 × 10⁶. Inputs and outputs are floats in the canonical units of :mod:`lottrack.kernel.units`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Literal

from lottrack.kernel.calc_inputs import checked_number, exact_value
from lottrack.kernel.errors import ValidationError
from lottrack.kernel.units import Dim, format_quantity, format_quantity_range, round_significant

ENDOTOXIN_K_EU_PER_KG = 5.0
"""Threshold pyrogenic dose K for intravenous products (USP <85>, Ph. Eur. 5.1.10)."""


# --- dose ------------------------------------------------------------------------------


@dataclass(frozen=True)
class DoseWindow:
    """Inclusive dose window in viable cells/kg (trial protocol: 1.0–2.0 × 10⁶)."""

    min: float = 1.0e6
    max: float = 2.0e6

    def __post_init__(self) -> None:
        checked_number(self.min, "Minimum dose", minimum="positive")
        checked_number(self.max, "Maximum dose", minimum="positive")
        if self.min > self.max:
            raise ValidationError(
                f"Dose window: minimum {format_quantity(self.min, Dim.DOSE)} is above maximum "
                f"{format_quantity(self.max, Dim.DOSE)}.",
                field="Minimum dose",
            )

    def position_of(self, dose: Fraction | float) -> Literal["below", "inside", "above"]:
        """Where an exact dose lies, edges inclusive."""
        exact = dose if isinstance(dose, Fraction) else exact_value(dose)
        if exact < exact_value(self.min):
            return "below"
        if exact > exact_value(self.max):
            return "above"
        return "inside"

    def contains(self, dose: float) -> bool:
        """True when ``dose`` is inside the window, both edges included."""
        return self.position_of(dose) == "inside"


DEFAULT_DOSE_WINDOW = DoseWindow()


@dataclass(frozen=True)
class DoseResult:
    """Dose of a bag for a weight, against a window. Out of window is reported, never
    clamped; the volume range is given when the concentration is known."""

    weight_kg: float
    viable_cells: float
    dose_cells_per_kg: float
    window: DoseWindow
    position: Literal["below", "inside", "above"]
    concentration_cells_per_ml: float | None = None
    volume_ml: float | None = None
    viability_percent: float | None = None
    volume_ml_min: float | None = None
    volume_ml_max: float | None = None

    @property
    def within(self) -> bool:
        """True when the dose is inside the window (edges included)."""
        return self.position == "inside"


def _float_inside(exact: Fraction, direction: float) -> float | None:
    """Nearest float to ``exact`` whose decimal value is not beyond it (towards direction);
    None beyond the largest float (no such volume exists)."""
    try:
        value = float(exact)
    except OverflowError:
        return None
    while (exact_value(value) - exact) * direction < 0:
        value = math.nextafter(value, direction * math.inf)
        if math.isinf(value):
            return None
    return value


def weights_inside_window(
    viable_cells: float, window: DoseWindow = DEFAULT_DOSE_WINDOW
) -> tuple[float, float] | None:
    """The body weights (kg) for which ``viable_cells`` give a dose inside ``window``:
    cells ÷ maximum to cells ÷ minimum, the ends rounded inwards (so that both ends give a
    dose inside the window); None beyond the largest float."""
    cells = exact_value(checked_number(viable_cells, "Viable cells", minimum="positive"))
    low = _float_inside(cells / exact_value(window.max), +1.0)
    high = _float_inside(cells / exact_value(window.min), -1.0)
    return None if low is None or high is None else (low, high)


def _float(exact: Fraction, label: str) -> float:
    """``exact`` as a float, refused (naming ``label``) beyond the largest float: the
    numbers typed multiply or divide to something no record can hold."""
    try:
        return float(exact)
    except OverflowError:
        raise ValidationError(
            f"{label}: the numbers given make it larger than any number "
            "that can be stored; check what was typed.",
            field=label,
        ) from None


def viable_cells_in_bag(
    concentration_cells_per_ml: float, volume_ml: float, viability_percent: float
) -> float:
    """Viable cells = concentration × volume × viability fraction."""
    conc = checked_number(concentration_cells_per_ml, "Concentration", minimum="positive")
    volume = checked_number(volume_ml, "Volume", minimum="positive")
    viability = _viability(viability_percent)
    return _float(
        exact_value(conc) * exact_value(volume) * exact_value(viability) / 100, "Viable cells"
    )


def _viability(viability_percent: float) -> float:
    viability = checked_number(viability_percent, "Viability", minimum="positive")
    if viability > 100:
        raise ValidationError(f"Viability: {viability:g} % is above 100 %.", field="Viability")
    return viability


def check_dose(
    *,
    weight_kg: float,
    viable_cells: float | None = None,
    concentration_cells_per_ml: float | None = None,
    volume_ml: float | None = None,
    viability_percent: float | None = None,
    window: DoseWindow = DEFAULT_DOSE_WINDOW,
) -> DoseResult:
    """Dose = viable cells ÷ weight, checked against ``window`` (inclusive, exact).

    Give either ``viable_cells`` or ``concentration_cells_per_ml`` with ``volume_ml`` and
    ``viability_percent`` (required: viable cells are never computed on an assumed 100 %
    viability). With a concentration the result also
    carries the volume range (mL) that puts the dose inside the window; its ends are
    rounded inwards, so both ends give a dose inside the window.
    """
    weight = exact_value(checked_number(weight_kg, "Weight", minimum="positive"))
    if viable_cells is not None and concentration_cells_per_ml is not None:
        raise ValidationError(
            "Dose: give either the viable cells or the concentration with the volume, not both.",
            field="Viable cells",
        )
    if viable_cells is not None:
        if volume_ml is not None or viability_percent is not None:
            raise ValidationError(
                "Dose: volume and viability go with a concentration, not with a viable-cell count.",
                field="Volume",
            )
        cells = exact_value(checked_number(viable_cells, "Viable cells", minimum="positive"))
        dose = cells / weight
        return DoseResult(
            weight_kg=float(weight),
            viable_cells=float(cells),
            dose_cells_per_kg=_float(dose, "Dose"),
            window=window,
            position=window.position_of(dose),
        )
    if concentration_cells_per_ml is None:
        raise ValidationError(
            "Dose: give either the viable cells or the concentration with the volume.",
            field="Viable cells",
        )
    if volume_ml is None:
        raise ValidationError(
            "Volume: missing; a concentration needs the volume of the bag.", field="Volume"
        )
    if viability_percent is None:
        raise ValidationError(
            "Viability: missing; viable cells from a concentration need the "
            "viability (a total count is not assumed all viable).",
            field="Viability",
        )
    conc = exact_value(
        checked_number(concentration_cells_per_ml, "Concentration", minimum="positive")
    )
    volume = exact_value(checked_number(volume_ml, "Volume", minimum="positive"))
    viability = exact_value(_viability(viability_percent))
    viable_per_ml = conc * viability / 100
    cells = viable_per_ml * volume
    dose = cells / weight
    return DoseResult(
        weight_kg=float(weight),
        viable_cells=_float(cells, "Viable cells"),
        dose_cells_per_kg=_float(dose, "Dose"),
        window=window,
        position=window.position_of(dose),
        concentration_cells_per_ml=float(conc),
        volume_ml=float(volume),
        viability_percent=float(viability),
        volume_ml_min=_float_inside(exact_value(window.min) * weight / viable_per_ml, +1.0),
        volume_ml_max=_float_inside(exact_value(window.max) * weight / viable_per_ml, -1.0),
    )


def _dose_digits(result: DoseResult, sig: int = 3) -> int:
    """Enough digits that the printed dose is on the same side of the window as the dose."""
    for digits in range(sig, 16):
        if (
            result.window.position_of(round_significant(result.dose_cells_per_kg, digits))
            == result.position
        ):
            return digits
    return 15


def describe_dose(result: DoseResult, *, decimal_separator: str = ".", label: str = "Dose ") -> str:
    """One line a pharmacist reads: ``Dose 1.72 × 10⁶ cells/kg — inside the window
    1.00–2.00 × 10⁶ cells/kg`` (more digits when 3 would hide which side it is on);
    ``label=""`` when the line continues a sentence (``… ÷ 71 kg = 1.80 × 10⁶ …``)."""
    dose = format_quantity(
        result.dose_cells_per_kg,
        Dim.DOSE,
        sig=_dose_digits(result),
        decimal_separator=decimal_separator,
    )
    window = format_quantity_range(
        result.window.min, result.window.max, Dim.DOSE, decimal_separator=decimal_separator
    )
    where = {"inside": "inside", "below": "BELOW", "above": "ABOVE"}[result.position]
    return f"{label}{dose} — {where} the window {window}"


# --- endotoxin -------------------------------------------------------------------------


@dataclass(frozen=True)
class EndotoxinLimit:
    """Endotoxin limit of a bag: K × weight ÷ (volume infused per hour, at most the bag)."""

    limit_eu_per_ml: float
    k_eu_per_kg: float
    weight_kg: float
    volume_ml: float
    infusion_hours: float | None
    volume_basis_ml: float

    def conforms(self, measured_eu_per_ml: float) -> bool:
        """True when a measured endotoxin concentration is at or below the limit."""
        measured = checked_number(measured_eu_per_ml, "Endotoxin", minimum="zero")
        return exact_value(measured) <= exact_value(self.limit_eu_per_ml)


def endotoxin_limit(
    weight_kg: float,
    volume_ml: float,
    *,
    infusion_hours: float | None = None,
    k_eu_per_kg: float = ENDOTOXIN_K_EU_PER_KG,
) -> EndotoxinLimit:
    """Limit in EU/mL = K × weight_kg ÷ volume_ml for an infusion within one hour
    (``infusion_hours`` None or ≤ 1); a longer infusion uses the volume per hour:
    K × weight ÷ (volume ÷ hours). 70 kg, 100 mL → 3.5 EU/mL."""
    weight = exact_value(checked_number(weight_kg, "Weight", minimum="positive"))
    volume = exact_value(checked_number(volume_ml, "Volume", minimum="positive"))
    k = exact_value(checked_number(k_eu_per_kg, "K", minimum="positive"))
    basis = volume
    if infusion_hours is not None:
        hours = exact_value(checked_number(infusion_hours, "Infusion time", minimum="positive"))
        basis = volume / max(hours, Fraction(1))
    return EndotoxinLimit(
        limit_eu_per_ml=float(k * weight / basis),
        k_eu_per_kg=float(k),
        weight_kg=float(weight),
        volume_ml=float(volume),
        infusion_hours=infusion_hours,
        volume_basis_ml=float(basis),
    )
