"""Reading a time a person types: ``now``, ``14:30``, ``yesterday 14:30``,
``2025-03-14 14:30`` or ``-2h``, in the site's time zone.

A wall-clock time the zone skips (the hour the clocks go forward) or repeats (the hour
they go back) names no single moment, so it is refused with a message naming the two
moments it could mean; typing the zone's abbreviation or a UTC offset after it
(``02:30 CEST``, ``02:30 +01:00``, ``01:30 UTC``) picks one. Relative times count real
minutes (``-2h`` across a change of clocks is two hours before now, not two hours of
wall clock). Whether a time is allowed (not in the future, not before the step it
follows) is the rule of the service that records it, not of this reader.
"""

from __future__ import annotations

import datetime as dt
import re

from lottrack.kernel.errors import ValidationError
from lottrack.kernel.inputs import show

SHOWN = "%a %d %b %Y %H:%M %Z"
"""How a moment read is shown back: ``Sat 01 Mar 2025 08:00 CET``."""
EXPECTED = "now, 14:30, yesterday 14:30, 2025-03-14 14:30 or -2h"
"""The forms a time field reads, as messages name them."""

_ZONE = r"(?:\s*(?P<zone>z|utc|[a-z]{2,6}|[+-]\d{2}:?\d{2}))?"
_CLOCK = re.compile(
    r"(?:(?P<day>today|yesterday)\s+)?(?P<h>[01]?\d|2[0-3])[:.h](?P<m>[0-5]\d)" + _ZONE
)
_FULL = re.compile(r"(?P<date>\d{4}-\d{2}-\d{2})[ t]+(?P<h>[01]?\d|2[0-3]):(?P<m>[0-5]\d)" + _ZONE)
_AGO = re.compile(r"-\s*(?P<n>\d{1,4})\s*(?P<unit>m|min|h|d)")
_OFFSET = re.compile(r"(?P<sign>[+-])(?P<h>\d{2}):?(?P<m>\d{2})")
_STAMP = "%Y-%m-%d %H:%M %Z"


def parse_moment(
    text: str, now: dt.datetime, zone: dt.tzinfo | None = None, *, field: str = "Time"
) -> dt.datetime:
    """The moment ``text`` names, timezone-aware in ``zone`` (default: ``now``'s zone).

    Refused with a :class:`ValidationError` naming ``field``: empty text, text that is
    not one of :data:`EXPECTED`, a date that is not in the calendar, and a wall-clock
    time that the zone skips or repeats (the message names both moments it could mean).
    """
    zone = zone or now.tzinfo
    assert zone is not None, "now must be timezone-aware"
    typed = " ".join(text.strip().lower().split())
    if not typed:
        raise ValidationError(f"{field}: nothing was typed; it is required.", field=field)
    if typed == "now":
        return _minute(now).astimezone(zone)
    if match := _AGO.fullmatch(typed):
        minutes = {"m": 1, "min": 1, "h": 60, "d": 1440}[match["unit"]] * int(match["n"])
        return _minute(now - dt.timedelta(minutes=minutes)).astimezone(zone)
    if match := _CLOCK.fullmatch(typed):
        local_today = now.astimezone(zone).date()
        day = local_today - dt.timedelta(days=1 if match["day"] == "yesterday" else 0)
    elif match := _FULL.fullmatch(typed):
        try:
            day = dt.date.fromisoformat(match["date"])
        except ValueError:
            raise ValidationError(
                f'{field}: "{match["date"]}" is not a calendar date; expected {EXPECTED}.',
                field=field,
            ) from None
    else:
        raise ValidationError(
            f'{field}: "{show(text.strip())}" is not a time; expected {EXPECTED}.', field=field
        )
    wall = dt.datetime.combine(day, dt.time(int(match["h"]), int(match["m"])))
    return wall_time(wall, zone, match["zone"], field=field)


def wall_time(
    wall: dt.datetime, zone: dt.tzinfo, suffix: str | None = None, *, field: str = "Time"
) -> dt.datetime:
    """The moment a clock in ``zone`` showed at ``wall`` (naive), in ``zone``.

    ``suffix`` is what followed the time: ``utc``/``z``, an offset ``+01:00``, or one of
    the zone's abbreviations (``cet``), which picks between the two readings of a time
    the zone skips or repeats; without it such a time is refused.
    """
    if suffix in ("z", "utc"):
        return wall.replace(tzinfo=dt.UTC).astimezone(zone)
    if suffix is not None and (offset := _OFFSET.fullmatch(suffix)):
        delta = dt.timedelta(hours=int(offset["h"]), minutes=int(offset["m"]))
        if delta >= dt.timedelta(hours=24):
            raise ValidationError(f"{field}: {suffix} is not a UTC offset.", field=field)
        sign = -1 if offset["sign"] == "-" else 1
        return wall.replace(tzinfo=dt.timezone(sign * delta)).astimezone(zone)
    readings = [wall.replace(tzinfo=zone, fold=fold) for fold in (0, 1)]
    if suffix is not None:
        for reading in readings:
            if (reading.tzname() or "").lower() == suffix:
                return reading.astimezone(dt.UTC).astimezone(zone)
        names = " or ".join(sorted({r.tzname() or "" for r in readings}))
        raise ValidationError(
            f'{field}: "{suffix.upper()}" is not a zone of {_name(zone)} '
            f"on {wall:%Y-%m-%d}; expected {names}, UTC or an offset "
            "such as +01:00.",
            field=field,
        )
    early, late = readings
    if early.utcoffset() == late.utcoffset():
        return early
    # Two readings: the instant with the offset before the change and the one after.
    first, second = sorted(
        (r.astimezone(dt.UTC).astimezone(zone) for r in readings),
        key=lambda moment: moment.astimezone(dt.UTC),
    )
    skipped = early.astimezone(dt.UTC).astimezone(zone).replace(tzinfo=None) != wall
    if skipped:
        raise ValidationError(
            f"{field}: {wall:%Y-%m-%d %H:%M} did not happen in {_name(zone)} (the clocks "
            f"went forward); it is either {first:{_STAMP}} or {second:{_STAMP}}: type one "
            "of them.",
            field=field,
        )
    raise ValidationError(
        f"{field}: {wall:%Y-%m-%d %H:%M} happened twice in {_name(zone)} (the clocks went "
        f"back): {first:%H:%M %Z} (the first time, {first.astimezone(dt.UTC):%H:%M} UTC) or "
        f"{second:%H:%M %Z} (the second, {second.astimezone(dt.UTC):%H:%M} UTC); type "
        f'"{wall:%H:%M} {first:%Z}" or "{wall:%H:%M} {second:%Z}".',
        field=field,
    )


def _minute(moment: dt.datetime) -> dt.datetime:
    """``moment`` to the minute, counted in UTC (real minutes, whatever the zone)."""
    return moment.astimezone(dt.UTC).replace(second=0, microsecond=0)


def _name(zone: dt.tzinfo) -> str:
    """The zone as people look it up: ``Europe/Berlin`` (else what the zone calls
    itself)."""
    return str(getattr(zone, "key", None) or zone)
