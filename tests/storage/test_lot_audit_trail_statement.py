"""A lot's audit trail is read by one statement of one indexed branch per kind of record
(issue #18): it returns exactly the rows, in the order, of the single ``OR`` statement it
replaced, for a lot with every kind of record. On SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import text
from sqlmodel import select

from lottrack.demo.scenario import CONFORMING_QC, Scenario
from lottrack.manufacturing import deviations, formulation
from lottrack.storage import fastsql
from lottrack.storage.models import AuditEvent, Dispensing, ProductUnit, utcnow
from lottrack.trial import allocation
from lottrack.views import listings
from lottrack.views.listings import history

KINDS = {
    "lot",
    "harvest",
    "passage",
    "passage_reagent",
    "cell_count",
    "count_replicate",
    "qc_result",
    "product_unit",
    "custody_event",
    "disposition",
    "signature",
}
QUALITY_KINDS = {"investigation", "deviation"}
"""Kinds of record only a lot with an investigation and a deviation has."""

_IDS = {
    "lot": "SELECT CAST(lot.id AS VARCHAR) FROM lot WHERE lot.id = :lot_id",
    "harvest": "SELECT CAST(lot.harvest_id AS VARCHAR) FROM lot WHERE lot.id = :lot_id",
    "passage": "SELECT CAST(id AS VARCHAR) FROM passage WHERE lot_id = :lot_id",
    "passage_reagent": "SELECT CAST(id AS VARCHAR) FROM passage_reagent WHERE passage_id IN "
    "(SELECT id FROM passage WHERE lot_id = :lot_id)",
    "cell_count": "SELECT CAST(id AS VARCHAR) FROM cell_count WHERE lot_id = :lot_id",
    "count_replicate": "SELECT CAST(id AS VARCHAR) FROM count_replicate WHERE count_id IN "
    "(SELECT id FROM cell_count WHERE lot_id = :lot_id)",
    "qc_result": "SELECT CAST(id AS VARCHAR) FROM qc_result WHERE lot_id = :lot_id",
    "product_unit": "SELECT CAST(id AS VARCHAR) FROM product_unit WHERE lot_id = :lot_id",
    "custody_event": "SELECT CAST(id AS VARCHAR) FROM custody_event WHERE unit_id IN "
    "(SELECT id FROM product_unit WHERE lot_id = :lot_id)",
    "disposition": "SELECT CAST(id AS VARCHAR) FROM disposition WHERE lot_id = :lot_id",
    "investigation": "SELECT CAST(id AS VARCHAR) FROM investigation WHERE lot_id = :lot_id",
    "investigation_retest": "SELECT CAST(id AS VARCHAR) FROM investigation_retest WHERE "
    "investigation_id IN (SELECT id FROM investigation WHERE lot_id = :lot_id)",
    "deviation": "SELECT CAST(id AS VARCHAR) FROM deviation WHERE lot_id = :lot_id",
    "deviation_link": "SELECT CAST(id AS VARCHAR) FROM deviation_link WHERE "
    "deviation_id IN (SELECT id FROM deviation WHERE lot_id = :lot_id)",
    "signature": "SELECT CAST(id AS VARCHAR) FROM signature "
    "WHERE record_type = 'lot' AND record_id = :lot_id "
    "OR record_type = 'investigation' AND record_id IN "
    "(SELECT id FROM investigation WHERE lot_id = :lot_id) "
    "OR record_type = 'deviation' AND record_id IN "
    "(SELECT id FROM deviation WHERE lot_id = :lot_id)",
}
BEFORE = (
    "SELECT seq, at, username, action, entity, entity_id, changes, reason "
    "FROM audit_event WHERE "
    + " OR ".join(f"(entity = '{kind}' AND entity_id IN ({ids}))" for kind, ids in _IDS.items())
    + " ORDER BY seq"
)
"""The trail's statement before issue #18, written out: one ``OR`` of every kind."""


