"""``lottrack din``: ISBT 128 check characters and DIN validation (design §4, §11).

Exit 0 valid, 1 invalid (well-formed but the check character or flag is wrong), 2 bad
input (one line on stderr).
"""

# No ``from __future__ import annotations``: Typer reads these annotations at runtime.

from typing import Annotated

import typer

from lottrack.kernel.errors import ValidationError
from lottrack.kernel.isbt128 import CheckCharacterMismatch, check_character, read_din

EXIT_VALID = 0
EXIT_INVALID = 1
EXIT_BAD_INPUT = 2

din_app = typer.Typer(
    help="ISBT 128 donation identification numbers: check characters and validation.",
    no_args_is_help=True,
)


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {' '.join(message.split())}", err=True)
    return typer.Exit(EXIT_BAD_INPUT)


@din_app.command("check-char")
def check_char(
    din13: Annotated[
        str,
        typer.Argument(
            metavar="DIN13", help="The 13 DIN characters, e.g. G123498654321 or 'G1234 98 654321'."
        ),
    ],
) -> None:
    """Print the ISO/IEC 7064 MOD 37-2 check character of a DIN."""
    compact = "".join(din13.split()) if len(din13) <= 64 else din13
    try:
        typer.echo(check_character(compact))
    except ValidationError as exc:
        raise _fail(exc.message) from None


@din_app.command("validate")
def validate(
    text: Annotated[
        str,
        typer.Argument(
            metavar="TEXT",
            help="A DIN as printed or scanned: G123498654321H, "
            "'G1234 98 654321 H' or barcode data =G12349865432100.",
        ),
    ],
) -> None:
    """Check a DIN's structure and any check character or check flag it carries."""
    try:
        reading = read_din(text)
    except CheckCharacterMismatch as exc:
        typer.echo(f"invalid: {exc.message}")
        raise typer.Exit(EXIT_INVALID) from None
    except ValidationError as exc:
        raise _fail(exc.message) from None
    din = reading.din
    note = (
        "check verified"
        if reading.check_verified
        else "no check character in the input, nothing to verify"
    )
    typer.echo(
        f"valid: {din.eye_readable()} [{din.check}] ({note}); barcode data {din.barcode_data()}"
    )
    raise typer.Exit(EXIT_VALID)
