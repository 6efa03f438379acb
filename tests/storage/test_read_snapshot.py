"""A read sees one moment of the database, however many statements it takes: a batch
record, a certificate or a page of lots and its count never mix before and after another
terminal's commit (SQLite's read transaction; REPEATABLE READ on PostgreSQL)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, text
from sqlalchemy import select as sa_select
from sqlmodel import select

from lottrack.storage import audit, fastsql
from lottrack.storage.db import Database
from lottrack.storage.models import Setting


def _add_setting(db: Database, key: str) -> None:
    with db.session() as w:
        audit.set_actor(w, None, "system:test")
        w.add(Setting(key=key, value="1"))


def test_a_read_session_does_not_see_a_commit_made_while_it_reads(db: Database) -> None:
    with db.reader() as s:
        before = s.exec(select(func.count()).select_from(Setting)).one()
        _add_setting(db, "committed-meanwhile")  # another terminal, mid-read
        assert s.exec(select(func.count()).select_from(Setting)).one() == before
        assert s.exec(select(Setting).where(Setting.key == "committed-meanwhile")).first() is None
    with db.reader() as s:  # the next read sees it
        assert s.exec(select(func.count()).select_from(Setting)).one() == before + 1


def test_a_driver_read_does_not_see_a_commit_made_while_it_reads(db: Database) -> None:
    counted = fastsql.Prepared.of(sa_select(func.count()).select_from(Setting), db.engine.dialect)
    for round_ in range(2):  # a new connection, then the same one reused
        with db.driver_reader() as reader:
            before = reader.rows(counted, {})[0][0]
            _add_setting(db, f"meanwhile-{round_}")
            assert reader.rows(counted, {})[0][0] == before
        with db.driver_reader() as reader:
            assert reader.rows(counted, {})[0][0] == before + 1


def test_postgresql_connections_compile_no_statement_just_in_time(db: Database) -> None:
    """#18: JIT compiled the technician's work list for 430 ms on PostgreSQL at N = 1000
    (a 46 ms statement); every connection lottrack opens turns it off."""
    if db.dialect != "postgresql":
        pytest.skip("JIT is PostgreSQL's")
    with db.reader() as s:
        assert s.execute(text("SHOW jit")).scalar_one() == "off"
    with db.session() as s:
        assert s.execute(text("SHOW jit")).scalar_one() == "off"
    show = fastsql.Prepared.of(sa_select(func.current_setting("jit")), db.engine.dialect)
    with db.driver_reader() as reader:
        assert reader.rows(show, {})[0][0] == "off"
