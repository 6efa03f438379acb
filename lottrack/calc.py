"""Pure calculations of the batch record and the dose rule (design §2, §5).

Every function validates its inputs and raises :class:`~lottrack.errors.ValidationError`
on nonsense (negative counts, zero squares, naive datetimes...). Inputs and outputs are
floats in the canonical units of :mod:`lottrack.units` (kg, mL, cells, %, cm², EU/mL,
hours).

Decisions on a limit (dose window, endotoxin limit) are made in exact rational
arithmetic on the decimal value of each float (``repr``, i.e. what was typed), never on
binary floating point: 1.4 × 10⁸ cells for 70 kg is exactly 2.0 × 10⁶ cells/kg and
therefore inside a window whose upper edge is 2.0 × 10⁶.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Literal

from lottrack.errors import ValidationError
from lottrack.units import Dim, format_quantity, format_quantity_range, round_significant

WEIGHT_PLAUSIBLE_KG = (30.0, 200.0)
"""Weights outside this range are accepted with a warning (design §5)."""
ENDOTOXIN_K_EU_PER_KG = 5.0
"""Threshold pyrogenic dose K for intravenous products (USP <85>, Ph. Eur. 5.1.10)."""
HEMOCYTOMETER_FACTOR_PER_ML = 10_000
"""One large square holds 0.1 µL: cells per square × 10⁴ = cells per mL."""


def _exact(value: float) -> Fraction:
    """The decimal value a float prints as, exactly."""
    return Fraction(Decimal(repr(float(value))))


def _shown(value: int) -> str:
    """A whole number as a message quotes it (Python prints at most 4300 digits)."""
    if value.bit_length() < 64:
        return str(value)
    return f"a number of about {int(value.bit_length() * math.log10(2)) + 1} digits"


def _number(value: float, label: str, *, minimum: Literal["any", "zero", "positive"]) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValidationError(f"{label}: {value!r} is not a number.", field=label)
    try:
        finite = math.isfinite(value)
    except OverflowError:  # a whole number beyond the largest float
        raise ValidationError(f"{label}: {_shown(int(value))} is beyond any number that can "
                              "be stored.", field=label) from None
    if not finite:
        raise ValidationError(f"{label}: {value!r} is not a finite number.", field=label)
    if minimum == "zero" and value < 0:
        raise ValidationError(f"{label}: {value:g} is negative; it must be zero or more.",
                              field=label)
    if minimum == "positive" and value <= 0:
        raise ValidationError(f"{label}: {value:g} must be greater than zero.", field=label)
    return float(value)


def _count(value: int, label: str, *, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(f"{label}: {value!r} is not a whole number.", field=label)
    if value < minimum:
        raise ValidationError(f"{label}: {_shown(value)} must be at least {minimum}.",
                              field=label)
    return value


def _aware(moment: datetime, label: str) -> datetime:
    if not isinstance(moment, datetime) or moment.utcoffset() is None:
        raise ValidationError(f"{label}: {moment!r} has no time zone.", field=label)
    return moment


# --- counts ----------------------------------------------------------------------------


def viability_percent(live: float, dead: float) -> float:
    """Viability % = 100 × live / (live + dead); counts or concentrations."""
    live = _number(live, "Live cells", minimum="zero")
    dead = _number(dead, "Dead cells", minimum="zero")
    if live + dead == 0:
        raise ValidationError("Cell count: no cells were counted, so viability is undefined.",
                              field="Live cells")
    return float(100 * _exact(live) / (_exact(live) + _exact(dead)))


def hemocytometer_concentration(cells: int, squares: int, dilution: float) -> float:
    """Cells per mL = mean cells per large square × dilution × 10⁴."""
    cells = _count(cells, "Cells counted", minimum=0)
    squares = _count(squares, "Squares counted", minimum=1)
    dilution = _number(dilution, "Dilution factor", minimum="positive")
    if dilution < 1:
        raise ValidationError(f"Dilution factor: {dilution:g} is below 1; a dilution factor "
                              "is 1 (undiluted) or more.", field="Dilution factor")
    try:
        return float(Fraction(cells, squares) * _exact(dilution) * HEMOCYTOMETER_FACTOR_PER_ML)
    except OverflowError:
        raise ValidationError(f"Dilution factor: {cells} cells over {squares} squares at a "
                              f"dilution of {dilution:g} is beyond any concentration that can "
                              "be stored.", field="Dilution factor") from None


@dataclass(frozen=True)
class ReplicateCount:
    """One hemocytometer replicate: live and dead cells over ``squares`` large squares."""

    live: int
    dead: int
    squares: int
    dilution: float
    viable_per_ml: float
    dead_per_ml: float
    total_per_ml: float
    viability_percent: float


def count_replicate(live: int, dead: int, squares: int, dilution: float) -> ReplicateCount:
    """Concentrations and viability of one trypan-blue replicate."""
    if _count(live, "Live cells", minimum=0) + _count(dead, "Dead cells", minimum=0) == 0:
        raise ValidationError("Cell count: a replicate with no cells counted cannot be used.",
                              field="Live cells")
    viable = hemocytometer_concentration(live, squares, dilution)
    dead_conc = hemocytometer_concentration(dead, squares, dilution)
    return ReplicateCount(
        live=live, dead=dead, squares=squares, dilution=float(dilution),
        viable_per_ml=viable, dead_per_ml=dead_conc,
        total_per_ml=hemocytometer_concentration(live + dead, squares, dilution),
        viability_percent=viability_percent(live, dead),
    )


@dataclass(frozen=True)
class ReplicateStats:
    """Mean, sample SD (n − 1) and CV % of replicate values; SD and CV are None for one
    replicate, CV also when the mean is zero."""

    n: int
    mean: float
    sd: float | None
    cv_percent: float | None


def replicate_stats(values: Sequence[float], label: str = "Replicates") -> ReplicateStats:
    """Mean, sample standard deviation and coefficient of variation of ``values``."""
    if len(values) == 0:
        raise ValidationError(f"{label}: no values were given.", field=label)
    checked = [_number(v, label, minimum="zero") for v in values]
    mean = statistics.mean(checked)
    if len(checked) == 1:
        return ReplicateStats(n=1, mean=mean, sd=None, cv_percent=None)
    sd = statistics.stdev(checked)
    cv = None if mean == 0 else 100.0 * sd / mean
    return ReplicateStats(n=len(checked), mean=mean, sd=sd, cv_percent=cv)


@dataclass(frozen=True)
class CountSummary:
    """Hemocytometer count over replicates; CV is that of the viable concentrations."""

    replicates: tuple[ReplicateCount, ...]
    viable_per_ml: float
    total_per_ml: float
    viability_percent: float
    viable_stats: ReplicateStats


def summarize_counts(replicates: Sequence[ReplicateCount]) -> CountSummary:
    """Mean viable concentration, CV and viability (mean viable ÷ mean total) of replicates."""
    if not replicates:
        raise ValidationError("Cell count: no replicates were counted.", field="Replicates")
    viable = replicate_stats([r.viable_per_ml for r in replicates], "Viable concentration")
    total = statistics.mean(r.total_per_ml for r in replicates)
    return CountSummary(
        replicates=tuple(replicates), viable_per_ml=viable.mean, total_per_ml=total,
        viability_percent=float(100 * _exact(viable.mean) / _exact(total)),
        viable_stats=viable,
    )


# --- expansion -------------------------------------------------------------------------


def population_doublings(seeded_cells: float, harvested_cells: float) -> float:
    """PD = log2(harvested / seeded); negative when fewer cells came back."""
    seeded = _number(seeded_cells, "Cells seeded", minimum="positive")
    harvested = _number(harvested_cells, "Cells harvested", minimum="positive")
    ratio = harvested / seeded
    if ratio == 0 or not math.isfinite(ratio):
        return math.log2(harvested) - math.log2(seeded)
    return math.log2(ratio)


def cumulative_population_doublings(doublings: Iterable[float]) -> float:
    """Cumulative PD: the sum of the passages' PD (0 for no passage)."""
    return math.fsum(_number(pd, "Population doublings", minimum="any") for pd in doublings)


