"""Scaled demo data for load work: many subjects written in bulk, audited like the services.

``lottrack demo --scale N`` builds the demo trial through the services (12 subjects) and
then adds ``(N − 1) × 12`` subjects here, so the database holds N times the demo trial.
The real services take about a second per subject; this path writes the same rows with
SQLAlchemy Core in large batches (``executemany``; on PostgreSQL SQLAlchemy's
``insertmanyvalues``), one transaction per :data:`CHUNK_UNITS` units, and writes the
audit events the services would have written (:mod:`lottrack.demo.bulk.batch`), so
``lottrack audit verify`` checks every bulk row like any other.

The values obey the services' rules: DINs from the facility's counter
(:func:`lottrack.kernel.isbt128.format_din`, registered in ``issued_din`` and
``din_counter``), typed quantities read with the services' parser, counts, growth, doses and
limits from :mod:`lottrack.kernel.calc`, conformity from
:func:`lottrack.manufacturing.specifications.judge`, the six dispensing checks passing,
signatures hashing the content the services sign (:mod:`lottrack.demo.bulk.journeys` lists
the twelve journeys of a unit).
"""

from __future__ import annotations

import datetime as dt
import random
import time
from dataclasses import dataclass

from sqlmodel import SQLModel, col, select

from lottrack.demo.bulk.batch import Batch
from lottrack.demo.bulk.facility import Facility
from lottrack.demo.bulk.journeys import HISTORY, JOURNEYS, Trip, plan
from lottrack.demo.bulk.manufacturing import Reagents, Row
from lottrack.kernel.errors import ValidationError
from lottrack.storage.db import Database
from lottrack.storage.models import ReagentLot, utcnow
from lottrack.trial.dispensing import SUSPENSION_MEDIA

UNIT_SUBJECTS = len(JOURNEYS)
"""Subjects in one unit (the demo trial)."""
CHUNK_UNITS = 25
"""Units' worth of subjects written per transaction (about 24 000 audit events)."""
REAGENTS: tuple[tuple[str, str, str], ...] = (
    ("MEM alpha", "medium", "M"),
    ("Human platelet lysate", "supplement", "PL"),
    ("TrypLE Select", "dissociation", "T"),
    ("Saline + 5 % albumin", SUSPENSION_MEDIA, "SM"),
)
"""Reagent lots delivered each quarter: name, kind, lot-number prefix."""
REAGENT_SUPPLIER = "Acme Bio"
REAGENT_SHELF_LIFE = dt.timedelta(days=400)


@dataclass(frozen=True)
class BulkReport:
    """What :func:`add_units` wrote."""

    units: int
    subjects: int
    events: int
    seconds: float


def add_units(
    db: Database, units: int, *, seed: int = 0, chunk_units: int = CHUNK_UNITS
) -> BulkReport:
    """Add ``units`` × 12 subjects to a demo database (built by
    :func:`lottrack.demo.database.build`, whose people, site and specification the journeys
    use), written in the order their lots
    started. ``seed`` makes the values (not the random codes) repeatable."""
    if units < 0 or chunk_units < 1:
        raise ValidationError(
            "Units: must be zero or more, in chunks of at least one.", field="scale"
        )
    started = time.perf_counter()
    with db.reader() as session:
        fac = Facility.load(session)
    now = utcnow()
    reagents = _reagents(db, fac, now)
    rng = random.Random(seed)
    journeys = plan(units, rng, now, fac.period2_weeks)
    per_chunk = chunk_units * UNIT_SUBJECTS
    events = 0
    for first in range(0, len(journeys), per_chunk):
        with db.engine.execution_options(lottrack_write=True).begin() as conn:
            batch = Batch(conn)
            for journey, anchor in journeys[first : first + per_chunk]:
                journey.build(Trip(batch, fac, rng, reagents, now, fac.next_subject_number), anchor)
                fac.next_subject_number += 1
            events += batch.write()
    if db.dialect == "postgresql" and units:  # planner statistics for the new rows, now
        with db.engine.begin() as conn:
            quote = conn.dialect.identifier_preparer.quote
            conn.exec_driver_sql(
                "ANALYZE " + ", ".join(quote(t.name) for t in SQLModel.metadata.sorted_tables)
            )
    return BulkReport(units, units * UNIT_SUBJECTS, events, time.perf_counter() - started)


def _quarters(since: dt.datetime, until: dt.datetime) -> list[tuple[int, int]]:
    year, quarter = since.year, (since.month - 1) // 3
    out = []
    while (year, quarter) <= (until.year, (until.month - 1) // 3):
        out.append((year, quarter))
        year, quarter = (year + 1, 0) if quarter == 3 else (year, quarter + 1)
    return out


def _reagents(db: Database, fac: Facility, now: dt.datetime) -> Reagents:
    """The reagent lots of every quarter the journeys reach back to: delivered two weeks
    before the quarter, released by QA the next day (``reagents.register_reagent_lot`` /
    ``release_reagent_lot``); lots from an earlier bulk build are reused."""
    quarters = _quarters(now - HISTORY - dt.timedelta(days=30), now)
    wanted = {
        f"{prefix}-{y % 100:02d}Q{q + 1}": (y, q, name, kind)
        for y, q in quarters
        for name, kind, prefix in REAGENTS
    }
    by_quarter: dict[tuple[int, int], dict[str, Row]] = {key: {} for key in quarters}
    with db.reader() as session:
        for lot in session.exec(
            select(ReagentLot).where(
                col(ReagentLot.lot_number).in_(list(wanted)),
                ReagentLot.supplier == REAGENT_SUPPLIER,
            )
        ).all():
            y, q, _name, kind = wanted.pop(lot.lot_number)
            by_quarter[(y, q)][kind] = lot.model_dump()
    tech, qa = fac.who("technician"), fac.who("qa")
    with db.engine.execution_options(lottrack_write=True).begin() as conn:
        batch = Batch(conn)
        for lot_number, (y, q, name, kind) in sorted(wanted.items()):
            delivered = dt.datetime(y, 3 * q + 1, 1, 8, tzinfo=dt.UTC) - dt.timedelta(days=14)
            batch.step(tech.actor)
            row = batch.add(
                "reagent_lot",
                {
                    "name": name,
                    "kind": kind,
                    "supplier": REAGENT_SUPPLIER,
                    "lot_number": lot_number,
                    "expiry": (delivered + REAGENT_SHELF_LIFE).date(),
                    "status": "quarantine",
                    "created_at": delivered,
                    "created_by": tech.id,
                },
            )
            batch.step(qa.actor)
            batch.update(
                "reagent_lot",
                row,
                f"released for use by QA ({qa.username})",
                status="released",
                released_by=qa.id,
                released_at=delivered + dt.timedelta(days=1),
            )
            by_quarter[(y, q)][kind] = row
        if wanted:
            batch.write()
    return Reagents(by_quarter)
