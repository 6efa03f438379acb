"""How lottrack writes a number: to significant digits, as a lab writes it.

``69.9``, ``50``, ``1.72 × 10⁶``: plain notation from 0.01 up to 9999, else a power of
ten in superscript digits. Rounding is half up, or towards ±infinity for a limit that
must stay inside a range. :mod:`lottrack.kernel.units` adds the units.
"""

from __future__ import annotations

import math
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal
from typing import Literal

Rounding = Literal["nearest", "up", "down"]

SUPERSCRIPTS = "⁰¹²³⁴⁵⁶⁷⁸⁹"
"""The digits of a power of ten as printed."""
_TO_SUPERSCRIPT = str.maketrans("0123456789-", SUPERSCRIPTS + "⁻")

_ROUNDING = {"nearest": ROUND_HALF_UP, "up": ROUND_CEILING, "down": ROUND_FLOOR}


def split_number(value: float, sig: int, rounding: Rounding) -> tuple[str, int | None]:
    """Rounded number as (digits, power of ten) — power None for plain notation."""
    if not math.isfinite(value):
        raise ValueError(f"cannot format {value!r}")
    if not 1 <= sig <= 15:
        raise ValueError("sig must be between 1 and 15")
    exact = Decimal(repr(value))
    if exact == 0:
        return "0", None
    exponent = exact.adjusted()
    rounded = exact.quantize(Decimal(1).scaleb(exponent - sig + 1), rounding=_ROUNDING[rounding])
    if rounded.adjusted() != exponent:  # 9.996 -> 10.0: one more digit before the point
        exponent = rounded.adjusted()
        rounded = rounded.quantize(Decimal(1).scaleb(exponent - sig + 1))
    if exponent >= 4 or exponent <= -3:
        return f"{rounded.scaleb(-exponent):.{sig - 1}f}", exponent
    plain = f"{rounded:.{max(sig - 1 - exponent, 0)}f}"
    if "." in plain:
        plain = plain.rstrip("0").rstrip(".")
    return plain, None


def round_significant(value: float, sig: int = 3, rounding: Rounding = "nearest") -> float:
    """``value`` rounded to ``sig`` significant digits exactly as :func:`format_number`
    prints it (half up; ``"up"``/``"down"`` towards ±infinity)."""
    digits, exponent = split_number(value, sig, rounding)
    return float(digits if exponent is None else f"{digits}e{exponent}")


def times_ten(exponent: int) -> str:
    """`` × 10ⁿ`` for the power ``exponent``."""
    return f" × 10{str(exponent).translate(_TO_SUPERSCRIPT)}"


def format_number(
    value: float, *, decimal_separator: str = ".", sig: int = 3, rounding: Rounding = "nearest"
) -> str:
    """``value`` to ``sig`` significant digits as a lab writes it: ``69.9``, ``50``,
    ``1.72 × 10⁶``. ``rounding="up"``/``"down"`` rounds towards ±infinity (for limits
    that must stay inside a range)."""
    digits, exponent = split_number(value, sig, rounding)
    text = digits + ("" if exponent is None else times_ten(exponent))
    return text.replace(".", decimal_separator)
