"""Releasing a lot end to end (QA's signed release through ``lottrack.demo.scenario``) against
the bare INSERT and UPDATE statements that release causes, replayed by the driver.

lottrack's side re-reads the account, checks the password (argon2: the benchmarks switch to the
test suite's cheap argon2 profile, so the check is cheap; the cost of one
default argon2id check is shown on its own line), locks the lot, checks readiness and
separation of duties, reads the batch record to sign it, writes signature, decision, the
lot's new status and their audit events. The baseline replays only the writes, in a
transaction that is rolled back. Each release uses another conforming lot that awaits
release, so a run consumes a dozen of them.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from argon2 import PasswordHasher
from common import Result, captured_sql, driver_connection, paired, person
from sqlalchemy import select
from sqlmodel import Session, col

from lottrack.demo import database as demo
from lottrack.demo.scenario import Cast, Scenario
from lottrack.demo.trial import CAST_ROLES
from lottrack.manufacturing import lots, qc
from lottrack.storage.db import Database
from lottrack.storage.models import Lot

REPEAT = 9


def _releasable(db: Database, wanted: int) -> Iterator[int]:
    with db.reader() as s:
        candidates = (
            s.execute(
                select(Lot).where(Lot.status == lots.AWAITING_RELEASE).order_by(col(Lot.id).desc())
            )
            .scalars()
            .all()
        )
        ready = [lot.id for lot in candidates if qc.readiness(s, lot).ready]
    if len(ready) < wanted:
        raise SystemExit(
            f"release benchmark: only {len(ready)} lots await release; "
            "rebuild the demo (the benchmark releases a dozen per run)"
        )
    yield from ready[:wanted]


@dataclass
class _DryRun:
    """Stands in for the Database: each write session runs in a transaction that is
    rolled back at the end (the session's commit only releases a savepoint)."""

    db: Database

    @contextmanager
    def session(self) -> Iterator[Session]:
        with self.db.engine.execution_options(lottrack_write=True).connect() as conn:
            outer = conn.begin()
            with Session(
                bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False
            ) as session:
                yield session
                session.commit()
            outer.rollback()


def _sequences(db: Database) -> list[tuple[str, int]]:
    """PostgreSQL: the next id of the tables a release inserts into. Sequences are not
    rolled back, so each replay first sets them back, or the replayed decision would
    name a signature id the replayed signature did not get."""
    if db.dialect != "postgresql":
        return []
    out = []
    with db.engine.connect() as conn:
        for table in ("signature", "disposition"):
            seq = conn.exec_driver_sql(f"SELECT pg_get_serial_sequence('{table}', 'id')").scalar()
            last, called = conn.exec_driver_sql(f"SELECT last_value, is_called FROM {seq}").one()
            out.append((str(seq), int(last) + 1 if called else int(last)))
    return out


def _replay_writes(
    db: Database, statements: list[tuple[str, Any]], sequences: list[tuple[str, int]]
) -> Any:
    writes = [s for s in statements if s[0].lstrip().split(" ", 1)[0] in ("INSERT", "UPDATE")]
    raw = driver_connection(db)

    def baseline() -> None:
        cursor = raw.cursor()
        if db.dialect == "sqlite":
            cursor.execute("BEGIN IMMEDIATE")
        for seq, value in sequences:
            cursor.execute(f"SELECT setval('{seq}', {value}, false)")
        for sql, params in writes:
            if isinstance(params, list):
                cursor.executemany(sql, params)
            else:
                cursor.execute(sql, params)
                if cursor.description:
                    cursor.fetchall()
        if db.dialect == "sqlite":
            cursor.execute("ROLLBACK")
        else:
            raw.rollback()
        cursor.close()

    return baseline, len(writes)


def run(db: Database, backend: str) -> list[Result]:
    """A signed release against its replayed writes; one argon2id check for scale."""
    passwords = {u.username: u.password for u in demo.DEMO_USERS}
    cast = Cast(
        {part: person(db, name) for part, name in CAST_ROLES.items()},
        {part: passwords[name] for part, name in CAST_ROLES.items()},
    )
    scenario = Scenario(db, cast, site_id=0)
    first = next(iter(_releasable(db, 1)))
    sequences = _sequences(db)
    with captured_sql(db.engine) as statements:  # a release, rolled back: its writes
        Scenario(_DryRun(db), cast, site_id=0).release(first)
    lots_to_release = _releasable(db, REPEAT + 1)
    baseline, n_writes = _replay_writes(db, statements, sequences)
    # The replayed writes reuse the next audit sequence numbers, so every baseline run
    # comes before the first real release.
    app_s, base_s = paired(
        lambda: scenario.release(next(lots_to_release)), baseline, repeat=REPEAT, interleave=False
    )
    hasher = PasswordHasher()
    stored = hasher.hash("a-demo-password")
    started = time.perf_counter()
    hasher.verify(stored, "a-demo-password")
    argon2_s = time.perf_counter() - started
    return [
        Result(
            backend,
            "release a lot (signed, audited; fast test hashing)",
            app_s,
            f"its {n_writes} INSERT/UPDATE statements, raw, rolled back",
            base_s,
            f"{len(statements)} statements in all",
        ),
        Result(
            backend,
            "one argon2id password check (default parameters)",
            argon2_s,
            "(added to each real release)",
            argon2_s,
            "informative",
        ),
    ]
