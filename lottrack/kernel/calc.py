"""Pure calculations of the batch record (design §2, §5): counts, growth, weights; the dose
rule and the endotoxin limit are in :mod:`lottrack.kernel.dose_rule` (also read from here).

Every function validates its inputs and raises :class:`~lottrack.kernel.errors.ValidationError`
on nonsense (negative counts, zero squares, naive datetimes...). Inputs and outputs are
floats in the canonical units of :mod:`lottrack.kernel.units` (kg, mL, cells, %, cm², EU/mL,
hours).

Ratios are taken in exact rational arithmetic on the decimal value of each float
(:func:`lottrack.kernel.calc_inputs.exact_value`), as the dose rule's decisions are.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from fractions import Fraction

from lottrack.kernel.calc_inputs import checked_aware, checked_count, checked_number, exact_value

# The dose rule and the endotoxin limit live beside this module (lottrack.kernel.dose_rule).
from lottrack.kernel.dose_rule import DEFAULT_DOSE_WINDOW as DEFAULT_DOSE_WINDOW
from lottrack.kernel.dose_rule import ENDOTOXIN_K_EU_PER_KG as ENDOTOXIN_K_EU_PER_KG
from lottrack.kernel.dose_rule import DoseResult as DoseResult
from lottrack.kernel.dose_rule import DoseWindow as DoseWindow
from lottrack.kernel.dose_rule import EndotoxinLimit as EndotoxinLimit
from lottrack.kernel.dose_rule import check_dose as check_dose
from lottrack.kernel.dose_rule import describe_dose as describe_dose
from lottrack.kernel.dose_rule import endotoxin_limit as endotoxin_limit
from lottrack.kernel.dose_rule import viable_cells_in_bag as viable_cells_in_bag
from lottrack.kernel.dose_rule import weights_inside_window as weights_inside_window
from lottrack.kernel.errors import ValidationError
from lottrack.kernel.units import Dim, format_quantity

WEIGHT_PLAUSIBLE_KG = (30.0, 200.0)
"""Weights outside this range are accepted with a warning (design §5)."""
HEMOCYTOMETER_FACTOR_PER_ML = 10_000
"""One large square holds 0.1 µL: cells per square × 10⁴ = cells per mL."""


# --- counts ----------------------------------------------------------------------------


def viability_percent(live: float, dead: float) -> float:
    """Viability % = 100 × live / (live + dead); counts or concentrations."""
    live = checked_number(live, "Live cells", minimum="zero")
    dead = checked_number(dead, "Dead cells", minimum="zero")
    if live + dead == 0:
        raise ValidationError(
            "Cell count: no cells were counted, so viability is undefined.", field="Live cells"
        )
    return float(100 * exact_value(live) / (exact_value(live) + exact_value(dead)))


def hemocytometer_concentration(cells: int, squares: int, dilution: float) -> float:
    """Cells per mL = mean cells per large square × dilution × 10⁴."""
    cells = checked_count(cells, "Cells counted", minimum=0)
    squares = checked_count(squares, "Squares counted", minimum=1)
    dilution = checked_number(dilution, "Dilution factor", minimum="positive")
    if dilution < 1:
        raise ValidationError(
            f"Dilution factor: {dilution:g} is below 1; a dilution factor "
            "is 1 (undiluted) or more.",
            field="Dilution factor",
        )
    try:
        return float(Fraction(cells, squares) * exact_value(dilution) * HEMOCYTOMETER_FACTOR_PER_ML)
    except OverflowError:
        raise ValidationError(
            f"Dilution factor: {cells} cells over {squares} squares at a "
            f"dilution of {dilution:g} is beyond any concentration that can "
            "be stored.",
            field="Dilution factor",
        ) from None


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
    live = checked_count(live, "Live cells", minimum=0)
    if live + checked_count(dead, "Dead cells", minimum=0) == 0:
        raise ValidationError(
            "Cell count: a replicate with no cells counted cannot be used.", field="Live cells"
        )
    viable = hemocytometer_concentration(live, squares, dilution)
    dead_conc = hemocytometer_concentration(dead, squares, dilution)
    return ReplicateCount(
        live=live,
        dead=dead,
        squares=squares,
        dilution=float(dilution),
        viable_per_ml=viable,
        dead_per_ml=dead_conc,
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
    checked = [checked_number(v, label, minimum="zero") for v in values]
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
        replicates=tuple(replicates),
        viable_per_ml=viable.mean,
        total_per_ml=total,
        viability_percent=float(100 * exact_value(viable.mean) / exact_value(total)),
        viable_stats=viable,
    )


# --- expansion -------------------------------------------------------------------------


def population_doublings(seeded_cells: float, harvested_cells: float) -> float:
    """PD = log2(harvested / seeded); negative when fewer cells came back."""
    seeded = checked_number(seeded_cells, "Cells seeded", minimum="positive")
    harvested = checked_number(harvested_cells, "Cells harvested", minimum="positive")
    ratio = harvested / seeded
    if ratio == 0 or not math.isfinite(ratio):
        return math.log2(harvested) - math.log2(seeded)
    return math.log2(ratio)


def cumulative_population_doublings(doublings: Iterable[float]) -> float:
    """Cumulative PD: the sum of the passages' PD (0 for no passage)."""
    return math.fsum(checked_number(pd, "Population doublings", minimum="any") for pd in doublings)


