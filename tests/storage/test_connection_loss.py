"""Connection loss (#17 item 10): after the PostgreSQL server dropped every connection (a
restart; here pg_terminate_backend, so the shared server keeps running), the next read
works on a fresh connection with no error shown; a write whose connection was lost is
never retried silently: it fails saying nothing was saved, and nothing was."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url
from sqlmodel import select

from lottrack.records.permissions import CurrentUser
from lottrack.storage import audit
from lottrack.storage.db import Database, StorageError
from lottrack.storage.models import Setting, User
from lottrack.views import listings

pytestmark = pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)


def _drop_connections(admin: Engine, db: Database) -> int:
    """What a server restart does to the database's clients: every backend ends."""
    with admin.connect() as conn:
        return len(
            conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :name AND pid <> pg_backend_pid()"
                ),
                {"name": make_url(db.url).database},
            ).all()
        )


def test_reads_after_the_server_dropped_the_connections_succeed(
    db: Database, pg_admin: Engine, make_user: Callable[..., CurrentUser]
) -> None:
    tech = make_user("technician")
    assert listings.lot_page(db, tech).total == 0  # the driver reader's connection, kept
    with db.reader() as s:  # and one in the engine's pool
        assert s.exec(select(User).where(User.username == tech.username)).one()
    assert _drop_connections(pg_admin, db) >= 2

    assert listings.lot_page(db, tech).total == 0  # the lot list: no "connection is lost"
    with db.reader() as s:
        assert s.exec(select(User).where(User.username == tech.username)).one()
    assert _drop_connections(pg_admin, db) >= 1
    with db.reader() as s:
        assert s.get(User, tech.id) is not None


def test_a_write_whose_connection_was_lost_fails_and_is_not_retried(
    db: Database, pg_admin: Engine
) -> None:
    with pytest.raises(StorageError, match="nothing was saved"), db.session() as s:
        audit.set_actor(s, None, "system:test")
        s.add(Setting(key="written-once", value="1"))
        s.flush()  # the insert and its audit event reached the server
        _drop_connections(pg_admin, db)
    with db.reader() as s:
        assert s.get(Setting, "written-once") is None
    with db.session() as s:  # the next write, on a fresh connection, works
        audit.set_actor(s, None, "system:test")
        s.add(Setting(key="written-after", value="1"))
    with db.reader() as s:
        assert s.get(Setting, "written-after") is not None
