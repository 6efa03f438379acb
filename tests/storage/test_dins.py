"""DIN allocation (design §4.1): per facility and year, never reissued, also under races."""

from __future__ import annotations

import multiprocessing as mp
from multiprocessing.synchronize import Barrier

import pytest
from sqlmodel import select

from lottrack.facility import dins
from lottrack.kernel.errors import ValidationError
from lottrack.kernel.isbt128 import check_character, parse_din
from lottrack.storage import audit
from lottrack.storage.db import Database
from lottrack.storage.models import IssuedDin
from tests.conftest import load, verify_ok


def _allocate(db: Database, fin: str = "A9999", year: int = 26) -> str:
    with db.session() as s:
        audit.set_actor(s, None, "system:test")
        return dins.allocate_din(s, fin=fin, purpose="harvest", year=year)


def test_numbers_run_per_facility_and_year(db: Database) -> None:
    assert [_allocate(db) for _ in range(3)] == ["A999926000001", "A999926000002", "A999926000003"]
    assert _allocate(db, year=27) == "A999927000001"
    assert _allocate(db, fin="B1234") == "B123426000001"
    din = parse_din(_allocate(db))
    assert din.sequence == "000004"
    assert len(check_character(din.code)) == 1
    verify_ok(db)


def test_an_invalid_facility_is_refused(db: Database) -> None:
    with pytest.raises(ValidationError):
        _allocate(db, fin="O1234")  # never O as the first character
    with db.reader() as s:
        assert s.exec(select(IssuedDin)).first() is None


def _worker(url: str, n: int, meet: Barrier) -> None:
    db = Database(url)
    for _ in range(n):
        meet.wait(60)  # both terminals allocate at the same moment, every round
        _allocate(db)
    db.dispose()


@pytest.mark.concurrency
def test_two_terminals_allocating_at_once_never_share_a_din(db: Database) -> None:
    n = load(15)
    ctx = mp.get_context("spawn")
    meet = ctx.Barrier(2)
    procs = [ctx.Process(target=_worker, args=(db.url, n, meet)) for _ in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    with db.reader() as s:
        issued = s.exec(select(IssuedDin.sequence)).all()
    assert sorted(issued) == list(range(1, 2 * n + 1))
    verify_ok(db)