def hours_between(start: datetime, end: datetime) -> float:
    """Hours from ``start`` to ``end`` (timezone-aware; ``end`` after ``start``)."""
    delta = _aware(end, "End") - _aware(start, "Start")
    if delta <= timedelta(0):
        raise ValidationError(f"Time in culture: {end.isoformat()} is not after "
                              f"{start.isoformat()}.", field="End")
    return delta / timedelta(hours=1)


def doubling_time_hours(hours_in_culture: float, doublings: float) -> float:
    """Doubling time = hours in culture ÷ PD; refused when the cells did not grow."""
    hours = _number(hours_in_culture, "Hours in culture", minimum="positive")
    pd = _number(doublings, "Population doublings", minimum="any")
    if pd <= 0:
        raise ValidationError(f"Doubling time: the population did not grow (PD {pd:.3g}), so "
                              "it has no doubling time.", field="Population doublings")
    return hours / pd


def seeding_density(cells: float, area_cm2: float) -> float:
    """Seeding density in cells/cm² = cells seeded ÷ surface area."""
    cells = _number(cells, "Cells seeded", minimum="positive")
    area = _number(area_cm2, "Surface area", minimum="positive")
    return float(_exact(cells) / _exact(area))


@dataclass(frozen=True)
class PassageGrowth:
    """Derived values of one passage; no doubling time when PD ≤ 0."""

    population_doublings: float
    hours_in_culture: float
    doubling_time_hours: float | None
    seeding_density_per_cm2: float


