"""``audit.verify`` as it was before it was optimised (kept for the before/after figure).

It reads events and rows through SQLAlchemy result mappings and hashes them with
``audit.event_hash`` / ``audit.row_hash``, one dict per row.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select

from lottrack.storage.audit import (
    EVENT_TABLE,
    GENESIS_HASH,
    VerifyReport,
    _pk,
    audited_tables,
    event_hash,
    row_hash,
)


def verify(conn: Connection, *, max_problems: int = 50, rows: bool = True) -> VerifyReport:
    """The chain, then (``rows``) every audited row against its last audited hash."""
    report = VerifyReport()
    latest: dict[str, dict[str, str]] = {}
    expected_seq = 1
    prev = GENESIS_HASH
    chain_broken = False
    result = conn.execution_options(yield_per=5000).execute(
        select(EVENT_TABLE).order_by(EVENT_TABLE.c.seq)
    )
    for mapping in result.mappings():
        ev: dict[str, Any] = dict(mapping)
        report.events += 1
        if not chain_broken:
            problem = None
            if ev["seq"] != expected_seq:
                problem = f"audit event #{ev['seq']}: expected sequence number {expected_seq}"
            elif ev["prev_hash"] != prev:
                problem = f"audit event #{ev['seq']}: does not link to the event before it"
            elif event_hash(prev, ev) != ev["hash"]:
                problem = f"audit event #{ev['seq']}: content does not match its hash"
            if problem:
                report.problems.append(problem)
                chain_broken = True
            prev = ev["hash"]
            expected_seq += 1
        if ev["row_hash"] is not None:
            latest.setdefault(ev["entity"], {})[ev["entity_id"]] = ev["row_hash"]
    if not rows:
        return report
    for table in audited_tables():
        seen: set[str] = set()
        audited = latest.get(table.name, {})
        for mapping in conn.execute(select(table)).mappings():
            row = dict(mapping)
            report.rows += 1
            pk = _pk(table, row)
            seen.add(pk)
            expected = audited.get(pk)
            if expected is None or expected != row_hash(table, row):
                report.problems.append(f"{table.name} id {pk}")
            if len(report.problems) >= max_problems:
                return report
        report.problems.extend(f"{table.name} id {pk}: deleted" for pk in audited if pk not in seen)
    return report
