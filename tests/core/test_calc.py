"""Calculations of the batch record and the dose rule, against their definitions."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lottrack.kernel import calc
from lottrack.kernel.calc import DoseWindow, check_dose
from lottrack.kernel.errors import ValidationError

T0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)

# --- counts ----------------------------------------------------------------------------


def test_viability_is_live_over_live_plus_dead() -> None:
    assert calc.viability_percent(90, 10) == 90.0
    assert calc.viability_percent(1, 2) == pytest.approx(33.333333333)
    assert calc.viability_percent(0, 5) == 0.0


@pytest.mark.parametrize(
    ("live", "dead", "message"),
    [
        (0, 0, "no cells were counted"),
        (-1, 5, "Live cells: -1 is negative"),
        (5, float("nan"), "Dead cells: nan is not a finite number"),
    ],
)
def test_viability_refuses_nonsense(live: float, dead: float, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        calc.viability_percent(live, dead)


def test_hemocytometer_concentration_is_mean_per_square_times_dilution_times_1e4() -> None:
    # 45 cells over 4 large squares, diluted 1:1 in trypan blue (factor 2).
    assert calc.hemocytometer_concentration(45, 4, 2) == 225_000.0
    assert calc.hemocytometer_concentration(100, 3, 1) == pytest.approx(333_333.333333)


@pytest.mark.parametrize(
    ("cells", "squares", "dilution", "message"),
    [
        (45, 0, 2, "Squares counted: 0 must be at least 1"),
        (-3, 4, 2, "Cells counted: -3 must be at least 0"),
        (45, 4, 0, "Dilution factor: 0 must be greater than zero"),
        (45, 4, 0.5, "Dilution factor: 0.5 is below 1"),
        (45.5, 4, 2, "Cells counted: 45.5 is not a whole number"),
        (True, 4, 2, "is not a whole number"),
    ],
)
def test_hemocytometer_refuses_nonsense(
    cells: int, squares: int, dilution: float, message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        calc.hemocytometer_concentration(cells, squares, dilution)


def test_replicate_gives_live_dead_total_and_viability() -> None:
    rep = calc.count_replicate(live=45, dead=5, squares=4, dilution=2)
    assert (rep.viable_per_ml, rep.dead_per_ml, rep.total_per_ml) == (225_000, 25_000, 250_000)
    assert rep.viability_percent == 90.0
    with pytest.raises(ValidationError, match="no cells counted"):
        calc.count_replicate(live=0, dead=0, squares=4, dilution=2)


def test_replicate_stats_use_the_sample_sd() -> None:
    stats = calc.replicate_stats([200_000, 220_000, 210_000])
    assert stats.mean == 210_000
    assert stats.sd == pytest.approx(10_000)  # n − 1 in the denominator; n would give 8165
    assert stats.cv_percent == pytest.approx(4.7619047619)
    single = calc.replicate_stats([5.0])
    assert (single.n, single.mean, single.sd, single.cv_percent) == (1, 5.0, None, None)
    with pytest.raises(ValidationError, match="no values"):
        calc.replicate_stats([])


def test_count_summary_over_replicates() -> None:
    summary = calc.summarize_counts(
        [
            calc.count_replicate(45, 5, 4, 2),
            calc.count_replicate(41, 9, 4, 2),
        ]
    )
    assert summary.viable_per_ml == 215_000
    assert summary.total_per_ml == 250_000
    assert summary.viability_percent == 86.0
    assert summary.viable_stats.cv_percent == pytest.approx(100 * math.sqrt(2e8) / 215_000)


# --- expansion -------------------------------------------------------------------------


def test_population_doublings() -> None:
    assert calc.population_doublings(1e6, 8e6) == 3.0
    assert calc.population_doublings(4e6, 1e6) == -2.0  # cells lost: negative, not refused
    with pytest.raises(ValidationError, match="Cells seeded: 0 must be greater than zero"):
        calc.population_doublings(0, 1e6)


_COUNTS = st.floats(min_value=1.0, max_value=1e12)


@settings(max_examples=300, deadline=None)
@given(a=_COUNTS, b=_COUNTS, c=_COUNTS)
def test_population_doublings_add_up_over_passages(a: float, b: float, c: float) -> None:
    pd_ab, pd_bc = calc.population_doublings(a, b), calc.population_doublings(b, c)
    assert pd_ab + pd_bc == pytest.approx(calc.population_doublings(a, c), abs=1e-9)
    assert calc.cumulative_population_doublings([pd_ab, pd_bc]) == pytest.approx(
        calc.population_doublings(a, c), abs=1e-9
    )


def test_cumulative_pd_and_doubling_time() -> None:
    assert calc.cumulative_population_doublings([3.0, 2.5, 2.25]) == 7.75
    assert calc.cumulative_population_doublings([]) == 0.0
    assert calc.doubling_time_hours(72, 3) == 24.0
    with pytest.raises(ValidationError, match="did not grow"):
        calc.doubling_time_hours(72, 0)


def test_seeding_density_and_passage_growth() -> None:
    assert calc.seeding_density(5.25e5, 175) == 3000.0
    with pytest.raises(ValidationError, match="Surface area: 0 must be greater than zero"):
        calc.seeding_density(5e5, 0)
    growth = calc.passage_growth(5.25e5, 4.2e6, T0, T0 + timedelta(days=4), 175)
    assert growth.population_doublings == 3.0
    assert growth.hours_in_culture == 96.0
    assert growth.doubling_time_hours == 32.0
    assert growth.seeding_density_per_cm2 == 3000.0
    shrinking = calc.passage_growth(1e6, 5e5, T0, T0 + timedelta(days=1), 25)
    assert shrinking.doubling_time_hours is None


def test_times_must_be_aware_and_in_order() -> None:
    with pytest.raises(ValidationError, match="no time zone"):
        calc.hours_between(datetime(2025, 1, 1), T0)  # noqa: DTZ001 - the point of the test
    with pytest.raises(ValidationError, match="is not after"):
        calc.hours_between(T0, T0)


# --- weight ----------------------------------------------------------------------------


def test_weight_age_limit_is_inclusive() -> None:
    assert calc.weight_age(T0, T0 + timedelta(days=7)).fresh
    stale = calc.weight_age(T0, T0 + timedelta(days=7, seconds=1))
    assert not stale.fresh
    assert stale.age_days == pytest.approx(7.0000116, rel=1e-6)
    assert calc.weight_age(T0, T0 + timedelta(days=9), max_age_days=10).fresh


def test_weight_age_refuses_future_and_naive_times() -> None:
    with pytest.raises(ValidationError, match="after"):
        calc.weight_age(T0 + timedelta(hours=1), T0)
    with pytest.raises(ValidationError, match="no time zone"):
        calc.weight_age(datetime(2025, 3, 3), T0)  # noqa: DTZ001 - the point of the test


def test_weight_plausibility_warns_but_zero_refuses() -> None:
    assert calc.check_weight(70).plausible
    heavy = calc.check_weight(250)
    assert not heavy.plausible
    assert heavy.warning is not None
    assert "250 kg" in heavy.warning
    with pytest.raises(ValidationError, match="Weight: 0 must be greater than zero"):
        calc.check_weight(0)


# --- dose ------------------------------------------------------------------------------


def test_dose_for_154_lb_and_1_2e8_viable_cells() -> None:
    result = check_dose(weight_kg=69.85322498, viable_cells=1.2e8)
    assert result.dose_cells_per_kg == pytest.approx(1.7179e6, rel=1e-4)
    assert result.within
    assert (
        calc.describe_dose(result)
        == "Dose 1.72 × 10⁶ cells/kg — inside the window 1.00–2.00 × 10⁶ cells/kg"
    )


def test_dose_from_concentration_volume_and_viability() -> None:
    full = check_dose(
        weight_kg=70, concentration_cells_per_ml=1.2e6, volume_ml=100, viability_percent=100
    )
    assert full.viable_cells == 1.2e8
    partial = check_dose(
        weight_kg=70, concentration_cells_per_ml=1.2e6, volume_ml=100, viability_percent=90
    )
    assert partial.viable_cells == 1.08e8
    assert partial.dose_cells_per_kg == pytest.approx(1.542857e6)


@pytest.mark.parametrize(
    ("weight", "concentration", "edge"),
    [
        # Each gives exactly an edge; naive float arithmetic lands a hair outside.
        (64.1, 1.282e6, 2.0e6),
        (64.4, 6.44e5, 1.0e6),
    ],
)
def test_exact_window_edges_are_inside(weight: float, concentration: float, edge: float) -> None:
    naive = concentration * 100 * (100 / 100) / weight
    assert naive != edge  # the trap this test guards against
    result = check_dose(
        weight_kg=weight,
        concentration_cells_per_ml=concentration,
        volume_ml=100,
        viability_percent=100,
    )
    assert result.within
    assert result.dose_cells_per_kg == edge


def test_edges_inclusive_and_just_outside_refused_not_clamped() -> None:
    assert check_dose(weight_kg=70, viable_cells=7.0e7).within  # 1.0e6 exactly
    assert check_dose(weight_kg=70, viable_cells=1.4e8).within  # 2.0e6 exactly
    below = check_dose(weight_kg=70, viable_cells=7.0e7 - 1)
    above = check_dose(weight_kg=70, viable_cells=1.4e8 + 1)
    assert (below.within, below.position) == (False, "below")
    assert (above.within, above.position) == (False, "above")
    assert above.dose_cells_per_kg > 2.0e6  # reported as computed, never clamped to the edge
    # Three digits would print "2.00 × 10⁶"; the message shows enough to see it is above.
    assert calc.describe_dose(above) == (
        "Dose 2.00000001 × 10⁶ cells/kg — ABOVE the window 1.00–2.00 × 10⁶ cells/kg"
    )


def test_volume_range_puts_the_dose_inside_the_window() -> None:
    result = check_dose(
        weight_kg=70, concentration_cells_per_ml=1.2e6, volume_ml=100, viability_percent=90
    )
    assert result.volume_ml_min == pytest.approx(64.8148148)
    assert result.volume_ml_max == pytest.approx(129.6296296)
    for volume in (result.volume_ml_min, result.volume_ml_max):
        assert volume is not None
        again = check_dose(
            weight_kg=70, concentration_cells_per_ml=1.2e6, volume_ml=volume, viability_percent=90
        )
        assert again.within
    assert check_dose(weight_kg=70, viable_cells=1.2e8).volume_ml_min is None


@settings(max_examples=300, deadline=None)
@given(
    weight=st.floats(min_value=1, max_value=300),
    concentration=st.floats(min_value=1e3, max_value=1e9),
    viability=st.floats(min_value=1, max_value=100),
)
def test_volume_range_ends_are_always_inside(
    weight: float, concentration: float, viability: float
) -> None:
    result = check_dose(
        weight_kg=weight,
        concentration_cells_per_ml=concentration,
        volume_ml=10,
        viability_percent=viability,
    )
    for volume in (result.volume_ml_min, result.volume_ml_max):
        assert volume is not None
        assert check_dose(
            weight_kg=weight,
            concentration_cells_per_ml=concentration,
            volume_ml=volume,
            viability_percent=viability,
        ).within


@settings(max_examples=300, deadline=None)
@given(
    cells=st.floats(min_value=1e5, max_value=1e10),
    w1=st.floats(min_value=1, max_value=300),
    w2=st.floats(min_value=1, max_value=300),
)
def test_dose_falls_as_weight_rises(cells: float, w1: float, w2: float) -> None:
    light, heavy = sorted((w1, w2))
    dose_light = check_dose(weight_kg=light, viable_cells=cells).dose_cells_per_kg
    dose_heavy = check_dose(weight_kg=heavy, viable_cells=cells).dose_cells_per_kg
    assert dose_heavy <= dose_light
    if heavy > light * (1 + 1e-9):
        assert dose_heavy < dose_light


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"weight_kg": 0, "viable_cells": 1e8}, "Weight: 0 must be greater than zero"),
        ({"weight_kg": -70, "viable_cells": 1e8}, "Weight"),
        ({"weight_kg": 70, "viable_cells": 0}, "Viable cells: 0 must be greater than zero"),
        ({"weight_kg": 70}, "give either the viable cells or the concentration"),
        (
            {
                "weight_kg": 70,
                "viable_cells": 1e8,
                "concentration_cells_per_ml": 1e6,
                "volume_ml": 100,
            },
            "not both",
        ),
        ({"weight_kg": 70, "concentration_cells_per_ml": 1e6}, "Volume: missing"),
        (
            {"weight_kg": 70, "concentration_cells_per_ml": 1e6, "volume_ml": 100},
            "Viability: missing",
        ),
        ({"weight_kg": 70, "viable_cells": 1e8, "volume_ml": 100}, "go with a concentration"),
        (
            {
                "weight_kg": 70,
                "concentration_cells_per_ml": 1e6,
                "volume_ml": 100,
                "viability_percent": 101,
            },
            "Viability: 101 % is above 100 %",
        ),
        ({"weight_kg": float("inf"), "viable_cells": 1e8}, "not a finite number"),
    ],
)
def test_dose_refuses_nonsense(kwargs: dict[str, float], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        check_dose(**kwargs)  # type: ignore[arg-type]


def test_window_is_configurable_and_checked() -> None:
    narrow = DoseWindow(min=1.5e6, max=1.6e6)
    assert not check_dose(weight_kg=70, viable_cells=1.4e8, window=narrow).within
    assert DoseWindow(min=1e6, max=1e6).contains(1e6)
    with pytest.raises(ValidationError, match="is above maximum"):
        DoseWindow(min=2e6, max=1e6)
    with pytest.raises(ValidationError, match="Minimum dose: 0 must be greater than zero"):
        DoseWindow(min=0, max=1e6)


# --- endotoxin -------------------------------------------------------------------------


def test_endotoxin_limit_for_one_hour_and_longer_infusions() -> None:
    one_hour = calc.endotoxin_limit(70, 100)
    assert one_hour.limit_eu_per_ml == 3.5
    assert calc.endotoxin_limit(70, 100, infusion_hours=0.5).limit_eu_per_ml == 3.5
    assert calc.endotoxin_limit(70, 100, infusion_hours=1).limit_eu_per_ml == 3.5
    two_hours = calc.endotoxin_limit(70, 100, infusion_hours=2)
    assert two_hours.limit_eu_per_ml == 7.0  # 5 × 70 ÷ (100 mL ÷ 2 h)
    assert two_hours.volume_basis_ml == 50.0
    assert one_hour.conforms(3.5)
    assert not one_hour.conforms(3.51)
    with pytest.raises(ValidationError, match="Volume: 0 must be greater than zero"):
        calc.endotoxin_limit(70, 0)


def test_weights_a_bag_doses_inside_the_window_have_ends_inside() -> None:
    assert calc.weights_inside_window(9.25e7) == (46.25, 92.5)
    low, high = calc.weights_inside_window(1.234567e8, DoseWindow(1.1e6, 1.9e6)) or (0, 0)
    for weight in (low, high):
        assert check_dose(
            weight_kg=weight, viable_cells=1.234567e8, window=DoseWindow(1.1e6, 1.9e6)
        ).within