def passage_growth(
    seeded_cells: float, harvested_cells: float, seeded_at: datetime, harvested_at: datetime,
    area_cm2: float,
) -> PassageGrowth:
    """PD, time in culture, doubling time and seeding density of a passage."""
    pd = population_doublings(seeded_cells, harvested_cells)
    hours = hours_between(seeded_at, harvested_at)
    return PassageGrowth(
        population_doublings=pd, hours_in_culture=hours,
        doubling_time_hours=doubling_time_hours(hours, pd) if pd > 0 else None,
        seeding_density_per_cm2=seeding_density(seeded_cells, area_cm2),
    )


# --- weight ----------------------------------------------------------------------------


@dataclass(frozen=True)
class WeightCheck:
    """A usable weight; ``warning`` is set when it is outside 30–200 kg."""

    weight_kg: float
    plausible: bool
    warning: str | None


def check_weight(weight_kg: float) -> WeightCheck:
    """Refuse a weight ≤ 0; warn (not refuse) outside the plausible 30–200 kg."""
    weight = _number(weight_kg, "Weight", minimum="positive")
    low, high = WEIGHT_PLAUSIBLE_KG
    if low <= weight <= high:
        return WeightCheck(weight, True, None)
    warning = (f"Weight {format_quantity(weight, Dim.MASS)} is outside the usual "
               f"{low:g}–{high:g} kg; check it was typed in the right unit.")
    return WeightCheck(weight, False, warning)


@dataclass(frozen=True)
class WeightAge:
    """How old a weight is at a moment, and whether it may still be used (≤ max age)."""

    measured_at: datetime
    at: datetime
    age: timedelta
    max_age_days: float
    fresh: bool

    @property
    def age_days(self) -> float:
        """Age in days (fractional)."""
        return self.age / timedelta(days=1)


