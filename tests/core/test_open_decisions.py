"""Which QA decisions a lot is open to (lottrack.release.disposition.open_decisions): what the
review screen offers, from the lot's state and its readiness alone."""

from __future__ import annotations

import pytest

from lottrack.manufacturing import lots
from lottrack.manufacturing.qc import ReleaseReadiness
from lottrack.release.disposition import open_decisions

READY = ReleaseReadiness(missing=(), out_of_spec=())
MISSING = ReleaseReadiness(missing=("Sterility",), out_of_spec=())
OUT = ReleaseReadiness(missing=(), out_of_spec=("CD45 3 % (limit ≤ 2 %)",))
OUT_AND_MISSING = ReleaseReadiness(missing=("Sterility",), out_of_spec=("CD45 3 %",))


@pytest.mark.parametrize(
    ("status", "ready", "offered"),
    [
        (lots.AWAITING_RELEASE, READY, {"release", "reject", "quarantine"}),
        (lots.AWAITING_RELEASE, OUT, {"exceptional", "reject", "quarantine"}),
        (lots.AWAITING_RELEASE, MISSING, {"reject", "quarantine"}),
        (lots.AWAITING_RELEASE, OUT_AND_MISSING, {"reject", "quarantine"}),
        (lots.IN_PROCESS, READY, {"reject", "quarantine"}),
        (lots.QUARANTINED, READY, {"reject", "lift"}),
        (lots.RELEASED, READY, set()),
        (lots.RELEASED_EXCEPTIONAL, OUT, set()),
        (lots.REJECTED, READY, set()),
    ],
)
def test_the_decisions_a_lot_is_open_to(
    status: str, ready: ReleaseReadiness, offered: set[str]
) -> None:
    assert open_decisions(status, ready) == offered
