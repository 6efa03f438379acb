"""The lot list's first page, a DIN lookup and a lot's audit trail, as the UI asks for
them, against the same SQL sent by the bare driver (sqlite3 / psycopg) on an open
connection.

lottrack's side is one user action: :func:`lottrack.views.listings.lot_page` (a read transaction
on a pooled connection, the account re-read for authorisation, the page query, the count,
rows converted to lottrack's types) or :func:`lottrack.views.listings.lot_audit_trail` (an ORM
read session). The baseline replays the statements lottrack sent — for the lot list all
three, in a read transaction of its own like lottrack's; for the trail its event query —
on a driver connection held open for the run, and fetches the raw rows.
"""

from __future__ import annotations

from typing import Any

from common import Result, captured_sql, driver_connection, paired, person
from sqlalchemy import func, select

from lottrack.storage.db import Database
from lottrack.storage.models import Harvest
from lottrack.views import listings

PAGE = 50


def _replay(db: Database, statements: list[tuple[str, Any]]) -> Any:
    driver = driver_connection(db)

    def baseline() -> None:
        cursor = driver.cursor()
        if db.dialect == "sqlite":
            cursor.execute("BEGIN")
        for sql, params in statements:
            cursor.execute(sql, params)
            cursor.fetchall()
        cursor.close()
        driver.rollback()

    return baseline


def run(db: Database, backend: str) -> list[Result]:
    """Lot page, DIN lookup, partial search and a lot's audit trail, each against its
    replayed SQL."""
    who = person(db, "qa")
    with db.reader() as s:
        lots = s.execute(select(func.count()).select_from(Harvest)).scalar_one()
        din = s.execute(
            select(Harvest.din).order_by(Harvest.id).offset(lots // 2).limit(1)
        ).scalar_one()

    def first_page() -> listings.LotPage:
        return listings.lot_page(db, who, limit=PAGE)

    def lookup() -> listings.LotPage:
        return listings.lot_page(db, who, search=din)

    def partial() -> listings.LotPage:
        return listings.lot_page(db, who, search=din[-6:])

    results = []
    for name, action in (
        (f"lot list, first page ({PAGE}, newest first) + count", first_page),
        ("DIN lookup (a whole DIN typed or scanned)", lookup),
        (f"search by part of a DIN (LIKE over {lots} lots)", partial),
    ):
        with db.tracing() as replay:
            page = action()
        assert page.rows, name
        app_s, base_s = paired(action, _replay(db, replay), repeat=15, warmup=2)
        results.append(
            Result(
                backend,
                name,
                app_s,
                f"same {len(replay)} statements, raw "
                f"{'sqlite3' if backend == 'sqlite' else 'psycopg'}",
                base_s,
            )
        )
    middle = lots // 2 + 1

    def trail() -> list[listings.AuditRow]:
        with db.reader() as s:
            return listings.lot_audit_trail(s, who, middle)

    events = [st for st in _captured(db, trail) if "FROM audit_event" in st[0]]
    rows = trail()
    app_s, base_s = paired(trail, _replay(db, events), repeat=15, warmup=2)
    results.append(
        Result(
            backend,
            f"a lot's audit trail ({len(rows)} events)",
            app_s,
            "its event query, raw",
            base_s,
        )
    )
    return results


def _captured(db: Database, action: Any) -> list[tuple[str, Any]]:
    with captured_sql(db.engine) as statements:
        action()
    return statements
