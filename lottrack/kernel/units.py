"""Quantities as technicians type them, checked against the dimension of the field.

One :class:`pint.UnitRegistry` serves the whole program: pint's defaults plus the
definitions shipped in ``lottrack/kernel/units.txt`` (``cell`` and the endotoxin unit ``EU``);
it lives, with the reading of the unit after the number, in :mod:`lottrack.kernel.unit_names`.
Values are stored as a float in one canonical unit per dimension (:class:`Dim`).

:func:`parse_quantity` reads what a person types (``1.2e6/mL``, ``1.2 x 10^6 cells/mL``,
``1.2×10⁶ /mL``, ``154 lb``, ``95 %``...) and refuses anything else with a
:class:`~lottrack.kernel.errors.ValidationError` whose message names the field, quotes the text
and says what was expected. The number is read by a small grammar of our own (never
``eval``) and only the unit names are looked up in pint, so odd input cannot reach
pint's expression parser.

Decimal separator: a site setting, never guessed. With ``"."`` a comma is refused; with
``","`` a full stop is refused. Digits are never grouped (``1,200`` or ``1.200`` or
``1 200``): a thousands separator read as a decimal separator by a colleague from
another site would change a dose a thousandfold, so such input is refused with a
message instead of being interpreted.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass
from enum import Enum
from functools import lru_cache

import pint

from lottrack.kernel.errors import ValidationError
from lottrack.kernel.numbers import Rounding as Rounding
from lottrack.kernel.numbers import format_number as format_number
from lottrack.kernel.numbers import round_significant as round_significant
from lottrack.kernel.numbers import split_number, times_ten
from lottrack.kernel.unit_names import (
    FROM_SUPERSCRIPT,
    SUPERSCRIPT_POWER,
    Refused,
    describe_unit,
    parse_unit,
    pint_unit,
    ureg,
)

MAX_INPUT_LENGTH = 200
"""Longest text accepted as a quantity; longer input is refused, not truncated."""


@dataclass(frozen=True)
class DimSpec:
    """What a field measures: canonical unit (pint and lab spelling) and wording."""

    pint_unit: str
    symbol: str
    noun: str
    example: str
    counted: bool = False
    """Cells: a missing numerator (``/mL``) means cells, and a bare number is a count."""
    percent_only: bool = False


class Dim(Enum):
    """The dimension of a field, with its canonical unit (``Dim.MASS.symbol == "kg"``)."""

    MASS = DimSpec("kilogram", "kg", "a mass", "70 kg or 154 lb")
    VOLUME = DimSpec("milliliter", "mL", "a volume", "50 mL")
    CELLS = DimSpec("cell", "cells", "a cell count", "1.2e8 cells", counted=True)
    CONCENTRATION = DimSpec(
        "cell / milliliter", "cells/mL", "a concentration", "1.2e6 cells/mL", counted=True
    )
    FRACTION = DimSpec("percent", "%", "a percentage", "95 %", percent_only=True)
    AREA = DimSpec("centimeter ** 2", "cm²", "an area", "175 cm²")
    ENDOTOXIN_CONC = DimSpec(
        "endotoxin_unit / milliliter", "EU/mL", "an endotoxin concentration", "0.5 EU/mL"
    )
    DOSE = DimSpec(
        "cell / kilogram", "cells/kg", "a dose per body weight", "1.5e6 cells/kg", counted=True
    )
    DURATION = DimSpec("hour", "h", "a time", "72 h")

    @property
    def symbol(self) -> str:
        """Canonical unit as a lab writes it (``"cells/mL"``); readable by pint too."""
        return self.value.symbol

    @property
    def canonical_unit(self) -> pint.Unit:
        """Canonical unit as a pint ``Unit`` of :data:`~lottrack.kernel.unit_names.ureg`."""
        return pint_unit(self.value.pint_unit)

    @property
    def noun(self) -> str:
        """``"a mass"``, used in messages."""
        return self.value.noun

    def example(self, decimal_separator: str = ".") -> str:
        """An example of a valid entry, written with the site's decimal separator."""
        return self.value.example.replace(".", decimal_separator)


@dataclass(frozen=True)
class ParsedQuantity:
    """A validated quantity: ``value`` in the canonical ``unit`` of ``dim``."""

    value: float
    unit: str
    text: str
    field: str
    dim: Dim


# --- reading numbers -------------------------------------------------------------------

# Spaces of every width become one space; both micro signs become "u"; the Unicode minus
# becomes "-"; the middle dots become a multiplication.
_NORMALISE = str.maketrans(
    {
        "\u00a0": " ",
        "\u2009": " ",
        "\u202f": " ",
        "\t": " ",
        "\u2212": "-",
        "\u00b5": "u",
        "\u03bc": "u",
        "\u00b7": "*",
        "\u22c5": "*",
    }
)
_NOT_FINITE = re.compile(r"[+-]?\s*(nan|inf|infinity)\b", re.IGNORECASE)


