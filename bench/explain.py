"""Query plans of the lot list's queries and of a lot's audit trail: ``EXPLAIN QUERY PLAN``
on SQLite, ``EXPLAIN ANALYZE`` on PostgreSQL, for the statements
:func:`lottrack.views.listings.lot_page` and :func:`lottrack.views.listings.lot_audit_trail`
send."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from common import captured_sql, driver_connection, person
from sqlalchemy import select
from sqlmodel import Session, col

from lottrack.manufacturing import lots
from lottrack.storage.db import Database
from lottrack.storage.models import Harvest, Lot
from lottrack.views import listings


def plans(db: Database) -> str:
    """The plans, as text (one block per query)."""
    who = person(db, "qa")
    with db.reader() as s:
        din, lot_id = s.execute(
            select(Harvest.din, Lot.id)
            .join(Lot, Lot.harvest_id == Harvest.id)
            .order_by(col(Harvest.id).desc())
            .limit(1)
        ).one()
    cases: dict[str, Callable[[Session], object]] = {
        "first page, newest first": lambda _s: listings.lot_page(db, who),
        "awaiting release, newest first": lambda _s: listings.lot_page(
            db, who, status=lots.AWAITING_RELEASE
        ),
        "DIN lookup": lambda _s: listings.lot_page(db, who, search=din),
        "a lot's audit trail": lambda s: listings.lot_audit_trail(s, who, lot_id),
    }
    out = []
    raw = driver_connection(db)
    for name, action in cases.items():
        with captured_sql(db.engine) as statements, db.tracing() as driver_statements:
            with db.reader() as s:
                action(s)
        statements += driver_statements
        for sql, params in statements:
            if not (
                sql.lstrip().startswith("SELECT")
                and ("FROM lot" in sql or "FROM audit_event" in sql)
            ):
                continue
            prefix = "EXPLAIN QUERY PLAN " if db.dialect == "sqlite" else "EXPLAIN ANALYZE "
            cursor: Any = raw.cursor()
            cursor.execute(prefix + sql, params)
            lines = [
                " | ".join(str(c) for c in row[-1:])
                if db.dialect == "postgresql"
                else f"{row[1]:>3} {row[-1]}"
                for row in cursor.fetchall()
            ]
            cursor.close()
            out.append(f"-- {db.dialect}: {name}\n{' '.join(sql.split())}\n" + "\n".join(lines))
        if db.dialect == "postgresql":
            raw.rollback()
    return "\n\n".join(out)
