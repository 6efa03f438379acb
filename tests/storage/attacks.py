"""What an attacker with write access to the database does (design §6.9), as the tests of
the anchored audit trail perform it: switch off the append-only triggers (the owner
can), edit or delete rows and events, and recompute every hash after the edit."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection, Table, text

from lottrack.storage import audit
from lottrack.storage.db import Database

APPEND_ONLY = ("audit_event", "audit_checkpoint")


def unprotect(conn: Connection) -> None:
    """Switch off the triggers that keep the trail append-only (as the owner could)."""
    for table in APPEND_ONLY:
        if conn.dialect.name == "postgresql":
            conn.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER USER"))
        else:
            for verb in ("update", "delete"):
                conn.execute(text(f"DROP TRIGGER IF EXISTS {table}_no_{verb}"))


def tamper(db: Database, *statements: str) -> None:
    """Run SQL statements behind the application's back, triggers off."""
    with db.engine.begin() as conn:
        unprotect(conn)
        for statement in statements:
            conn.execute(text(statement))


def recompute_chain(conn: Connection) -> int:
    """Rewrite prev_hash and hash of every event so that the chain verifies again;
    returns the number of events rewritten."""
    table = audit.EVENT_TABLE
    rows = [dict(r) for r in conn.execute(table.select().order_by(table.c.seq)).mappings()]
    prev = audit.GENESIS_HASH
    for row in rows:
        new = audit.event_hash(prev, row)
        conn.execute(
            table.update().where(table.c.seq == row["seq"]).values(prev_hash=prev, hash=new)
        )
        prev = new
    return len(rows)


def rewrite_record(db: Database, table: Table, key: dict[str, Any], values: dict[str, Any]) -> None:
    """The recompute-the-chain attack: change a record, make its last event say it was
    always so (changes and row hash), and recompute every hash after it."""
    with db.engine.begin() as conn:
        unprotect(conn)
        where = [table.c[k] == v for k, v in key.items()]
        conn.execute(table.update().where(*where).values(**values))
        row = dict(conn.execute(table.select().where(*where)).mappings().one())
        events = audit.EVENT_TABLE
        pk = ",".join(str(row[c.name]) for c in table.primary_key.columns)
        last = (
            conn.execute(
                events.select()
                .where(events.c.entity == table.name, events.c.entity_id == pk)
                .order_by(events.c.seq.desc())
                .limit(1)
            )
            .mappings()
            .one()
        )
        changes = json.loads(last["changes"])
        for name, value in values.items():
            if name in changes:
                changes[name][1] = audit.canonical_value(table.c[name], value)
        conn.execute(
            events.update()
            .where(events.c.seq == last["seq"])
            .values(changes=audit.canonical_json(changes), row_hash=audit.row_hash(table, row))
        )
        recompute_chain(conn)