@lru_cache(maxsize=2)
def _number_pattern(sep: str) -> re.Pattern[str]:
    s = re.escape(sep)
    return re.compile(
        rf"""
        (?P<sign>[+-]?)\s*
        (?:
            (?P<power>10)\s*(?:(?:\^|\*\*)\s*(?P<pexp>[+-]?[0-9]+)|(?P<psup>{SUPERSCRIPT_POWER}))
          | (?P<int>[0-9]*)(?:{s}(?P<frac>[0-9]*))?
            (?:[eE](?P<eexp>[+-]?[0-9]+))?
            (?:\s*[x×X*]\s*10\s*(?:(?:\^|\*\*)\s*(?P<texp>[+-]?[0-9]+)|(?P<tsup>{SUPERSCRIPT_POWER})))?
        )
        """,
        re.VERBOSE,
    )


# --- the parser ------------------------------------------------------------------------


def _quote(text: str) -> str:
    shown = text if len(text) <= 60 else text[:57] + "…"
    shown = "".join(
        ch.encode("unicode_escape").decode("ascii")
        if unicodedata.category(ch).startswith("C")
        else ch
        for ch in shown
    )
    return f'"{shown}"'


def _round_canonical(value: float) -> float:
    # Unit factors carry binary noise (1 L -> 1000.0000000000001 mL); no measurement has
    # 12 significant digits, so this removes the noise and nothing else.
    return float(f"{value:.12g}") if math.isfinite(value) else value


def _read_number(match: re.Match[str]) -> float:
    if match["power"] is not None:
        exponent = match["pexp"] or (match["psup"] or "").translate(FROM_SUPERSCRIPT)
        return float(f"1e{int(exponent)}")
    integer, fraction = match["int"] or "", match["frac"] or ""
    if not integer and not fraction:
        raise Refused("has no number")
    exponent = 0
    if match["eexp"] is not None:
        exponent += int(match["eexp"])
    times_ten = match["texp"] or (match["tsup"] or "").translate(FROM_SUPERSCRIPT)
    if times_ten:
        exponent += int(times_ten)
    value = float(f"{integer or '0'}.{fraction or '0'}e{exponent}")
    if math.isinf(value):
        raise Refused("is too large")
    if value == 0.0 and (integer + fraction).strip("0"):
        raise Refused("is too small to be told from zero")
    return value


def _parse(
    text: str,
    dim: Dim,
    sep: str,
    unit_required: bool,
    default_unit: str | None,
) -> tuple[float, bool]:
    """Return the magnitude in the canonical unit and whether a minus sign was typed."""
    if not isinstance(text, str):
        raise Refused("is not text")
    if len(text) > MAX_INPUT_LENGTH:
        raise Refused(f"is {len(text)} characters long (at most {MAX_INPUT_LENGTH})")
    s = text.translate(_NORMALISE).strip()
    if not s:
        raise Refused("is empty")
    if any(unicodedata.category(ch).startswith("C") for ch in s):
        raise Refused("contains control or invisible characters")
    if _NOT_FINITE.match(s):
        raise Refused("is not a finite number")
    other = "," if sep == "." else "."
    match = _number_pattern(sep).match(s)
    if match is None or match.end() == 0:
        raise Refused("does not start with a number")
    magnitude = _read_number(match)
    rest = s[match.end() :].strip()
    if rest.startswith(other) or (rest[:1].isdigit()):
        what = f'"{other}"' if rest.startswith(other) else "a space"
        raise Refused(
            f'has {what} inside the number; decimals are written with "{sep}" here and '
            "digits are not grouped"
        )
    negative = match["sign"] == "-"
    if rest:
        factor = _factor_for(rest, dim)
    elif dim is Dim.CELLS:
        factor = None
    elif not unit_required:
        factor = _factor_of(pint_unit(default_unit), dim) if default_unit else None
    else:
        raise Refused("has no unit")
    if factor is not None:
        converted = _round_canonical(magnitude * factor)
        if converted == 0.0 and magnitude != 0.0:
            raise Refused("is too small to be told from zero")
        magnitude = converted
    if not math.isfinite(magnitude):
        raise Refused("is too large")
    return magnitude, negative


@lru_cache(maxsize=1024)
def _factor_for(unit_text: str, dim: Dim) -> float | None:
    """Factor from the unit typed to the canonical unit of ``dim`` (None: already it)."""
    unit, has_numerator = parse_unit(unit_text)
    if dim.value.counted and not has_numerator:
        unit = unit * pint_unit("cell")
    return _factor_of(unit, dim)


def _factor_of(unit: pint.Unit, dim: Dim) -> float | None:
    canonical = dim.canonical_unit
    if unit.dimensionality != canonical.dimensionality:
        raise Refused(f"is {describe_unit(unit)}")
    if dim.value.percent_only and unit != canonical:
        raise Refused("is not a percentage")
    if unit == canonical:
        return None
    # Only multiplicative units reach here: no dimension of ours has an offset unit.
    return float(ureg.Quantity(1.0, unit).to(canonical).magnitude)


def _expected(dim: Dim, decimal_separator: str) -> str:
    return f"{dim.noun} such as {dim.example(decimal_separator)}"