def weight_age(measured_at: datetime, at: datetime, *, max_age_days: float = 7) -> WeightAge:
    """Age of a weight at ``at``; fresh when measured at most ``max_age_days`` before.

    A weight measured after ``at`` is refused: it cannot have been the basis of a
    decision made at ``at``.
    """
    limit = _number(max_age_days, "Maximum weight age", minimum="positive")
    age = _aware(at, "Dispensed at") - _aware(measured_at, "Weight measured at")
    if age < timedelta(0):
        raise ValidationError(
            f"Weight: measured at {measured_at.isoformat()}, after {at.isoformat()}.",
            field="Weight measured at")
    return WeightAge(measured_at, at, age, limit, fresh=age <= timedelta(days=limit))


# --- dose ------------------------------------------------------------------------------


@dataclass(frozen=True)
class DoseWindow:
    """Inclusive dose window in viable cells/kg (trial protocol: 1.0–2.0 × 10⁶)."""

    min: float = 1.0e6
    max: float = 2.0e6

    def __post_init__(self) -> None:
        _number(self.min, "Minimum dose", minimum="positive")
        _number(self.max, "Maximum dose", minimum="positive")
        if self.min > self.max:
            raise ValidationError(
                f"Dose window: minimum {format_quantity(self.min, Dim.DOSE)} is above maximum "
                f"{format_quantity(self.max, Dim.DOSE)}.", field="Minimum dose")

    def position_of(self, dose: Fraction | float) -> Literal["below", "inside", "above"]:
        """Where an exact dose lies, edges inclusive."""
        exact = dose if isinstance(dose, Fraction) else _exact(dose)
        if exact < _exact(self.min):
            return "below"
        if exact > _exact(self.max):
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
    while (_exact(value) - exact) * direction < 0:
        value = math.nextafter(value, direction * math.inf)
        if math.isinf(value):
            return None
    return value


def weights_inside_window(viable_cells: float, window: DoseWindow = DEFAULT_DOSE_WINDOW
                          ) -> tuple[float, float] | None:
    """The body weights (kg) for which ``viable_cells`` give a dose inside ``window``:
    cells ÷ maximum to cells ÷ minimum, the ends rounded inwards (so that both ends give a
    dose inside the window); None beyond the largest float."""
    cells = _exact(_number(viable_cells, "Viable cells", minimum="positive"))
    low = _float_inside(cells / _exact(window.max), +1.0)
    high = _float_inside(cells / _exact(window.min), -1.0)
    return None if low is None or high is None else (low, high)


def _float(exact: Fraction, label: str) -> float:
    """``exact`` as a float, refused (naming ``label``) beyond the largest float: the
    numbers typed multiply or divide to something no record can hold."""
    try:
        return float(exact)
    except OverflowError:
        raise ValidationError(f"{label}: the numbers given make it larger than any number "
                              "that can be stored; check what was typed.", field=label) from None


def viable_cells_in_bag(
    concentration_cells_per_ml: float, volume_ml: float, viability_percent: float
) -> float:
    """Viable cells = concentration × volume × viability fraction."""
    conc = _number(concentration_cells_per_ml, "Concentration", minimum="positive")
    volume = _number(volume_ml, "Volume", minimum="positive")
    viability = _viability(viability_percent)
    return _float(_exact(conc) * _exact(volume) * _exact(viability) / 100, "Viable cells")


