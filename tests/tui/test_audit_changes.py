"""An audit event's values as a person reads them: a stored instant (UTC ISO text) in the
site's zone to the second, everything else as stored (issue 19, audit trail for people)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from tui.lot.tables import audit_changes, audit_event_text

BERLIN = ZoneInfo("Europe/Berlin")
instants = st.datetimes(
    min_value=dt.datetime(2000, 1, 1),  # noqa: DTZ001 (hypothesis: naive bounds)
    max_value=dt.datetime(2099, 12, 31),  # noqa: DTZ001
    timezones=st.just(dt.UTC),
)


@given(instants)
def test_a_stored_instant_reads_in_the_site_zone_to_the_second(moment: dt.datetime) -> None:
    stored = moment.isoformat().replace("+00:00", "Z")
    text = audit_changes({"collected_at": stored}, tz=BERLIN)
    local = moment.astimezone(BERLIN)
    assert text == f"collected_at={local:%Y-%m-%d %H:%M:%S} {local.tzname()}"
    shown = dt.datetime.strptime(text.split("=")[1][:19], "%Y-%m-%d %H:%M:%S").replace(
        tzinfo=BERLIN, fold=local.fold
    )
    assert abs(shown - moment) < dt.timedelta(seconds=1)


def test_a_change_shows_both_moments_and_leaves_other_values_alone() -> None:
    changes = {
        "id": 7,
        "measured_at": ["2026-11-21T05:48:48.630594Z", "2026-11-21T06:00:00Z"],
        "weight_text": ["70 kg", "71 kg"],
        "note": "2026-11-21",  # a date, not an instant: as stored
    }
    assert audit_changes(changes, tz=BERLIN) == (
        "measured_at: 2026-11-21 06:48:48 CET → 2026-11-21 07:00:00 CET; "
        "weight_text: 70 kg → 71 kg; note=2026-11-21"
    )
    assert audit_changes(changes) == (  # no zone given: as stored
        "measured_at: 2026-11-21T05:48:48.630594Z → 2026-11-21T06:00:00Z; "
        "weight_text: 70 kg → 71 kg; note=2026-11-21"
    )


def test_the_full_event_puts_each_change_on_its_own_line_and_keeps_each_value_whole() -> None:
    """A value holding "; " (a reason, a note) stays on its line in the event opened with
    Enter; under the list the changes share one line."""
    changes = {"id": [None, 4], "note": [None, "retest 85 %; dye expired"], "volume_ml": [50, 45]}
    full = audit_event_text(head="#9 update X", reason="", changes=changes, tz=None, full=True)
    assert full.plain.splitlines() == [
        "#9 update X",
        "note=retest 85 %; dye expired",
        "volume_ml: 50 → 45",
    ]
    line = audit_event_text(head="#9 update X", reason="", changes=changes, tz=None)
    assert line.plain.splitlines()[1] == "note=retest 85 %; dye expired; volume_ml: 50 → 45"
