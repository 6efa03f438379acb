"""The scaled demo (``lottrack demo --scale N``): bulk subjects written like the services
write them, and audited so that ``audit verify`` checks them like any other row.

One build per backend: the demo trial through the services, then two bulk units (24
subjects). No timing here; bench/ measures speed.
"""

from __future__ import annotations

import secrets
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import create_engine, func, text
from sqlmodel import Session, SQLModel, col, select

from lottrack.demo import database as demo
from lottrack.demo.bulk import UNIT_SUBJECTS, add_units
from lottrack.install import bootstrap
from lottrack.kernel.isbt128 import parse_din
from lottrack.manufacturing import counts, deviations, investigations, lots
from lottrack.manufacturing.counts import HemocytometerReplicate
from lottrack.records.permissions import CurrentUser
from lottrack.release.batch_record import lot_content
from lottrack.storage import audit
from lottrack.storage.db import Database
from lottrack.storage.models import (
    CellCount,
    CountReplicate,
    Deviation,
    Dispensing,
    DispensingCheck,
    Investigation,
    Lot,
    ProductUnit,
    Signature,
    Visit,
    utcnow,
)
from lottrack.trial import allocation, dispense_checks
from lottrack.trial import dispensing as pharmacy
from tests.conftest import BACKENDS, _pg_schema_url, verify_ok

UNIT: dict[str, int] = {
    "subject": 12,
    "weight_measurement": 23,
    "issued_din": 12,
    "harvest": 12,
    "lot": 12,
    "passage": 59,
    "passage_reagent": 177,
    "cell_count": 69,
    "count_replicate": 207,
    "product_unit": 13,
    "qc_result": 139,
    "custody_event": 15,
    "signature": 22,
    "disposition": 7,
    "allocation": 4,
    "visit": 8,
    "dispensing": 4,
    "dispensing_check": 36,
    "infusion": 3,
    "investigation": 3,
    "investigation_retest": 1,
    "deviation": 3,
}
"""Rows of one bulk unit (journeys 1–12 of lottrack.demo.bulk.journeys)."""


def _counts(db: Database) -> dict[str, int]:
    with db.engine.connect() as conn:
        return {
            t.name: int(conn.execute(select(func.count()).select_from(t)).scalar() or 0)
            for t in SQLModel.metadata.sorted_tables
        }


def _person(session: Session, username: str) -> CurrentUser:
    from lottrack.storage.models import User

    user = session.exec(select(User).where(col(User.username) == username)).one()
    return CurrentUser.of(user)


