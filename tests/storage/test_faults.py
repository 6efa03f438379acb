"""Faults (design §6.1, §11): a killed writer, a read-only or full disk, online backups."""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlmodel import select

from lottrack.kernel.errors import ValidationError
from lottrack.storage import audit
from lottrack.storage.backup import backup
from lottrack.storage.db import Database, StorageError
from lottrack.storage.models import AuditEvent, Setting
from tests.conftest import verify_ok

pytestmark = pytest.mark.concurrency


def _settings(db: Database) -> set[str]:
    with db.reader() as s:
        return {row.key for row in s.exec(select(Setting)).all()}


def _half_done_writer(url: str, ready: mp.synchronize.Event) -> None:
    db = Database(url)
    with db.session() as s:
        audit.set_actor(s, None, "system:doomed")
        s.add(Setting(key="half-done", value="1"))
        s.flush()  # the row and its audit event are written, not committed
        ready.set()
        time.sleep(60)


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX signals")
def test_a_writer_killed_mid_transaction_loses_only_its_own_operation(db: Database) -> None:
    with db.session() as s:
        audit.set_actor(s, None, "system:test")
        s.add(Setting(key="committed", value="1"))
    ctx = mp.get_context("spawn")
    ready = ctx.Event()
    proc = ctx.Process(target=_half_done_writer, args=(db.url, ready))
    proc.start()
    assert ready.wait(60)
    assert proc.pid is not None
    os.kill(proc.pid, signal.SIGKILL)
    proc.join(30)
    fresh = Database(db.url)  # as a terminal would after the crash
    try:
        assert _settings(fresh) >= {"committed"}
        assert "half-done" not in _settings(fresh)
        with fresh.session() as s:  # and the database takes writes again
            audit.set_actor(s, None, "system:test")
            s.add(Setting(key="after-crash", value="1"))
        verify_ok(fresh)
    finally:
        fresh.dispose()


def test_a_read_only_database_gives_a_clear_error_and_no_partial_record(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "ro.db"
    rw = Database(f"sqlite:///{path}")
    from lottrack.install import bootstrap

    bootstrap.initialise(rw)
    rw.dispose()
    ro = Database(f"sqlite:///file:{path}?mode=ro&uri=true")
    with pytest.raises(StorageError, match="nothing was saved") as info, ro.session() as s:
        audit.set_actor(s, None, "system:test")
        s.add(Setting(key="x", value="1"))
    assert "readonly" in info.value.message.replace("-", "").replace(" ", "")
    ro.dispose()
    # Opening a file: URI created nothing (once a folder named "file:" in the working one).
    assert not (tmp_path / "file:").exists()
    again = Database(f"sqlite:///{path}")
    assert "x" not in _settings(again)
    verify_ok(again)
    again.dispose()


def test_a_full_disk_gives_a_clear_error_and_no_partial_record(tmp_path: Path) -> None:
    path = tmp_path / "full.db"
    db = Database(f"sqlite:///{path}")
    from lottrack.install import bootstrap

    bootstrap.initialise(db)
    with db.engine.connect() as conn:
        pages = conn.exec_driver_sql("PRAGMA page_count").scalar()
    engine = db.engine

    from sqlalchemy import event

    @event.listens_for(engine, "connect")
    def _cap(dbapi_connection, _record):  # type: ignore[no-untyped-def]
        dbapi_connection.execute(f"PRAGMA max_page_count={pages}")

    engine.dispose()
    with pytest.raises(StorageError, match="full") as info, db.session() as s:
        audit.set_actor(s, None, "system:test")
        s.add(Setting(key="big", value="x" * 150))
        s.add_all([Setting(key=f"k{i}", value="y" * 150) for i in range(2000)])
    assert "nothing was saved" in info.value.message
    with db.reader() as s:
        assert s.exec(select(Setting).where(Setting.key == "big")).first() is None
    db.dispose()


def _busy_writer(url: str, stop: mp.synchronize.Event) -> None:
    db = Database(url)
    n = 0
    while not stop.is_set() and n < 500:
        with db.session() as s:
            audit.set_actor(s, None, "system:busy")
            s.add(Setting(key=f"busy-{n}", value=str(n)))
        n += 1
    db.dispose()


def _restored(db: Database, dump: Path, tmp_path: Path) -> Database:
    if db.dialect == "sqlite":
        return Database(f"sqlite:///{dump}")
    url = make_url(db.url)
    options = url.query.get("options")  # a test schema, or the database's own (public)
    schema = str(options).split("search_path=", 1)[1] if options else "public"
    name = f"restore_{os.getpid()}_{time.monotonic_ns() % 10**6}"
    admin = create_engine(url.set(query={}), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    target = url.set(database=name, drivername="postgresql", query={})
    subprocess.run(
        [
            "pg_restore",
            "--no-owner",
            "--dbname",
            target.render_as_string(hide_password=False),
            str(dump),
        ],
        check=True,
    )
    return Database(
        url.set(database=name)
        .update_query_dict({"options": f"-csearch_path={schema}"})
        .render_as_string(hide_password=False)
    )


def test_backup_while_another_terminal_writes_gives_a_copy_that_verifies(
    db: Database, tmp_path: Path
) -> None:
    ctx = mp.get_context("spawn")
    stop = ctx.Event()
    writer = ctx.Process(target=_busy_writer, args=(db.url, stop))
    writer.start()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # wait until the writer is really writing
        with db.reader() as s:
            if s.exec(select(AuditEvent).where(AuditEvent.username == "system:busy")).first():
                break
        time.sleep(0.05)
    result = backup(db.url, tmp_path / "copy.bak")
    stop.set()
    writer.join(60)
    assert result.bytes > 0
    copy = _restored(db, result.path, tmp_path)
    try:
        report = verify_ok(copy)
        assert report.events > 0
    finally:
        copy.dispose()
        if db.dialect == "postgresql":
            url = make_url(copy.url)
            admin = create_engine(
                url.set(database=make_url(db.url).database, query={}), isolation_level="AUTOCOMMIT"
            )
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE "{url.database}" WITH (FORCE)'))
            admin.dispose()
    with pytest.raises(ValidationError, match="already exists"):
        backup(db.url, result.path)
