"""Cost of a checked dose: parse typed weight and cells, compute the dose, check the window.

Compared, in the same process, with the same arithmetic on plain floats (no parsing, no
validation, no exact arithmetic). Run: ``python bench/bench_dose.py [--calls N]``.
"""

from __future__ import annotations

import argparse
import sys
import timeit
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lottrack.kernel.calc import DEFAULT_DOSE_WINDOW, check_dose  # noqa: E402
from lottrack.kernel.units import Dim, parse_quantity  # noqa: E402

CASES = [
    ("154 lb", "1.2e8", None, None, None),
    ("70 kg", None, "1.2 x 10^6 cells/mL", "100 mL", "90 %"),
    ("64.1 kg", None, "1.282×10⁶ /mL", "100 mL", None),
]


def checked() -> bool:
    """Everything a service does with typed input."""
    within = True
    for weight, cells, conc, volume, viability in CASES:
        weight_kg = parse_quantity(weight, "weight", Dim.MASS).value
        if cells is not None:
            result = check_dose(
                weight_kg=weight_kg, viable_cells=parse_quantity(cells, "cells", Dim.CELLS).value
            )
        else:
            assert conc is not None
            assert volume is not None
            result = check_dose(
                weight_kg=weight_kg,
                concentration_cells_per_ml=parse_quantity(conc, "conc", Dim.CONCENTRATION).value,
                volume_ml=parse_quantity(volume, "volume", Dim.VOLUME).value,
                viability_percent=None
                if viability is None
                else parse_quantity(viability, "viability", Dim.FRACTION).value,
            )
        within &= result.within
    return within


PLAIN = [
    (69.85322498, 1.2e8, None, None, None),
    (70.0, None, 1.2e6, 100.0, 90.0),
    (64.1, None, 1.282e6, 100.0, None),
]


def plain() -> bool:
    """The same decisions on floats already in canonical units."""
    low, high = DEFAULT_DOSE_WINDOW.min, DEFAULT_DOSE_WINDOW.max
    within = True
    for weight, cells, conc, volume, viability in PLAIN:
        if cells is None:
            assert conc is not None
            assert volume is not None
            cells = conc * volume * (100.0 if viability is None else viability) / 100.0
        dose = cells / weight
        within &= low <= dose <= high
    return within


def per_call(func: object, calls: int) -> float:
    """Best-of-5 seconds per call of ``func`` (each call checks len(CASES) doses)."""
    timer = timeit.Timer(func)  # type: ignore[arg-type]
    return min(timer.repeat(repeat=5, number=calls)) / calls / len(CASES)


def run(calls: int = 2000) -> list[Any]:
    """For run_all: one checked dose against plain float arithmetic."""
    from common import Result

    return [
        Result(
            "-",
            "parse weight, concentration, volume + exact dose-window check",
            per_call(checked, calls),
            "plain float arithmetic",
            per_call(plain, calls * 50),
            "per dose; plain floats get 64.1 kg wrong",
        )
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=2000)
    args = parser.parse_args()
    print(
        f"checked result: {checked()}, plain float result: {plain()} "
        "(plain floats put the 64.1 kg edge case outside)"
    )
    checked_s = per_call(checked, args.calls)
    plain_s = per_call(plain, args.calls * 50)
    print(f"parse + exact dose + window check: {checked_s * 1e6:9.2f} µs per dose")
    print(f"plain float arithmetic:            {plain_s * 1e6:9.3f} µs per dose")
    print(f"ratio checked / plain:             {checked_s / plain_s:9.0f} ×")


if __name__ == "__main__":
    main()
