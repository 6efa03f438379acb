"""``audit verify`` against hashing the same rows with hashlib alone.

The baseline streams the same rows through the bare driver cursor and takes SHA-256 of
each row's column values joined with ``|``: the least any check of every row must do.
lottrack additionally builds the canonical JSON, follows the chain and remembers each
row's last audited hash. The verify before optimisation (``legacy_verify``) is timed too.
"""

from __future__ import annotations

import hashlib
from typing import Any

import legacy_verify
from common import Result, paired

from lottrack.storage import audit
from lottrack.storage.audit_verify import EVENT_COLUMNS
from lottrack.storage.db import Database


def _hash_rows(db: Database, statements: list[str]) -> int:
    """SHA-256 of every row of ``statements`` (values joined), driver cursor, streamed."""
    n = 0
    with db.engine.connect() as conn:
        conn.exec_driver_sql("SELECT 1")
        raw = conn.connection.driver_connection
        assert raw is not None
        for i, sql in enumerate(statements):
            cursor: Any = (
                raw.cursor(name=f"bench_{i}") if db.dialect == "postgresql" else raw.cursor()
            )
            cursor.execute(sql)
            while rows := cursor.fetchmany(5000):
                for row in rows:
                    hashlib.sha256("|".join(map(str, row)).encode()).hexdigest()
                n += len(rows)
            cursor.close()
    return n


def run(db: Database, backend: str, *, legacy: bool = True) -> list[Result]:
    """Chain only, chain and rows; each against hashlib over the same rows."""
    q = db.engine.dialect.identifier_preparer.quote
    events_sql = f"SELECT {', '.join(q(c) for c in EVENT_COLUMNS)} FROM audit_event ORDER BY seq"
    rows_sql = [f"SELECT * FROM {q(t.name)}" for t in audit.audited_tables()]

    def verify(rows: bool, impl: Any = audit) -> Any:
        def run_verify() -> audit.VerifyReport:
            with db.engine.connect() as conn:
                report: audit.VerifyReport = impl.verify(conn, rows=rows)
            assert report.ok, report.problems[:3]
            return report

        return run_verify

    report = verify(True)()
    note = f"{report.events} events, {report.rows} rows"
    out = []
    chain_s, base_s = paired(verify(False), lambda: _hash_rows(db, [events_sql]), repeat=3)
    out.append(
        Result(
            backend,
            "audit verify: hash chain",
            chain_s,
            "sha256 of each event's values joined",
            base_s,
            note,
        )
    )
    full_s, base_s = paired(verify(True), lambda: _hash_rows(db, [events_sql, *rows_sql]), repeat=3)
    out.append(
        Result(
            backend,
            "audit verify: chain + every audited row",
            full_s,
            "sha256 of each event's and row's values joined",
            base_s,
            note,
        )
    )
    if legacy:
        old_s, new_s = paired(verify(True, legacy_verify), verify(True), repeat=1, warmup=0)
        out.append(
            Result(
                backend,
                "audit verify before optimisation (chain + rows)",
                old_s,
                "audit verify now",
                new_s,
                "ratio = speed-up",
            )
        )
    return out
