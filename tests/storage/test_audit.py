"""The audit trail: captured for every GMP write, hash-chained, tamper-evident (design §6.1)."""

from __future__ import annotations

import json
import multiprocessing as mp
from multiprocessing.synchronize import Barrier

import pytest
from sqlalchemy import update
from sqlmodel import col, select

from lottrack.kernel.errors import LotTrackError, ValidationError
from lottrack.records.permissions import CurrentUser
from lottrack.storage import audit
from lottrack.storage.db import Database
from lottrack.storage.models import AuditEvent, Setting, User
from tests.conftest import load, verify_ok
from tests.storage.attacks import tamper


def _events(db: Database) -> list[AuditEvent]:
    with db.reader() as s:
        return list(s.exec(select(AuditEvent).order_by(col(AuditEvent.seq))).all())


def _report(db: Database) -> audit.VerifyReport:
    with db.engine.connect() as conn:
        return audit.verify(conn)


def _add_settings(db: Database, *keys: str) -> None:
    with db.session() as s:
        audit.set_actor(s, None, "system:test")
        for key in keys:
            s.add(Setting(key=key, value="1"))


def test_every_insert_and_update_is_audited_with_user_and_changes(
    db: Database, admin: CurrentUser
) -> None:
    with db.session() as s:
        audit.set_actor(s, admin.id, admin.username)
        user = s.get(User, admin.id)
        assert user is not None
        with audit.reason(s, "name misspelt at creation"):
            user.full_name = "Root Administrator"
    events = _events(db)
    insert, change = events[-2], events[-1]
    assert (insert.action, insert.entity, insert.entity_id) == ("insert", "user", str(admin.id))
    assert json.loads(insert.changes)["password_hash"] == [None, "***"]  # never in the trail
    assert change.action == "update"
    assert change.username == "root"
    assert change.reason == "name misspelt at creation"
    assert json.loads(change.changes) == {"full_name": ["Root Admin", "Root Administrator"]}
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    verify_ok(db)


def test_update_without_reason_is_refused_and_row_unchanged(
    db: Database, admin: CurrentUser
) -> None:
    count_before = len(_events(db))
    with pytest.raises(ValidationError, match="reason is required"), db.session() as s:
        audit.set_actor(s, admin.id, admin.username)
        user = s.get(User, admin.id)
        assert user is not None
        user.full_name = "Someone Else"
    with db.reader() as s:
        user = s.get(User, admin.id)
        assert user is not None
        assert user.full_name == "Root Admin"
    assert len(_events(db)) == count_before


def test_write_without_a_person_is_refused(db: Database) -> None:
    with pytest.raises(LotTrackError, match="No user is attached"), db.session() as s:
        s.add(Setting(key="x", value="1"))
    with db.reader() as s:
        assert s.get(Setting, "x") is None


def test_delete_and_bulk_update_of_gmp_rows_are_refused(db: Database, admin: CurrentUser) -> None:
    with pytest.raises(ValidationError, match="never deleted"), db.session() as s:
        audit.set_actor(s, admin.id, admin.username)
        s.delete(s.get(User, admin.id))
    with pytest.raises(LotTrackError, match="bypass the audit trail"), db.session() as s:
        audit.set_actor(s, admin.id, admin.username)
        s.execute(update(User).values(full_name="bulk"))
    with db.reader() as s:
        user = s.get(User, admin.id)
        assert user is not None
        assert user.full_name == "Root Admin"
    verify_ok(db)


def test_untouched_database_verifies(db: Database, admin: CurrentUser) -> None:
    _add_settings(db, "a", "b", "c")
    report = verify_ok(db)
    assert report.events == len(_events(db))
    assert report.rows >= 4


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        (
            "UPDATE audit_event SET reason = 'nothing to see' WHERE seq = 2",
            "audit event #2: content does not match its hash",
        ),
        ("DELETE FROM audit_event WHERE seq = 2", "audit event #3: expected sequence number 2"),
        (
            "UPDATE audit_event SET seq = -1 WHERE seq = 2; "
            "UPDATE audit_event SET seq = 2 WHERE seq = 3; "
            "UPDATE audit_event SET seq = 3 WHERE seq = -1",
            "audit event #2: ",
        ),
        ("UPDATE audit_event SET hash = prev_hash WHERE seq = 3", "audit event #3"),
        (
            "UPDATE setting SET value = '2' WHERE key = 'b'",
            "setting id b: current values differ from the last audited values",
        ),
        (
            "INSERT INTO setting (key, value) VALUES ('sneaky', '1')",
            "setting id sneaky: row is not in the audit trail",
        ),
        ("DELETE FROM setting WHERE key = 'c'", "setting id c: audited row has been deleted"),
    ],
    ids=[
        "event-modified",
        "event-deleted",
        "events-reordered",
        "hash-rewritten",
        "row-edited",
        "row-inserted",
        "row-deleted",
    ],
)
def test_each_kind_of_tampering_is_detected(db: Database, sql: str, expected: str) -> None:
    _add_settings(db, "a", "b", "c")
    verify_ok(db)
    tamper(db, *sql.split("; "))
    report = _report(db)
    assert not report.ok
    assert report.problems[0].startswith(expected), report.problems


def _append_worker(url: str, prefix: str, n: int, meet: Barrier) -> None:
    db = Database(url)
    for i in range(n):
        meet.wait(60)  # both processes append at the same moment, every round
        with db.session() as s:
            audit.set_actor(s, None, f"system:{prefix}")
            s.add(Setting(key=f"{prefix}-{i}", value=str(i)))
    db.dispose()


@pytest.mark.concurrency
def test_two_processes_appending_at_once_leave_one_valid_chain(db: Database) -> None:
    before = len(_events(db))
    n = load(25)
    ctx = mp.get_context("spawn")
    meet = ctx.Barrier(2)
    procs = [
        ctx.Process(target=_append_worker, args=(db.url, p, n, meet)) for p in ("left", "right")
    ]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    events = _events(db)
    assert len(events) == before + 2 * n
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert {e.username for e in events[before:]} == {"system:left", "system:right"}
    verify_ok(db)
