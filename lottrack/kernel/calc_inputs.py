"""What every calculation checks of its inputs, and the exact value of a float.

Nonsense (not a number, infinite, negative where it cannot be, a naive datetime) is
refused with a :class:`~lottrack.kernel.errors.ValidationError` naming the field. A decision on
a limit is made on :func:`exact_value`: the decimal value a float prints as (what was
typed).
"""

from __future__ import annotations

import math
from datetime import datetime
from decimal import Decimal
from fractions import Fraction
from typing import Literal

from lottrack.kernel.errors import ValidationError


def exact_value(value: float) -> Fraction:
    """The decimal value a float prints as, exactly."""
    return Fraction(Decimal(repr(float(value))))


def shown(value: int) -> str:
    """A whole number as a message quotes it (Python prints at most 4300 digits)."""
    if value.bit_length() < 64:
        return str(value)
    return f"a number of about {int(value.bit_length() * math.log10(2)) + 1} digits"


def checked_number(
    value: float, label: str, *, minimum: Literal["any", "zero", "positive"]
) -> float:
    """``value`` as a float: a finite number, at least ``minimum``; else refused."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValidationError(f"{label}: {value!r} is not a number.", field=label)
    try:
        finite = math.isfinite(value)
    except OverflowError:  # a whole number beyond the largest float
        raise ValidationError(
            f"{label}: {shown(int(value))} is beyond any number that can be stored.", field=label
        ) from None
    if not finite:
        raise ValidationError(f"{label}: {value!r} is not a finite number.", field=label)
    if minimum == "zero" and value < 0:
        raise ValidationError(
            f"{label}: {value:g} is negative; it must be zero or more.", field=label
        )
    if minimum == "positive" and value <= 0:
        raise ValidationError(f"{label}: {value:g} must be greater than zero.", field=label)
    return float(value)


def checked_count(value: int, label: str, *, minimum: int) -> int:
    """``value``: a whole number, at least ``minimum``; else refused."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(f"{label}: {value!r} is not a whole number.", field=label)
    if value < minimum:
        raise ValidationError(f"{label}: {shown(value)} must be at least {minimum}.", field=label)
    return value


def checked_aware(moment: datetime, label: str) -> datetime:
    """``moment``: a datetime with a time zone; else refused."""
    if not isinstance(moment, datetime) or moment.utcoffset() is None:
        raise ValidationError(f"{label}: {moment!r} has no time zone.", field=label)
    return moment