def _expected_range(dim: Dim, decimal_separator: str, allow_zero: bool) -> str:
    example = dim.example(decimal_separator)
    if dim is Dim.FRACTION:
        bounds = "from 0 to 100 %" if allow_zero else "above 0 and at most 100 %"
        return f"a percentage {bounds} such as {example}"
    bounds = "of zero or more" if allow_zero else "greater than zero"
    return f"{dim.noun} {bounds} such as {example}"


def _shown(text: object) -> str:
    return _quote(text) if isinstance(text, str) else repr(text)


def parse_quantity(
    text: str,
    field: str,
    dim: Dim,
    *,
    decimal_separator: str = ".",
    allow_zero: bool = False,
    unit_required: bool = True,
    default_unit: str | None = None,
) -> ParsedQuantity:
    """Read ``text`` as a quantity of dimension ``dim`` for the field named ``field``.

    Returns the value in the canonical unit of ``dim``. Refuses (``ValidationError``,
    message naming ``field``, quoting ``text`` and saying what was expected): empty or
    over-long text, control characters, anything that is not a number followed by a
    unit, the wrong dimension, a missing unit where ``unit_required`` (a bare number is
    always a cell count for :attr:`Dim.CELLS`), negative values, zero unless
    ``allow_zero``, percentages outside 0–100 %, NaN and infinity. With
    ``unit_required=False`` a bare number is read in ``default_unit`` (default: the
    canonical unit). ``decimal_separator`` is the site's setting, ``"."`` or ``","``.
    """
    if decimal_separator not in (".", ","):
        raise ValueError(f"decimal_separator must be '.' or ',', not {decimal_separator!r}")
    if default_unit is not None and (
        pint_unit(default_unit).dimensionality != dim.canonical_unit.dimensionality
    ):
        raise ValueError(f"default_unit {default_unit!r} is not {dim.noun}")
    try:
        value, negative = _parse(text, dim, decimal_separator, unit_required, default_unit)
        reason = None
        if negative and value != 0.0:
            reason = "is negative"
        elif value == 0.0 and not allow_zero:
            reason = "is zero"
        elif dim is Dim.FRACTION and value > 100.0:
            reason = "is above 100 %"
        if reason is not None:
            raise Refused(reason, _expected_range(dim, decimal_separator, allow_zero))
    except Refused as refused:
        expected = refused.expected or _expected(dim, decimal_separator)
        message = f"{field}: {_shown(text)} {refused.reason}; expected {expected}."
        raise ValidationError(message, field=field) from None
    except Exception as exc:  # pint and float() raise many types on odd input
        expected = _expected(dim, decimal_separator)
        message = f"{field}: {_shown(text)} is not a quantity; expected {expected}."
        raise ValidationError(message, field=field) from exc
    return ParsedQuantity(value=value + 0.0, unit=dim.symbol, text=text, field=field, dim=dim)


# --- printing --------------------------------------------------------------------------


def format_quantity(
    value: float,
    dim: Dim,
    *,
    decimal_separator: str = ".",
    sig: int = 3,
    rounding: Rounding = "nearest",
) -> str:
    """A canonical value with its unit: ``1.72 × 10⁶ cells/kg``, ``69.9 kg``, ``92.5 %``.

    The text reads back through :func:`parse_quantity` to the same value at the printed
    precision (same decimal separator).
    """
    number = format_number(value, decimal_separator=decimal_separator, sig=sig, rounding=rounding)
    return f"{number} {dim.symbol}"


def format_as_typed(parsed: ParsedQuantity, *, decimal_separator: str = ".") -> str:
    """What was read, with its unit, to as many significant digits as were typed (at least
    3): ``1272 cm2`` is echoed ``1272 cm²``, not rounded to ``1270 cm²``."""
    match = _number_pattern(decimal_separator).match(parsed.text.translate(_NORMALISE).strip())
    typed = ((match["int"] or "") + (match["frac"] or "")).lstrip("0") if match else ""
    return format_quantity(
        parsed.value,
        parsed.dim,
        decimal_separator=decimal_separator,
        sig=min(max(3, len(typed)), 15),
    )


def format_quantity_range(
    low: float,
    high: float,
    dim: Dim,
    *,
    decimal_separator: str = ".",
    sig: int = 3,
    inward: bool = False,
) -> str:
    """``1.00–2.00 × 10⁶ cells/kg``; with ``inward`` the low end is rounded up and the
    high end down, so every printed value lies inside the true range."""
    low_digits, low_exp = split_number(low, sig, "up" if inward else "nearest")
    high_digits, high_exp = split_number(high, sig, "down" if inward else "nearest")
    if low_exp == high_exp:
        tail = "" if low_exp is None else times_ten(low_exp)
        text = f"{low_digits}–{high_digits}{tail}"
    else:
        low_text = low_digits + ("" if low_exp is None else times_ten(low_exp))
        high_text = high_digits + ("" if high_exp is None else times_ten(high_exp))
        text = f"{low_text} to {high_text}"
    return f"{text.replace('.', decimal_separator)} {dim.symbol}"
