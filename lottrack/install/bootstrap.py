"""``lottrack init``: create or upgrade the schema, seed defaults, create the first admin."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlmodel import Session, select

from lottrack.kernel.private_files import tighten
from lottrack.records import accounts
from lottrack.storage import audit, schema
from lottrack.storage.db import Database
from lottrack.storage.models import User


def _seeders() -> list[Callable[[Session], None]]:
    """Functions that put the defaults of a fresh database in place; each is idempotent
    and runs inside ``init`` with the actor ``system:init``."""
    from lottrack.manufacturing.specifications import seed_v1
    from lottrack.storage.anchors import seed_database_id

    return [seed_database_id, seed_v1]


@dataclass(frozen=True)
class InitResult:
    """What ``init`` did."""

    revision_before: str | None
    revision_after: str
    admin_created: bool
    users: int


def needs_admin(db: Database) -> bool:
    """True when the schema exists but no account does (or the schema is missing)."""
    if schema.current_revision(db.engine) is None:
        return True
    with db.reader() as session:
        return session.exec(select(User).limit(1)).first() is None


def initialise(
    db: Database,
    *,
    admin: str | None = None,
    full_name: str | None = None,
    password: str | None = None,
) -> InitResult:
    """Migrate to head (keeping every row), seed defaults, and create the first admin."""
    before, after = schema.upgrade(db.engine)
    if db.dialect == "sqlite" and db.engine.url.database:
        for suffix in ("", "-wal", "-shm"):  # a file made before lottrack made it 0600
            tighten(Path(db.engine.url.database + suffix))
    with db.session() as session:
        audit.set_actor(session, None, "system:init")
        for seed in _seeders():
            seed(session)
    created = False
    with db.session() as session:
        has_users = session.exec(select(User).limit(1)).first() is not None
        if admin and not has_users:
            if password is None:
                raise ValueError("password required")
            accounts.create_first_admin(session, admin, full_name or admin, password)
            created = True
    with db.reader() as session:
        count = len(session.exec(select(User.id)).all())
    return InitResult(before, after, created, count)
