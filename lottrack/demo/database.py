"""``lottrack demo``: a demonstration database with one person per role and a trial in
every state (:mod:`lottrack.demo.trial`).

A demo database is marked as such; the builder never writes into a database that holds
anything else.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import inspect
from sqlalchemy.engine import make_url
from sqlmodel import Session, SQLModel, select

from lottrack.install.bootstrap import initialise
from lottrack.kernel.errors import ValidationError
from lottrack.records.permissions import CurrentUser
from lottrack.storage import audit
from lottrack.storage.db import Database
from lottrack.storage.models import Setting, User

if TYPE_CHECKING:
    from lottrack.demo.trial import DemoContext


@dataclass(frozen=True)
class DemoUser:
    """A demo account."""

    username: str
    full_name: str
    roles: tuple[str, ...]
    password: str


DEMO_USERS: tuple[DemoUser, ...] = (
    DemoUser("admin", "Ada Admin", ("admin",), "admin-demo-pass"),
    DemoUser("tech", "Theo Technician", ("technician",), "tech-demo-pass"),
    DemoUser("tech2", "Tara Technician", ("technician",), "tech2-demo-pass"),
    DemoUser("qa", "Quinn Quality", ("qa",), "qa-demo-pass"),
    DemoUser("pharm", "Pia Pharmacist", ("pharmacist",), "pharm-demo-pass"),
    DemoUser("pharm2", "Paul Pharmacist", ("pharmacist",), "pharm2-demo-pass"),
    DemoUser("ward", "Wendy Ward", ("clinician",), "ward-demo-pass"),
    DemoUser("inv", "Ivan Investigator", ("clinician", "investigator"), "inv-demo-pass"),
)
DEMO_MARK = "demo_database"


def is_demo(db: Database) -> bool | None:
    """True for a demo database, False for one holding other data, None when empty."""
    tables = set(inspect(db.engine).get_table_names())
    if "user" not in tables:
        return None
    with db.reader() as session:
        mark = session.get(Setting, DEMO_MARK)
        if mark is not None and mark.value == "1":
            return True
        return None if session.exec(select(User).limit(1)).first() is None else False


def wipe(db: Database) -> None:
    """Remove a demo database completely (a file is deleted; a server schema is dropped)."""
    url = make_url(db.url)
    db.dispose()
    if url.get_backend_name() == "sqlite" and url.database:
        for suffix in ("", "-wal", "-shm"):
            Path(url.database + suffix).unlink(missing_ok=True)
        return
    with db.engine.begin() as conn:
        SQLModel.metadata.drop_all(conn)
        conn.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")


def build(db: Database, *, force: bool = False, scale: int = 1) -> list[DemoUser]:
    """Build the demo into ``db``. Refuses a database that holds non-demo data.

    ``scale`` N > 1 adds (N − 1) × 12 subjects in bulk after the demo trial
    (:mod:`lottrack.demo.bulk`), for load work: N × 12 subjects in all."""
    if scale < 1:
        raise ValidationError("Scale: must be a whole number of at least 1.", field="scale")
    state = is_demo(db)
    if state is False:
        raise ValidationError(
            "This database holds non-demo data; the demo is never written into it. "
            "Choose another --db.",
            title="Not a demo database",
        )
    if state is True:
        if not force:
            raise ValidationError(
                "A demo database already exists here; use --force to rebuild it.",
                title="Demo exists",
            )
        wipe(db)
        db = Database(db.url)
    initialise(db)
    # The trial builder drives every service: loaded only when a demo is built, so that
    # opening an existing demo (lottrack --demo) stays quick.
    from lottrack.demo.trial import DemoContext, build_trial

    ctx = DemoContext(db=db, users={})
    with db.session() as session:
        audit.set_actor(session, None, "system:demo")
        session.add(Setting(key=DEMO_MARK, value="1"))
        _add_users(session, ctx)
    ctx.scale = scale
    build_trial(ctx, {u.username: u.password for u in DEMO_USERS})
    if scale > 1:
        # The first unit is built through the services; the other N − 1 in bulk, written
        # and audited as the services would (lottrack.demo.bulk): N × 12 subjects in all.
        from lottrack.demo.bulk import add_units

        add_units(db, scale - 1)
    return list(DEMO_USERS)


def _add_users(session: Session, ctx: DemoContext) -> None:
    from lottrack.records.accounts import hash_password

    for du in DEMO_USERS:
        user = User(
            username=du.username,
            full_name=du.full_name,
            roles=",".join(sorted(du.roles)),
            password_hash=hash_password(du.password),
        )
        session.add(user)
        session.flush()
        ctx.users[du.username] = CurrentUser.of(user)
