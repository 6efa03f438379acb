"""Units as people type them: the program's one pint registry, and the unit after a
number (``cells/mL``, ``cm²``, ``per kg``, ``EU/mL``) read into a pint unit.

Only unit names are looked up in pint, one by one, with the prefixes a lab uses; the
operators (``/``, ``per``, ``*``) and the powers (``^2``, ``²``) are read here, so odd input
never reaches pint's expression parser. :func:`lottrack.kernel.units.parse_quantity` reads
the number and calls :func:`parse_unit` on the rest.
"""

from __future__ import annotations

import re
from functools import cache, lru_cache
from importlib import resources
from typing import Any

import pint

from lottrack.kernel.numbers import SUPERSCRIPTS


def _build_registry() -> pint.UnitRegistry[Any]:
    # pint caches the parsed definitions in the user cache folder (keyed by the files'
    # content), which makes start-up ~15× faster after the first run.
    try:
        registry: pint.UnitRegistry[Any] = pint.UnitRegistry(cache_folder=":auto:")
    except OSError:  # no writable cache folder: parse every time
        registry = pint.UnitRegistry()
    with resources.as_file(resources.files("lottrack.kernel").joinpath("units.txt")) as path:
        registry.load_definitions(str(path))
    return registry


ureg: pint.UnitRegistry[Any] = _build_registry()
"""The program's only unit registry."""
pint.set_application_registry(ureg)  # type: ignore[no-untyped-call]  # untyped in pint


@cache
def pint_unit(spec: str) -> pint.Unit:
    """The unit ``spec`` (pint's spelling: ``"cell / milliliter"``) of :data:`ureg`, made once."""
    return ureg.Unit(spec)


FROM_SUPERSCRIPT = str.maketrans(SUPERSCRIPTS + "⁻⁺", "0123456789-+")
"""Superscript digits and signs to plain ones (``⁻³`` reads ``-3``)."""
SUPERSCRIPT_POWER = f"[⁻⁺]?[{SUPERSCRIPTS}]+"
"""A power written in superscripts (``²``, ``⁻¹``), as a regular expression."""


# --- reading units ---------------------------------------------------------------------

_UNIT_TOKEN = re.compile(
    rf"""\s*(?:
        (?P<div>/|per(?![A-Za-z]))
      | (?P<mul>\*(?!\*))
      | (?P<name>%|[A-Za-z_]+)
        (?P<exp>(?:\^|\*\*)[+-]?[0-9]+|{SUPERSCRIPT_POWER}|[0-9]+)?
    )""",
    re.VERBOSE,
)
# Prefixes a lab uses; anything else (mega-litre from a caps-lock "ML") is refused.
_ALLOWED_PREFIXES = frozenset({"", "kilo", "deci", "centi", "milli", "micro", "nano"})
_SYMBOLS = {"EU": "endotoxin_unit"}  # "EU" also reads as exa-enzyme-unit in pint


class Refused(Exception):
    """Why the text is refused (and what was expected, when it is not the field's usual
    wording); :func:`lottrack.kernel.units.parse_quantity` turns it into a ValidationError."""

    def __init__(self, reason: str, expected: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.expected = expected


@lru_cache(maxsize=512)
def _resolve_unit_name(name: str) -> pint.Unit:
    full = _SYMBOLS.get(name)
    if full is None:
        candidates = ureg.parse_unit_name(name)
        if not candidates:
            raise Refused(f'has an unknown unit "{name}"')
        allowed = [c for c in candidates if c[0] in _ALLOWED_PREFIXES]
        if not allowed:
            prefix, unit_name, _ = candidates[0]
            raise Refused(f'uses "{name}" ({prefix}{unit_name}), a unit not accepted here')
        # Prefer the unprefixed reading ("min" is a minute, not a milli-inch).
        prefix, unit_name, _ = min(allowed, key=lambda c: c[0] != "")
        full = prefix + unit_name
    return pint_unit(full)


def _parse_exponent(text: str | None) -> int:
    if not text:
        return 1
    value = int(text.lstrip("^*").translate(FROM_SUPERSCRIPT))
    if value == 0 or abs(value) > 3:
        raise Refused(f'has an impossible unit power "{text}"')
    return value


def parse_unit(text: str) -> tuple[pint.Unit, bool]:
    """Read ``text`` as a product/quotient of units; return it and whether it has a
    numerator (``/mL`` has none)."""
    unit: pint.Unit = pint_unit("dimensionless")
    has_numerator = False
    operator: str | None = "start"
    pos = 0
    while pos < len(text):
        match = _UNIT_TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            raise Refused("is not a number followed by a unit")
        pos = match.end()
        if match["div"] is not None or match["mul"] is not None:
            if operator not in (None, "start") or (match["mul"] and operator == "start"):
                raise Refused("is not a number followed by a unit")
            operator = "/" if match["div"] is not None else "*"
            continue
        factor = _resolve_unit_name(match["name"]) ** _parse_exponent(match["exp"])
        if operator == "/":
            unit = unit / factor
        else:
            unit = unit * factor
            has_numerator = True
        operator = None
    if operator not in (None, "start"):
        raise Refused("is not a number followed by a unit")
    return unit, has_numerator


_DESCRIPTIONS: tuple[tuple[str, str], ...] = (
    ("kilogram", "a mass"),
    ("milliliter", "a volume"),
    ("cell", "a cell count"),
    ("cell / milliliter", "a concentration"),
    ("centimeter ** 2", "an area"),
    ("endotoxin_unit / milliliter", "an endotoxin concentration"),
    ("endotoxin_unit", "an amount of endotoxin"),
    ("cell / kilogram", "a dose per body weight"),
    ("cell / centimeter ** 2", "a cell density per area"),
    ("hour", "a time"),
    ("meter", "a length"),
    ("kelvin", "a temperature"),
    ("1 / milliliter", "a number per volume"),
    ("1 / kilogram", "a number per mass"),
    ("1 / hour", "a rate"),
    ("gram / milliliter", "a mass concentration"),
    ("mole / liter", "a molar concentration"),
    ("mole", "an amount of substance"),
)


def describe_unit(unit: pint.Unit) -> str:
    if unit.dimensionless:
        return "a percentage" if unit == pint_unit("percent") else "a plain number"
    dims = unit.dimensionality
    for spec, description in _DESCRIPTIONS:
        if pint_unit(spec).dimensionality == dims:
            return description
    return f'in "{unit:~}"'
