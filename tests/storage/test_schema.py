"""init on an empty database, then again: schema at head, rows kept (both backends)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlmodel import SQLModel, select

from lottrack.install import bootstrap
from lottrack.records.permissions import CurrentUser
from lottrack.storage import schema
from lottrack.storage.db import Database
from lottrack.storage.models import User
from tests.conftest import verify_ok


def test_init_creates_schema_at_head_and_first_admin(empty_db: Database) -> None:
    result = bootstrap.initialise(
        empty_db, admin="root", full_name="Root Admin", password="root-password-1"
    )
    assert result.revision_before is None
    assert result.revision_after == schema.head_revision()
    assert result.admin_created
    assert schema.current_revision(empty_db.engine) == schema.head_revision()
    tables = set(inspect(empty_db.engine).get_table_names())
    assert set(SQLModel.metadata.tables) <= tables
    verify_ok(empty_db)


def test_init_again_keeps_every_row(empty_db: Database) -> None:
    bootstrap.initialise(empty_db, admin="root", full_name="Root Admin", password="root-password-1")
    with empty_db.reader() as s:
        before = [(u.username, u.password_hash) for u in s.exec(select(User)).all()]
    again = bootstrap.initialise(
        empty_db, admin="other", full_name="Other", password="other-password-1"
    )
    assert again.revision_before == again.revision_after == schema.head_revision()
    assert not again.admin_created  # an admin exists: init never adds a second one
    with empty_db.reader() as s:
        after = [(u.username, u.password_hash) for u in s.exec(select(User)).all()]
    assert after == before
    verify_ok(empty_db)


def test_migrations_match_the_models(db: Database) -> None:
    """The migrated schema is exactly what the models declare (no drift)."""
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
    assert diff == []


def test_sqlite_runs_in_wal_with_foreign_keys(tmp_path: object) -> None:
    db = Database(f"sqlite:///{tmp_path}/x.db")
    with db.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() == 30000
    db.dispose()


def test_a_migration_that_adds_a_column_keeps_the_audit_trail_verifying(
    db: Database, admin: CurrentUser, make_user: Callable[..., CurrentUser]
) -> None:
    """0003 adds ``dispensing.use_by``: every dispensing gets a ``migrate`` event with its
    new hash, so ``audit verify`` still finds every row as audited (down and up again)."""
    from alembic import command

    from lottrack.storage.models import AuditEvent, Dispensing, User, utcnow
    from lottrack.trial import allocation
    from tests.factories import make_scenario

    sc = make_scenario(db, admin, make_user)
    subject = sc.subject("TLS-901", dt.date(1970, 1, 1))
    lot_id, bag = sc.made_lot(subject)
    sc.release(lot_id)
    v1, _ = sc.enrol(subject, allocation.MSC_FIRST, utcnow().date())
    sc.dispense(v1, msc_bag=bag)
    cfg = schema.alembic_config()
    with db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0002")
    db.engine.dispose()
    assert schema.upgrade(db.engine) == ("0002", schema.head_revision())
    verify_ok(db)
    with db.reader() as s:
        migrated = s.exec(select(AuditEvent).where(AuditEvent.action == "migrate")).all()
        dispensings = s.exec(select(Dispensing)).all()
        users = s.exec(select(User)).all()
    assert [(e.entity, e.entity_id) for e in migrated if e.entity == "dispensing"] == [
        ("dispensing", str(d.id)) for d in dispensings
    ]
    # 0004 adds user.password_history: one event per account as well
    assert sorted(e.entity_id for e in migrated if e.entity == "user") == sorted(
        str(u.id) for u in users
    )
    assert {e.entity for e in migrated} == {"dispensing", "user"}
    assert [d.use_by for d in dispensings] == [None]  # the value went with the downgrade