def _dispensed_lot(sc: Scenario, code: str) -> int:
    """A lot made, released (signed), its bag dispensed and moved to the ward."""
    subject = sc.subject(code, dt.date(1968, 7, 14))
    lot_id, bag = sc.made_lot(subject)
    sc.release(lot_id)
    visit, _ = sc.enrol(subject, allocation.MSC_FIRST, utcnow().date())
    with sc.compressed_time():
        sc.dispense(visit, msc_bag=bag)
    with sc.db.reader() as s:
        unit = s.get(
            ProductUnit,
            s.exec(select(Dispensing.unit_id).where(Dispensing.visit_id == visit)).one(),
        )
        assert unit is not None
    with sc.db.session() as s:
        formulation.record_custody(
            s,
            sc.cast.who("clinician"),
            kit_code=unit.kit_code,
            from_location="Pharmacy",
            to_location="Ward 3",
            at=utcnow(),
            temperature_text="4 °C",
        )
    return lot_id


def _lot_with_quality_records(sc: Scenario, code: str) -> int:
    """A lot out of specification whose investigation QA closed, with a deviation QA
    closed too (both signed)."""
    lot_id, _ = sc.made_lot(
        sc.subject(code, dt.date(1968, 7, 14)),
        qc_results={**CONFORMING_QC, "endotoxin": "9 EU/mL"},  # limit 7: investigation
    )
    sc.conclude_investigations(lot_id)
    with sc.db.session() as s:
        deviation = deviations.open_deviation(
            s,
            sc.cast.who("technician"),
            lot_id=lot_id,
            planned=False,
            description="Incubator door left ajar for 20 minutes",
            impact="Temperature stayed within 36-38 °C",
            corrective_action="Door alarm set",
        )
    with sc.db.session() as s:
        deviations.close_deviation(
            s, sc.cast.who("qa"), sc.cast.creds("qa"), deviation, "No impact on the product."
        )
    return lot_id


def test_the_trail_statement_reads_the_rows_the_or_statement_did(sc: Scenario) -> None:
    other = _dispensed_lot(sc, "TLS-601")
    lot_id = _dispensed_lot(sc, "TLS-602")
    quality = _lot_with_quality_records(sc, "TLS-603")
    columns = [
        AuditEvent.__table__.c[name]  # type: ignore[attr-defined]
        for name in (
            "seq",
            "at",
            "username",
            "action",
            "entity",
            "entity_id",
            "changes",
            "reason",
        )
    ]
    before = text(BEFORE).columns(*columns)
    with sc.db.reader() as s:
        prepared = fastsql.Prepared.of(history._trail_statement(), s.get_bind().dialect)
        rows = {}
        for lot in (lot_id, other):
            rows[lot] = fastsql.session_rows(s, prepared, {"lot_id": lot})
            assert rows[lot] == [tuple(r) for r in s.execute(before, {"lot_id": lot}).all()]
            assert {row[4] for row in rows[lot]} == KINDS  # every kind of record is there
        rows[quality] = fastsql.session_rows(s, prepared, {"lot_id": quality})
        assert rows[quality] == [tuple(r) for r in s.execute(before, {"lot_id": quality}).all()]
        trail = listings.lot_audit_trail(s, sc.cast.who("qa"), lot_id)
        quality_trail = listings.named(
            s, sc.cast.who("qa"), listings.lot_audit_trail(s, sc.cast.who("qa"), quality)
        )
    # An inspector reads the investigation and the deviation, opened and closed (signed),
    # in the lot's own trail.
    assert QUALITY_KINDS <= {row[4] for row in rows[quality]}
    closing = {(r.entity, r.action) for r in quality_trail if r.entity in QUALITY_KINDS}
    assert closing == {(k, a) for k in QUALITY_KINDS for a in ("insert", "update")}
    lot_number = next(r.record for r in quality_trail if r.entity == "lot")[len("Lot ") :]
    named = {r.record for r in quality_trail if r.entity in QUALITY_KINDS}
    assert {r.split(" #")[0] for r in named} == {"Investigation", "Deviation"}
    assert all(r.endswith(f" of {lot_number}") for r in named)  # a search for the lot finds them
    signed = [r for r in quality_trail if r.entity == "signature"]
    assert [r.changes["meaning"][1] for r in signed] == ["concluded", "concluded"]
    # QA's trail is read from those rows (masked for a blinded reader), in their order
    seqs = [row[0] for row in rows[lot_id]]
    assert [r.seq for r in trail] == [q for q in seqs if q in {r.seq for r in trail}]
    assert {r.seq for r in trail} < set(seqs)  # the bag's dispensing and moves are hidden
