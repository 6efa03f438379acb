"""``lottrack dose-check`` without the command-line framework: the dose rule of design §5
on the options as typed, and the words and exit code the command answers with (§11).

``lottrack.cli.dose`` runs it under Typer; :mod:`lottrack.launch` runs it straight away
when the command line is plain options (#18: the check then starts in the time of pint
alone, without Typer's per-option pydantic adapters nor the other commands' modules).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from lottrack.kernel.errors import ValidationError

if TYPE_CHECKING:  # pint and its unit definitions load when the check runs
    from lottrack.kernel.calc import DoseResult, DoseWindow

OPTIONS = {
    "--weight": "weight",
    "--viable-cells": "viable_cells",
    "--concentration": "concentration",
    "--volume": "volume",
    "--viability": "viability",
    "--min": "min_dose",
    "--max": "max_dose",
}
"""The options taking a value, and the parameter each fills."""
JSON_FLAG = "--json"

EXIT_INSIDE = 0
EXIT_OUTSIDE = 1
EXIT_BAD_INPUT = 2


def _window(min_text: str | None, max_text: str | None) -> DoseWindow:
    from lottrack.kernel.calc import DEFAULT_DOSE_WINDOW, DoseWindow
    from lottrack.kernel.units import Dim, format_quantity, parse_quantity

    low, high = DEFAULT_DOSE_WINDOW.min, DEFAULT_DOSE_WINDOW.max
    if min_text is not None:
        low = parse_quantity(min_text, "minimum dose", Dim.DOSE, unit_required=False).value
    if max_text is not None:
        high = parse_quantity(max_text, "maximum dose", Dim.DOSE, unit_required=False).value
    if low > high:
        raise ValidationError(
            f"minimum dose: {format_quantity(low, Dim.DOSE)} is above the maximum dose "
            f"{format_quantity(high, Dim.DOSE)}.",
            field="minimum dose",
        )
    return DoseWindow(min=low, max=high)


def _compute(
    weight: str | None,
    viable_cells: str | None,
    concentration: str | None,
    volume: str | None,
    viability: str | None,
    window: DoseWindow,
) -> DoseResult:
    from lottrack.kernel.calc import check_dose
    from lottrack.kernel.units import Dim, parse_quantity

    if weight is None:
        raise ValidationError(
            "weight: missing; give --weight such as 70 kg or 154 lb.", field="weight"
        )
    if viable_cells is not None and concentration is not None:
        raise ValidationError(
            "viable cells: give either --viable-cells or --concentration with --volume, not both.",
            field="viable cells",
        )
    if viable_cells is None and concentration is None:
        raise ValidationError(
            "viable cells: missing; give --viable-cells such as 1.2e8, or "
            "--concentration with --volume and --viability.",
            field="viable cells",
        )
    weight_kg = parse_quantity(weight, "weight", Dim.MASS).value
    if viable_cells is not None:
        if volume is not None or viability is not None:
            option = "--volume" if volume is not None else "--viability"
            raise ValidationError(
                f"{option[2:]}: {option} goes with --concentration, not with --viable-cells.",
                field=option[2:],
            )
        cells = parse_quantity(viable_cells, "viable cells", Dim.CELLS).value
        return check_dose(weight_kg=weight_kg, viable_cells=cells, window=window)
    assert concentration is not None  # both-None was refused above
    if volume is None:
        raise ValidationError(
            "volume: missing; --concentration needs --volume such as 100 mL.", field="volume"
        )
    concentration_per_ml = parse_quantity(concentration, "concentration", Dim.CONCENTRATION).value
    volume_ml = parse_quantity(volume, "volume", Dim.VOLUME).value
    if viability is None:
        raise ValidationError(
            "viability: missing; --concentration needs --viability such as "
            "95 % (viable cells are never computed on an assumed 100 %).",
            field="viability",
        )
    return check_dose(
        weight_kg=weight_kg,
        concentration_cells_per_ml=concentration_per_ml,
        volume_ml=volume_ml,
        viability_percent=parse_quantity(viability, "viability", Dim.FRACTION).value,
        window=window,
    )


def _as_json(result: DoseResult, typed: dict[str, str | None]) -> str:
    return json.dumps(
        {
            "weight_kg": result.weight_kg,
            "viable_cells": result.viable_cells,
            "dose_cells_per_kg": result.dose_cells_per_kg,
            "min_cells_per_kg": result.window.min,
            "max_cells_per_kg": result.window.max,
            "within": result.within,
            "position": result.position,
            "concentration_cells_per_ml": result.concentration_cells_per_ml,
            "volume_ml": result.volume_ml,
            "viability_percent": result.viability_percent,
            "volume_ml_min": result.volume_ml_min,
            "volume_ml_max": result.volume_ml_max,
            "typed": {key: value for key, value in typed.items() if value is not None},
        },
        ensure_ascii=False,
    )


def _as_text(result: DoseResult, weight_text: str) -> str:
    from lottrack.kernel.calc import describe_dose
    from lottrack.kernel.units import Dim, format_quantity, format_quantity_range

    verdict = describe_dose(result)
    if not result.within:
        verdict += " — refused (a dose is never adjusted to fit)"
    weight = format_quantity(result.weight_kg, Dim.MASS)
    if weight_text.strip() != weight:
        weight += f' (typed "{weight_text.strip()}")'
    lines = [verdict, f"Weight {weight}"]
    cells = f"Viable cells {format_quantity(result.viable_cells, Dim.CELLS)}"
    if result.concentration_cells_per_ml is not None and result.volume_ml is not None:
        cells += (
            f" = {format_quantity(result.concentration_cells_per_ml, Dim.CONCENTRATION)}"
            f" × {format_quantity(result.volume_ml, Dim.VOLUME)}"
            f" × {format_quantity(result.viability_percent or 0.0, Dim.FRACTION)}"
            " viable"
        )
    lines.append(cells)
    if result.volume_ml_min is not None and result.volume_ml_max is not None:
        volumes = format_quantity_range(
            result.volume_ml_min, result.volume_ml_max, Dim.VOLUME, inward=True
        )
        lines.append(f"Volume giving a dose inside the window: {volumes}")
    return "\n".join(lines)


def check(
    weight: str | None = None,
    viable_cells: str | None = None,
    concentration: str | None = None,
    volume: str | None = None,
    viability: str | None = None,
    min_dose: str | None = None,
    max_dose: str | None = None,
    as_json: bool = False,
) -> tuple[int, str, bool]:
    """The exit code, the text to print and whether it goes to stderr (bad input: one
    line naming the field)."""
    try:
        window = _window(min_dose, max_dose)
        result = _compute(weight, viable_cells, concentration, volume, viability, window)
    except ValidationError as exc:
        # One line, whatever was typed: parse_quantity already escapes control characters.
        return EXIT_BAD_INPUT, f"error: {' '.join(exc.message.split())}", True
    if as_json:
        typed = {
            "weight": weight,
            "viable_cells": viable_cells,
            "concentration": concentration,
            "volume": volume,
            "viability": viability,
            "min": min_dose,
            "max": max_dose,
        }
        return _exit(result), _as_json(result, typed), False
    return _exit(result), _as_text(result, weight or ""), False


def _exit(result: DoseResult) -> int:
    return EXIT_INSIDE if result.within else EXIT_OUTSIDE


def plain_options(args: list[str]) -> dict[str, str | bool] | None:
    """The parameters of ``args`` (what follows ``dose-check``) when they are only the
    command's options, each once, as ``--name value``, ``--name=value`` or ``--json``;
    None for anything else (help, an unknown or repeated option, a value that looks like
    an option, text that is not UTF-8), which the full command line then answers."""
    values: dict[str, str | bool] = {}
    parsed: str | bool
    rest = list(args)
    while rest:
        arg = rest.pop(0)
        if any("\ud800" <= ch <= "\udfff" for ch in arg):
            return None
        name, eq, value = arg.partition("=")
        if name == JSON_FLAG and not eq:
            key, parsed = "as_json", True
        elif name in OPTIONS:
            if not eq:
                if not rest:
                    return None
                value = rest.pop(0)
            if value.startswith("-") or any("\ud800" <= ch <= "\udfff" for ch in value):
                return None
            key, parsed = OPTIONS[name], value
        else:
            return None
        if key in values:
            return None
        values[key] = parsed
    return values
