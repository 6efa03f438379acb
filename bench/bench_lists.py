"""The lot list's first page, a DIN lookup and a lot's audit trail, as the UI asks for
them, against the same SQL sent by the bare driver (sqlite3 / psycopg) on an open
connection.

lottrack's side is one user action: a read session, :func:`lottrack.listings.lot_page`
(authorisation, the page query, the count) or :func:`lottrack.listings.lot_audit_trail`,
frozen rows back. The baseline replays the statements lottrack sent to the lot list (or
the trail's event query), captured from the engine, and fetches the rows.
"""

from __future__ import annotations

from typing import Any

from common import Result, captured_sql, driver_connection, paired, person
from sqlalchemy import func, select

from lottrack import listings
from lottrack.db import Database
from lottrack.models import Harvest

PAGE = 50


def _replay(db: Database, statements: list[tuple[str, Any]]) -> Any:
    driver = driver_connection(db)

    def baseline() -> None:
        cursor = driver.cursor()
        for sql, params in statements:
            cursor.execute(sql, params)
            cursor.fetchall()
        cursor.close()
        if db.dialect == "postgresql":
            driver.rollback()

    return baseline


def _lottrack_queries(statements: list[tuple[str, Any]]) -> list[tuple[str, Any]]:
    """The page and count queries (not the authorisation's user lookup, not BEGIN)."""
    return [s for s in statements if s[0].lstrip().startswith("SELECT") and "FROM lot" in s[0]]


def run(db: Database, backend: str) -> list[Result]:
    """Lot page, DIN lookup, partial search and a lot's audit trail, each against its
    replayed SQL."""
    who = person(db, "qa")
    with db.reader() as s:
        lots = s.execute(select(func.count()).select_from(Harvest)).scalar_one()
        din = s.execute(select(Harvest.din).order_by(Harvest.id).offset(lots // 2)
                        .limit(1)).scalar_one()

    def first_page() -> listings.LotPage:
        with db.reader() as s:
            return listings.lot_page(s, who, limit=PAGE)

    def lookup() -> listings.LotPage:
        with db.reader() as s:
            return listings.lot_page(s, who, search=din)

    def partial() -> listings.LotPage:
        with db.reader() as s:
            return listings.lot_page(s, who, search=din[-6:])

    results = []
    for name, action in ((f"lot list, first page ({PAGE}, newest first) + count", first_page),
                         ("DIN lookup (a whole DIN typed or scanned)", lookup),
                         (f"search by part of a DIN (LIKE over {lots} lots)", partial)):
        with captured_sql(db.engine) as statements:
            page = action()
        assert page.rows, name
        replay = _lottrack_queries(statements)
        app_s, base_s = paired(action, _replay(db, replay), repeat=15, warmup=2)
        results.append(Result(backend, name, app_s, f"same {len(replay)} statements, raw "
                              f"{'sqlite3' if backend == 'sqlite' else 'psycopg'}", base_s))
    middle = lots // 2 + 1

    def trail() -> list[listings.AuditRow]:
        with db.reader() as s:
            return listings.lot_audit_trail(s, who, middle)

    events = [st for st in _captured(db, trail) if "FROM audit_event" in st[0]]
    rows = trail()
    app_s, base_s = paired(trail, _replay(db, events), repeat=5, warmup=1)
    results.append(Result(backend, f"a lot's audit trail ({len(rows)} events)", app_s,
                          "its event query, raw", base_s))
    return results


def _captured(db: Database, action: Any) -> list[tuple[str, Any]]:
    with captured_sql(db.engine) as statements:
        action()
    return statements