def hours_between(start: datetime, end: datetime) -> float:
    """Hours from ``start`` to ``end`` (timezone-aware; ``end`` after ``start``)."""
    delta = checked_aware(end, "End") - checked_aware(start, "Start")
    if delta <= timedelta(0):
        raise ValidationError(
            f"Time in culture: {end.isoformat()} is not after {start.isoformat()}.", field="End"
        )
    return delta / timedelta(hours=1)


def doubling_time_hours(hours_in_culture: float, doublings: float) -> float:
    """Doubling time = hours in culture ÷ PD; refused when the cells did not grow."""
    hours = checked_number(hours_in_culture, "Hours in culture", minimum="positive")
    pd = checked_number(doublings, "Population doublings", minimum="any")
    if pd <= 0:
        raise ValidationError(
            f"Doubling time: the population did not grow (PD {pd:.3g}), so "
            "it has no doubling time.",
            field="Population doublings",
        )
    return hours / pd


def seeding_density(cells: float, area_cm2: float) -> float:
    """Seeding density in cells/cm² = cells seeded ÷ surface area."""
    cells = checked_number(cells, "Cells seeded", minimum="positive")
    area = checked_number(area_cm2, "Surface area", minimum="positive")
    return float(exact_value(cells) / exact_value(area))


@dataclass(frozen=True)
class PassageGrowth:
    """Derived values of one passage; no doubling time when PD ≤ 0."""

    population_doublings: float
    hours_in_culture: float
    doubling_time_hours: float | None
    seeding_density_per_cm2: float


def passage_growth(
    seeded_cells: float,
    harvested_cells: float,
    seeded_at: datetime,
    harvested_at: datetime,
    area_cm2: float,
) -> PassageGrowth:
    """PD, time in culture, doubling time and seeding density of a passage."""
    pd = population_doublings(seeded_cells, harvested_cells)
    hours = hours_between(seeded_at, harvested_at)
    return PassageGrowth(
        population_doublings=pd,
        hours_in_culture=hours,
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
    weight = checked_number(weight_kg, "Weight", minimum="positive")
    low, high = WEIGHT_PLAUSIBLE_KG
    if low <= weight <= high:
        return WeightCheck(weight, True, None)
    warning = (
        f"Weight {format_quantity(weight, Dim.MASS)} is outside the usual "
        f"{low:g}–{high:g} kg; check it was typed in the right unit."
    )
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
    limit = checked_number(max_age_days, "Maximum weight age", minimum="positive")
    age = checked_aware(at, "Dispensed at") - checked_aware(measured_at, "Weight measured at")
    if age < timedelta(0):
        raise ValidationError(
            f"Weight: measured at {measured_at.isoformat()}, after {at.isoformat()}.",
            field="Weight measured at",
        )
    return WeightAge(measured_at, at, age, limit, fresh=age <= timedelta(days=limit))
