"""Reading typed times (lottrack.kernel.times): every form a field accepts, and the wall-clock
times a zone skips or repeats refused with the two moments they could mean."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from lottrack.kernel.errors import ValidationError
from lottrack.kernel.times import SHOWN, parse_moment

BERLIN = ZoneInfo("Europe/Berlin")
#: A winter morning in Berlin (07:15 UTC = 08:15 CET).
NOW = dt.datetime(2025, 3, 14, 7, 15, 42, tzinfo=dt.UTC)


def utc(text: str, now: dt.datetime = NOW) -> str:
    """The moment ``text`` names in Berlin, as UTC text."""
    return f"{parse_moment(text, now, BERLIN).astimezone(dt.UTC):%Y-%m-%d %H:%M}"


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("now", "2025-03-14 07:15"),
        ("  NOW ", "2025-03-14 07:15"),
        ("14:30", "2025-03-14 13:30"),
        ("9.05", "2025-03-14 08:05"),
        ("today 08h00", "2025-03-14 07:00"),
        ("yesterday 14:30", "2025-03-13 13:30"),
        ("2025-03-01 08:00", "2025-03-01 07:00"),
        ("2025-03-01T08:00", "2025-03-01 07:00"),
        ("2025-07-01 08:00", "2025-07-01 06:00"),
        ("-2h", "2025-03-14 05:15"),
        ("- 90 min", "2025-03-14 05:45"),
        ("-1d", "2025-03-13 07:15"),
        ("14:30 UTC", "2025-03-14 14:30"),
        ("14:30 z", "2025-03-14 14:30"),
        ("14:30 +05:30", "2025-03-14 09:00"),
        ("14:30 -0100", "2025-03-14 15:30"),
        ("14:30 CET", "2025-03-14 13:30"),
    ],
)
def test_every_form_a_field_reads(typed: str, expected: str) -> None:
    assert utc(typed) == expected


def test_the_moment_is_shown_in_the_zone_it_was_read_in() -> None:
    moment = parse_moment("2025-03-01 08:00", NOW, BERLIN)
    assert moment.strftime(SHOWN) == "Sat 01 Mar 2025 08:00 CET"


def test_without_a_zone_the_clock_s_zone_is_used() -> None:
    assert parse_moment("14:30", NOW) == dt.datetime(2025, 3, 14, 14, 30, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("", "Collected at: nothing was typed; it is required."),
        (
            "soon",
            'Collected at: "soon" is not a time; expected now, 14:30, yesterday 14:30, '
            "2025-03-14 14:30 or -2h.",
        ),
        (
            "25:00",
            'Collected at: "25:00" is not a time; expected now, 14:30, yesterday 14:30, '
            "2025-03-14 14:30 or -2h.",
        ),
        (
            "2025-02-30 08:00",
            'Collected at: "2025-02-30" is not a calendar date; expected now, '
            "14:30, yesterday 14:30, 2025-03-14 14:30 or -2h.",
        ),
        (
            "14:30 CEST",
            'Collected at: "CEST" is not a zone of Europe/Berlin on 2025-03-14; '
            "expected CET, UTC or an offset such as +01:00.",
        ),
    ],
)
def test_what_is_not_a_time_is_refused_naming_the_field(typed: str, message: str) -> None:
    with pytest.raises(ValidationError) as refused:
        parse_moment(typed, NOW, BERLIN, field="Collected at")
    assert refused.value.message == message
    assert refused.value.field == "Collected at"


def test_a_time_the_clocks_skip_is_refused_naming_both_moments_it_could_mean() -> None:
    """2025-03-30 02:30 never happened in Berlin: the clocks went from 02:00 to 03:00."""
    with pytest.raises(ValidationError) as refused:
        parse_moment("2025-03-30 02:30", NOW, BERLIN, field="Collected at")
    assert refused.value.message == (
        "Collected at: 2025-03-30 02:30 did not happen in Europe/Berlin (the clocks went "
        "forward); it is either 2025-03-30 01:30 CET or 2025-03-30 03:30 CEST: type one of "
        "them."
    )


def test_a_time_the_clocks_repeat_is_refused_naming_both_moments() -> None:
    """2025-10-26 02:30 happened twice in Berlin: the clocks went from 03:00 back to 02:00."""
    with pytest.raises(ValidationError) as refused:
        parse_moment("2025-10-26 02:30", NOW, BERLIN, field="Infusion started")
    assert refused.value.message == (
        "Infusion started: 2025-10-26 02:30 happened twice in Europe/Berlin (the clocks went "
        "back): 02:30 CEST (the first time, 00:30 UTC) or 02:30 CET (the second, 01:30 UTC); "
        'type "02:30 CEST" or "02:30 CET".'
    )


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("2025-10-26 02:30 CEST", "2025-10-26 00:30"),
        ("2025-10-26 02:30 cet", "2025-10-26 01:30"),
        ("2025-10-26 02:30 +01:00", "2025-10-26 01:30"),
        ("2025-03-30 01:30", "2025-03-30 00:30"),
        ("2025-03-30 03:30", "2025-03-30 01:30"),
        ("2025-03-30 02:30 UTC", "2025-03-30 02:30"),
    ],
)
def test_a_zone_or_an_offset_picks_the_moment_around_a_change_of_clocks(
    typed: str, expected: str
) -> None:
    assert utc(typed) == expected


def test_relative_times_count_real_hours_across_a_change_of_clocks() -> None:
    """At 04:00 CEST on the morning the clocks went forward, two hours ago was 01:00 CET
    (a wall clock would say 02:00, an hour that did not exist)."""
    now = dt.datetime(2025, 3, 30, 2, 0, tzinfo=dt.UTC)
    moment = parse_moment("-2h", now, BERLIN)
    assert moment.astimezone(dt.UTC) == dt.datetime(2025, 3, 30, 0, 0, tzinfo=dt.UTC)
    assert moment.strftime("%H:%M %Z") == "01:00 CET"
