"""Plausible numbers (design §6.8): cells seeded within those available before, viable
cells formulated within those harvested, allowing the stated counting error; beyond it
refused with both numbers unless the entry names an open deviation."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func
from sqlmodel import select

from lottrack.demo.scenario import Scenario
from lottrack.kernel.errors import ValidationError
from lottrack.manufacturing import deviations, expansion, formulation
from lottrack.storage import audit
from lottrack.storage.models import DeviationLink, Passage, ProductUnit, Setting, utcnow
from tests.conftest import verify_ok

BORN = dt.date(1966, 2, 2)


def _start(sc: Scenario, code: str) -> tuple[int, dt.datetime]:
    at = utcnow() - dt.timedelta(days=20)
    return sc.harvest_and_lot(sc.subject(code, BORN), at), at + dt.timedelta(hours=1)


def _seed(
    sc: Scenario,
    lot_id: int,
    number: int,
    cells: str,
    at: dt.datetime,
    deviation_id: int | None = None,
) -> int:
    with sc.db.session() as s:
        return expansion.record_passage(
            s,
            sc.cast.who("technician"),
            lot_id=lot_id,
            number=number,
            seeded_at=at,
            cells_seeded_text=cells,
            area_text="175 cm2",
            vessels="T175",
            reagent_lot_ids=sc.reagent_ids,
            deviation_id=deviation_id,
        )


def _harvest(sc: Scenario, passage_id: int, cells: str, at: dt.datetime) -> None:
    with sc.db.session() as s:
        expansion.record_passage_harvest(
            s,
            sc.cast.who("technician"),
            passage_id=passage_id,
            harvested_at=at,
            cells_harvested_text=cells,
            viability_text="95 %",
        )


def _deviation(sc: Scenario, lot_id: int) -> int:
    with sc.db.session() as s:
        return deviations.open_deviation(
            s,
            sc.cast.who("technician"),
            lot_id=lot_id,
            planned=False,
            description="Two flasks pooled into the count by mistake",
            impact="Counts before P1 under-estimated",
            corrective_action="Recount SOP",
        )


def _passages(sc: Scenario) -> int:
    with sc.db.reader() as s:
        return int(s.exec(select(func.count()).select_from(Passage)).one())


def _links(sc: Scenario) -> list[DeviationLink]:
    with sc.db.reader() as s:
        return list(s.exec(select(DeviationLink)).all())


def test_cells_seeded_cannot_exceed_the_previous_harvest(sc: Scenario) -> None:
    lot_id, at = _start(sc, "TLS-601")
    p0 = _seed(sc, lot_id, 0, "5e6 cells", at)
    _harvest(sc, p0, "2.4e7 cells", at + dt.timedelta(days=4))
    before = _passages(sc)
    with pytest.raises(
        ValidationError,
        match=r"Cells seeded: 5\.00 × 10⁸ cells is more than the "
        r"cells harvested at P0 \(2\.40 × 10⁷ cells\), even allowing 10 % "
        r"counting error \(at most 2\.64 × 10⁷ cells\)",
    ) as refused:
        _seed(sc, lot_id, 1, "5e8 cells", at + dt.timedelta(days=5))
    assert refused.value.field == "Cells seeded"
    assert _passages(sc) == before
    _seed(sc, lot_id, 1, "2.6e7 cells", at + dt.timedelta(days=5))  # within the 10 %
    verify_ok(sc.db)


def test_p0_is_held_against_the_harvest_nucleated_cells(sc: Scenario) -> None:
    lot_id, at = _start(sc, "TLS-602")  # the harvest has 1.4e9 nucleated cells
    with pytest.raises(
        ValidationError,
        match=r"2\.00 × 10⁹ cells is more than the total "
        r"nucleated cells of the harvest \(1\.40 × 10⁹ cells\)",
    ):
        _seed(sc, lot_id, 0, "2e9 cells", at)
    assert _passages(sc) == 0


def test_an_open_deviation_that_explains_it_lets_the_entry_through(sc: Scenario) -> None:
    lot_id, at = _start(sc, "TLS-603")
    p0 = _seed(sc, lot_id, 0, "5e6 cells", at)
    _harvest(sc, p0, "2.4e7 cells", at + dt.timedelta(days=4))
    with pytest.raises(ValidationError, match="#77 is not a deviation of lot"):
        _seed(sc, lot_id, 1, "5e7 cells", at + dt.timedelta(days=5), deviation_id=77)
    dev_id = _deviation(sc, lot_id)
    p1 = _seed(sc, lot_id, 1, "5e7 cells", at + dt.timedelta(days=5), deviation_id=dev_id)
    (link,) = _links(sc)
    assert (link.deviation_id, link.record_type, link.record_id) == (dev_id, "passage", p1)
    assert "5.00 × 10⁷ cells exceed the cells harvested at P0 (2.40 × 10⁷ cells" in link.note
    verify_ok(sc.db)


def test_viable_cells_formulated_cannot_exceed_the_last_harvest(sc: Scenario) -> None:
    lot_id, at = _start(sc, "TLS-604")
    p0 = _seed(sc, lot_id, 0, "5e6 cells", at)
    _harvest(sc, p0, "4.8e7 cells", at + dt.timedelta(days=4))  # 4.56e7 viable
    sc.final_count(lot_id, at + dt.timedelta(days=4, hours=1))  # 2.55e6 viable/mL

    def formulate(volume: str, deviation_id: int | None = None) -> None:
        with sc.db.session() as s:
            formulation.formulate(
                s,
                sc.cast.who("technician"),
                lot_id=lot_id,
                volume_text=volume,
                storage="2–8 °C",
                formulated_at=at + dt.timedelta(days=4, hours=2),
                deviation_id=deviation_id,
            )

    with pytest.raises(
        ValidationError,
        match=r"Viable cells formulated: 1\.16 × 10⁸ cells is "
        r"more than the viable cells harvested at P0 \(4\.56 × 10⁷ cells\)",
    ):
        formulate("45.5 mL")
    with sc.db.reader() as s:
        assert s.exec(select(ProductUnit)).all() == []
    formulate("19 mL")  # 4.85e7: within 10 % of 4.56e7
    verify_ok(sc.db)


def test_the_counting_error_allowance_is_a_setting(sc: Scenario) -> None:
    with sc.db.session() as s:
        audit.set_actor(s, sc.cast.who("admin").id, "root")
        s.add(Setting(key="counting_error_pct", value="0"))
    lot_id, at = _start(sc, "TLS-605")
    p0 = _seed(sc, lot_id, 0, "5e6 cells", at)
    _harvest(sc, p0, "2.4e7 cells", at + dt.timedelta(days=4))
    with pytest.raises(ValidationError, match="allowing 0 % counting error"):
        _seed(sc, lot_id, 1, "2.5e7 cells", at + dt.timedelta(days=5))


def test_a_correction_is_held_to_the_same_numbers(sc: Scenario) -> None:
    lot_id, at = _start(sc, "TLS-606")
    p0 = _seed(sc, lot_id, 0, "5e6 cells", at)
    _harvest(sc, p0, "4e7 cells", at + dt.timedelta(days=4))
    p1 = _seed(sc, lot_id, 1, "3e7 cells", at + dt.timedelta(days=5))
    tech = sc.cast.who("technician")
    with (
        sc.db.session() as s,
        pytest.raises(
            ValidationError,
            match="Cells seeded at P1: 3.00 × "
            r"10⁷ cells is more than .* \(2\.00 × 10⁷",
        ),
    ):
        expansion.correct_passage(s, tech, p0, reason="typo", cells_harvested_text="2e7")
    with sc.db.session() as s, pytest.raises(ValidationError, match="Cells seeded: 9.00 × 10⁷"):
        expansion.correct_passage(s, tech, p1, reason="typo", cells_seeded_text="9e7")
    with sc.db.reader() as s:
        rows = {p.id: p for p in s.exec(select(Passage)).all()}
    assert (rows[p0].cells_harvested, rows[p1].cells_seeded) == (4e7, 3e7)
