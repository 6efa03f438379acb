"""``lottrack dose-check``: the dose rule of design §5 from the command line (§11).

Exit 0 inside the window, 1 outside, 2 bad input (one line on stderr naming the field).
The check itself is :func:`lottrack.dose_check.check` (also run without Typer by
:mod:`lottrack.launch` when the command line is plain options).
"""

from typing import Annotated, Any

import typer

from lottrack.dose_check import EXIT_BAD_INPUT, EXIT_INSIDE, EXIT_OUTSIDE, check

__all__ = ["EXIT_BAD_INPUT", "EXIT_INSIDE", "EXIT_OUTSIDE", "dose_check"]


_HELP = {
    "--weight": "Body weight, e.g. '70 kg' or '154 lb'. Required.",
    "--viable-cells": "Viable cells in the bag, e.g. 1.2e8 or '120e6 cells'.",
    "--concentration": "Cell concentration, e.g. 1.2e6/mL or "
    "'1.2 x 10^6 cells/mL'; needs --volume and --viability.",
    "--volume": "Volume of the bag, e.g. '100 mL'.",
    "--viability": "Viability, required with --concentration, e.g. '95 %'.",
    "--min": "Lower edge of the window in cells/kg (inclusive); default 1.0e6.",
    "--max": "Upper edge of the window in cells/kg (inclusive); default 2.0e6.",
}
"""The help of each option taking a text (the check reads it)."""


def _text(flag: str) -> Any:
    """The option ``flag``, taking a text, with its help."""
    return typer.Option(flag, help=_HELP[flag])


def dose_check(
    weight: Annotated[str | None, _text("--weight")] = None,
    viable_cells: Annotated[str | None, _text("--viable-cells")] = None,
    concentration: Annotated[str | None, _text("--concentration")] = None,
    volume: Annotated[str | None, _text("--volume")] = None,
    viability: Annotated[str | None, _text("--viability")] = None,
    min_dose: Annotated[str | None, _text("--min")] = None,
    max_dose: Annotated[str | None, _text("--max")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Check a dose of viable cells per kg against the window (inclusive, never clamped).

    Exit 0 inside the window, 1 outside, 2 bad input.
    """
    code, text, to_stderr = check(
        weight, viable_cells, concentration, volume, viability, min_dose, max_dose, as_json
    )
    typer.echo(text, err=to_stderr)
    raise typer.Exit(code)