def _viability(viability_percent: float) -> float:
    viability = _number(viability_percent, "Viability", minimum="positive")
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
    weight = _exact(_number(weight_kg, "Weight", minimum="positive"))
    if viable_cells is not None and concentration_cells_per_ml is not None:
        raise ValidationError("Dose: give either the viable cells or the concentration "
                              "with the volume, not both.", field="Viable cells")
    if viable_cells is not None:
        if volume_ml is not None or viability_percent is not None:
            raise ValidationError("Dose: volume and viability go with a concentration, not "
                                  "with a viable-cell count.", field="Volume")
        cells = _exact(_number(viable_cells, "Viable cells", minimum="positive"))
        dose = cells / weight
        return DoseResult(
            weight_kg=float(weight), viable_cells=float(cells),
            dose_cells_per_kg=_float(dose, "Dose"), window=window,
            position=window.position_of(dose),
        )
    if concentration_cells_per_ml is None:
        raise ValidationError("Dose: give either the viable cells or the concentration "
                              "with the volume.", field="Viable cells")
    if volume_ml is None:
        raise ValidationError("Volume: missing; a concentration needs the volume of the bag.",
                              field="Volume")
    if viability_percent is None:
        raise ValidationError("Viability: missing; viable cells from a concentration need the "
                              "viability (a total count is not assumed all viable).",
                              field="Viability")
    conc = _exact(_number(concentration_cells_per_ml, "Concentration", minimum="positive"))
    volume = _exact(_number(volume_ml, "Volume", minimum="positive"))
    viability = _exact(_viability(viability_percent))
    viable_per_ml = conc * viability / 100
    cells = viable_per_ml * volume
    dose = cells / weight
    return DoseResult(
        weight_kg=float(weight), viable_cells=_float(cells, "Viable cells"),
        dose_cells_per_kg=_float(dose, "Dose"),
        window=window, position=window.position_of(dose),
        concentration_cells_per_ml=float(conc), volume_ml=float(volume),
        viability_percent=float(viability),
        volume_ml_min=_float_inside(_exact(window.min) * weight / viable_per_ml, +1.0),
        volume_ml_max=_float_inside(_exact(window.max) * weight / viable_per_ml, -1.0),
    )


def _dose_digits(result: DoseResult, sig: int = 3) -> int:
    """Enough digits that the printed dose is on the same side of the window as the dose."""
    for digits in range(sig, 16):
        if result.window.position_of(round_significant(result.dose_cells_per_kg, digits)) \
                == result.position:
            return digits
    return 15


def describe_dose(result: DoseResult, *, decimal_separator: str = ".") -> str:
    """One line a pharmacist reads: ``Dose 1.72 × 10⁶ cells/kg — inside the window
    1.00–2.00 × 10⁶ cells/kg`` (more digits when 3 would hide which side it is on)."""
    dose = format_quantity(result.dose_cells_per_kg, Dim.DOSE, sig=_dose_digits(result),
                           decimal_separator=decimal_separator)
    window = format_quantity_range(result.window.min, result.window.max, Dim.DOSE,
                                   decimal_separator=decimal_separator)
    where = {"inside": "inside", "below": "BELOW", "above": "ABOVE"}[result.position]
    return f"Dose {dose} — {where} the window {window}"


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
        measured = _number(measured_eu_per_ml, "Endotoxin", minimum="zero")
        return _exact(measured) <= _exact(self.limit_eu_per_ml)


def endotoxin_limit(
    weight_kg: float, volume_ml: float, *, infusion_hours: float | None = None,
    k_eu_per_kg: float = ENDOTOXIN_K_EU_PER_KG,
) -> EndotoxinLimit:
    """Limit in EU/mL = K × weight_kg ÷ volume_ml for an infusion within one hour
    (``infusion_hours`` None or ≤ 1); a longer infusion uses the volume per hour:
    K × weight ÷ (volume ÷ hours). 70 kg, 100 mL → 3.5 EU/mL."""
    weight = _exact(_number(weight_kg, "Weight", minimum="positive"))
    volume = _exact(_number(volume_ml, "Volume", minimum="positive"))
    k = _exact(_number(k_eu_per_kg, "K", minimum="positive"))
    basis = volume
    if infusion_hours is not None:
        hours = _exact(_number(infusion_hours, "Infusion time", minimum="positive"))
        basis = volume / max(hours, Fraction(1))
    return EndotoxinLimit(
        limit_eu_per_ml=float(k * weight / basis), k_eu_per_kg=float(k),
        weight_kg=float(weight), volume_ml=float(volume), infusion_hours=infusion_hours,
        volume_basis_ml=float(basis),
    )