def test_scale_builds_the_demo_and_n_minus_one_bulk_units(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []
    monkeypatch.setattr("lottrack.demo.trial.build_trial", lambda ctx, pw: None)
    monkeypatch.setattr("lottrack.demo.bulk.add_units", lambda _db, units: calls.append(units))
    demo.build(db, scale=4)
    assert calls == [3]


@dataclass
class Scaled:
    """The demo trial plus two bulk units, with the row counts before and after."""

    db: Database
    before: dict[str, int]
    after: dict[str, int]


@pytest.fixture(scope="module", params=BACKENDS)
def scaled(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Scaled]:
    """Built once per backend; the tests read it, and the last one changes it."""
    if request.param == "sqlite":
        url, engine, schema = f"sqlite:///{tmp_path_factory.mktemp('scale') / 'db'}", None, ""
    else:
        base: str = request.getfixturevalue("pg_server_url")
        schema = f"t_{secrets.token_hex(6)}"
        engine = create_engine(base, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        url = _pg_schema_url(base, schema)
    db = Database(url)
    try:
        bootstrap.initialise(db)
        demo.build(db)
        before = _counts(db)
        report = add_units(db, 2, seed=7)
        assert report.subjects == 2 * UNIT_SUBJECTS
        yield Scaled(db, before, _counts(db))
    finally:
        db.dispose()
        if engine is not None:
            with engine.connect() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            engine.dispose()


def _bulk_lots(session: Session, scaled: Scaled) -> list[Lot]:
    """Lots written in bulk (ids after the demo's)."""
    return list(session.exec(select(Lot).where(col(Lot.id) > scaled.before["lot"])))


def test_bulk_rows_are_audited_counted_and_in_every_state(scaled: Scaled) -> None:
    db, before, after = scaled.db, scaled.before, scaled.after
    report = verify_ok(db)
    assert report.events == after["audit_event"]
    for table, per_unit in UNIT.items():
        assert after[table] - before[table] == 2 * per_unit, table
    assert (after["reagent_lot"] - before["reagent_lot"]) % 4 == 0
    assert after["audit_event"] - before["audit_event"] > 2 * sum(UNIT.values())
    with db.reader() as s:
        bulk = _bulk_lots(s, scaled)
        assert {lot.status for lot in bulk} == set(lots.STATUSES)
        assert {v.status for v in s.exec(select(Visit))} == {"planned", "dispensed", "infused"}
        units = Counter((u.kind, u.status) for u in s.exec(select(ProductUnit)))
        assert {
            ("msc", "available"),
            ("msc", "infused"),
            ("placebo", "dispensed"),
            ("placebo", "infused"),
        } <= set(units)


def test_bulk_dins_are_unique_valid_and_registered(scaled: Scaled) -> None:
    db = scaled.db
    with db.engine.connect() as conn:
        dins = [r[0] for r in conn.execute(text("SELECT din FROM harvest"))]
        issued = {
            r[0]: (r[1], r[2], r[3])
            for r in conn.execute(text("SELECT din, fin, year, sequence FROM issued_din"))
        }
        counters = {
            (r[0], r[1]): r[2]
            for r in conn.execute(text("SELECT fin, year, last_sequence FROM din_counter"))
        }
    assert len(dins) == len(set(dins)) == len(issued)
    for din in dins:
        parsed = parse_din(din)
        assert din in issued
        assert parsed.code == din
    top: dict[tuple[str, int], int] = {}
    for fin, year, sequence in issued.values():
        top[(fin, year)] = max(top.get((fin, year), 0), sequence)
    assert counters == top


def test_bulk_signatures_cover_what_the_services_sign(scaled: Scaled) -> None:
    db = scaled.db
    with db.reader() as s:
        signed = list(s.exec(select(Signature)))
        assert {sig.record_type for sig in signed} == {
            "lot",
            "dispensing",
            "infusion",
            "investigation",
            "deviation",
        }
        for sig in signed:
            if sig.record_type == "lot":
                lot = s.get(Lot, sig.record_id)
                assert lot is not None
                content: Any = lot_content(s, lot)
            elif sig.record_type == "dispensing":
                row = s.get(Dispensing, sig.record_id)
                assert row is not None
                content = pharmacy.dispensing_content(s, row)
            elif sig.record_type == "investigation":
                inv = s.get(Investigation, sig.record_id)
                assert inv is not None
                content = investigations.content(s, inv)
            elif sig.record_type == "deviation":
                dev = s.get(Deviation, sig.record_id)
                assert dev is not None
                content = deviations.closing_content(dev)
            else:
                continue
            assert sig.content_sha256 == audit.sha256_of(content), (sig.record_type, sig.id)


def test_bulk_dispensing_checks_read_as_the_services_write_them(scaled: Scaled) -> None:
    db = scaled.db
    with db.reader() as s:
        pharmacist = _person(s, "pharm")
        for d in s.exec(select(Dispensing)):
            visit, unit = s.get(Visit, d.visit_id), s.get(ProductUnit, d.unit_id)
            assert visit is not None
            assert unit is not None
            now = d.prepared_at
            assert d.use_by == pharmacy.use_by(s, now)
            arm = allocation.arm_for(
                allocation.sequence_of(s, pharmacist, visit.subject_id), visit.period
            )
            weight_check, kg, _ = dispense_checks._check_weight(s, visit, now)
            expected = [
                dispense_checks._check_identity(s, visit, unit),
                dispense_checks._check_release(s, unit),
                dispense_checks._check_expiry(s, unit, now, pharmacy.use_by(s, now)),
                weight_check,
                dispense_checks._check_dose(s, unit, kg)[0],
                dispense_checks._check_arm(unit, arm, visit.period),
            ]
            stored = s.exec(
                select(DispensingCheck)
                .where(
                    col(DispensingCheck.dispensing_id) == d.id,
                    col(DispensingCheck.stage) == "prepare",
                )
                .order_by(col(DispensingCheck.number))
            ).all()
            assert [(c.number, c.name, c.passed, c.detail) for c in stored] == [
                (c.number, c.name, c.passed, c.detail) for c in expected
            ]


def test_services_keep_working_on_bulk_rows_and_edits_behind_them_are_found(scaled: Scaled) -> None:
    """Runs last: it changes the database."""
    db = scaled.db
    with db.reader() as s:
        tech = _person(s, "tech")
        waiting = next(
            lot
            for lot in _bulk_lots(s, scaled)
            if lot.status == lots.IN_PROCESS
            and s.exec(
                select(CellCount).where(
                    col(CellCount.lot_id) == lot.id, col(CellCount.recount_required)
                )
            ).first()
        )
        model = s.exec(
            select(CellCount)
            .join(Lot, col(Lot.id) == col(CellCount.lot_id))
            .where(
                col(CellCount.target) == counts.FINAL_PRODUCT,
                col(CellCount.recount_required).is_(False),
                col(Lot.id) > scaled.before["lot"],
            )
        ).first()
        assert waiting.id is not None
        assert model is not None
        reps = s.exec(
            select(CountReplicate)
            .where(col(CountReplicate.count_id) == model.id)
            .order_by(col(CountReplicate.position))
        ).all()
    with db.session() as s:  # a recount through the service, with a bulk count's readings
        result = counts.record_count(
            s,
            tech,
            lot_id=waiting.id,
            target=counts.FINAL_PRODUCT,
            method=counts.HEMOCYTOMETER,
            counted_at=utcnow(),
            replicates=[
                HemocytometerReplicate(r.live or 0, r.dead or 0, r.squares or 0, r.dilution or 1.0)
                for r in reps
            ],
        )
    assert (result.mean_viable_per_ml, result.viability_pct, result.cv_pct) == (
        model.mean_viable_per_ml,
        model.viability_pct,
        model.cv_pct,
    )
    verify_ok(db)

    # A bulk row edited with plain SQL is reported like any other.
    with db.engine.begin() as conn:
        passage_id = conn.execute(
            text("SELECT max(id) FROM passage WHERE cells_harvested IS NOT NULL")
        ).scalar()
        conn.execute(
            text("UPDATE passage SET cells_harvested = cells_harvested * 2 WHERE id = :id"),
            {"id": passage_id},
        )
    with db.engine.connect() as conn:
        report = audit.verify(conn)
    assert report.problems == [
        f"passage id {passage_id}: current values differ from the last audited values "
        "(changed behind the application's back)"
    ]
