"""Corrections of the batch record and cryopreserved bags (design §2, §3, §6.1)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlmodel import col, select

from lottrack.kernel.errors import InvalidTransition, PermissionDenied, ValidationError
from lottrack.manufacturing import counts, expansion, formulation, lots, passage_table
from lottrack.storage import audit
from lottrack.storage.db import Database
from lottrack.storage.models import AuditEvent
from tests.conftest import verify_ok
from tests.storage.test_manufacturing_records import (
    World,
    build_world,
    count,
    grow,
    hemocytometer,
    hours,
    nothing_stored,
    start,
)


@pytest.fixture
def world(db: Database) -> World:
    """The manufacturing test world on each backend."""
    return build_world(db)


def formulated_lot(w: World, passages: int = 3, **kw: Any) -> formulation.FormulationResult:
    lot_id, _ = start(w)
    grow(w, lot_id, passages)
    count(w, lot_id, hours(240), hemocytometer((100, 5), (104, 4)))
    with w.session() as s:
        return formulation.formulate(
            s,
            w.tech,
            lot_id=lot_id,
            volume_text="50 mL",
            storage="2–8 °C",
            formulated_at=hours(241),
            **kw,
        )


def test_a_correction_is_audited_and_sends_a_released_lot_back(world: World) -> None:
    w = world
    lot_id = formulated_lot(w).lot_id
    with w.session() as s:  # QA released it
        audit.set_actor(s, w.qa.id, w.qa.username)
        lots.set_status(s, lots.get_lot(s, lot_id), lots.RELEASED, "released (test)")
    with w.db.reader() as s:
        p1 = lots.passages_of(s, lot_id)[1]
    assert p1.id is not None
    reason = "transcription error: batch sheet reads 1.6e8"
    with nothing_stored(w.db):
        with w.session() as s, pytest.raises(ValidationError, match="no value of P1"):
            expansion.correct_passage(s, w.tech, p1.id, reason=reason, cells_harvested_text="8e7")
        with w.session() as s, pytest.raises(ValidationError, match="Reason"):
            expansion.correct_passage(s, w.tech, p1.id, reason="  ", cells_harvested_text="1e8")
        with w.session() as s, pytest.raises(ValidationError, match="after P2 was seeded"):
            expansion.correct_passage(s, w.tech, p1.id, reason=reason, harvested_at=hours(200))
    with w.session() as s:
        expansion.correct_passage(s, w.tech, p1.id, reason=reason, cells_harvested_text="1.6e8")
    with w.session() as s:
        table = passage_table.passage_table(s, w.tech, lot_id)
        status = lots.get_lot(s, lot_id).status
    # P1: log2(1.6e8 / 1e7) = log2(16) = 4 doublings in 72 h → 18 h
    assert table[1].population_doublings == pytest.approx(4.0)
    assert table[1].doubling_time_hours == pytest.approx(18.0)
    assert table[1].cells_harvested_text == "1.6e8"
    assert [r.cumulative_population_doublings for r in table] == pytest.approx([3.0, 7.0, 10.0])
    assert status == lots.AWAITING_RELEASE
    with w.db.reader() as s:
        events = s.exec(
            select(AuditEvent)
            .where(col(AuditEvent.entity).in_(("passage", "lot")))
            .order_by(col(AuditEvent.seq))
        ).all()
    correction, reopened = events[-2], events[-1]
    assert (correction.entity, correction.reason) == ("passage", reason)
    assert json.loads(correction.changes)["cells_harvested"] == [8e7, 1.6e8]
    assert reopened.entity == "lot"
    assert "batch record corrected after release" in reopened.reason
    verify_ok(w.db)


def test_cryopreserved_bags_thaw_once_and_are_counted_after_thaw(world: World) -> None:
    w = world
    made = formulated_lot(
        w,
        passages=1,
        cryopreserve=True,
        bags=2,
        concentration_text="4.0e5/mL",
        viability_text="90 %",
    )
    first, second = made.units
    # typed, not from the count: 4.0e5 total/mL × 50 mL × 90 % = 1.8e7 viable cells per bag
    # (two bags: 3.6e7, within the 3.8e7 viable cells harvested at P0)
    assert (first.concentration_per_ml, first.viability_pct) == (4.0e5, 90.0)
    assert first.viable_cells == pytest.approx(1.8e7)
    divisions = [u.division for u in made.units]
    assert len(set(divisions)) == 2  # two bags, two different random divisions
    assert [u.product_code for u in made.units] == [f"S12341{d}" for d in divisions]
    assert first.kit_code != second.kit_code
    assert first.expires_at == hours(241) + formulation.CRYOPRESERVED_SHELF_LIFE
    with nothing_stored(w.db):
        with pytest.raises(InvalidTransition, match="its thaw has not been recorded"):
            count(
                w,
                made.lot_id,
                hours(300),
                hemocytometer((90, 10), (92, 9)),
                target=counts.POST_THAW,
                unit_id=first.id,
            )
        with w.session() as s, pytest.raises(PermissionDenied):
            formulation.record_thaw(s, w.clinician, first.id, hours(300))
        with w.session() as s, pytest.raises(ValidationError, match="before it was formulated"):
            formulation.record_thaw(s, w.tech, first.id, hours(200))
    with w.session() as s:
        formulation.record_thaw(s, w.tech, first.id, hours(300))
    with w.session() as s, pytest.raises(InvalidTransition, match="already thawed"):
        formulation.record_thaw(s, w.tech, first.id, hours(301))
    thawed = count(
        w,
        made.lot_id,
        hours(300.25),
        hemocytometer((90, 10), (92, 9)),
        target=counts.POST_THAW,
        unit_id=first.id,
    )
    with w.db.reader() as s:
        assert (
            counts.usable_count(s, made.lot_id, counts.POST_THAW, unit_id=first.id).id == thawed.id
        )
    assert thawed.viability_pct == pytest.approx(100 * 182 / 201)  # live / (live + dead)
    verify_ok(w.db)
