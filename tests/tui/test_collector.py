"""Full garbage collections run while the person rests, not while a screen opens (#18)."""

from __future__ import annotations

import gc
import time
from collections.abc import Iterator

import pytest

from lottrack.storage.db import Database
from tests.tui.helpers import login, until
from tui.app import LotTrackApp
from tui.common import collector
from tui.common.collector import RestingCollector


@pytest.fixture
def resting() -> Iterator[RestingCollector]:
    before = gc.get_threshold()
    made = RestingCollector()
    yield made
    made.stop()
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


def _pending(n: int) -> None:
    """``n`` passes of the younger generations since the last full collection."""
    gc.collect()
    for _ in range(n):
        gc.collect(1)
    assert gc.get_count()[2] == n


def test_the_full_collection_waits_for_a_quiet_moment(resting: RestingCollector) -> None:
    young, middle, oldest = gc.get_threshold()
    resting.start()
    assert gc.get_threshold() == (young, middle, collector.NEVER)
    _pending(oldest)
    assert not resting.tick(quiet_for_s=collector.QUIET_S - 0.5)  # a key was just pressed
    assert gc.get_count()[2] == oldest
    assert resting.tick(quiet_for_s=collector.QUIET_S)
    assert gc.get_count()[2] == 0  # collected
    assert not resting.tick(quiet_for_s=60)  # nothing pending: nothing to do
    assert resting.collections == 1


def test_a_person_who_never_rests_still_gets_collections(resting: RestingCollector) -> None:
    resting.start()
    _pending(collector.AT_MOST_PENDING - 1)
    assert not resting.tick(quiet_for_s=0)
    gc.collect(1)
    assert resting.tick(quiet_for_s=0)
    assert gc.get_count()[2] == 0


def test_what_is_loaded_is_frozen_and_given_back(resting: RestingCollector) -> None:
    resting.freeze()
    assert gc.get_freeze_count() == 0  # not started: the process's collector untouched
    assert not resting.tick(quiet_for_s=60)
    resting.start()
    resting.freeze()
    frozen = gc.get_freeze_count()
    assert frozen > 1000  # the modules loaded so far
    resting.freeze()
    assert gc.get_freeze_count() == frozen  # once
    resting.stop()
    assert gc.get_freeze_count() == 0


@pytest.mark.asyncio
async def test_the_app_collects_at_rest_and_gives_the_collector_back(
    app: LotTrackApp, demo_db: Database
) -> None:
    before = gc.get_threshold()
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot, "qa")
        assert gc.get_threshold()[2] == collector.NEVER
        await until(  # the database layer and the screens, once loaded, are frozen
            pilot, lambda: gc.get_freeze_count() > 0, "the loaded modules to be frozen"
        )
        _pending(before[2])
        now = time.monotonic()
        app.note_activity(now)
        assert not app.collect_at_rest(now + 1)
        assert app.collect_at_rest(now + collector.QUIET_S)
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0
