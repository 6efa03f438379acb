"""What the lab reads of a lot as it grows: the passage table, with the values derived from
what was typed (seeding density, population doublings, cumulative PD, doubling time) each
time it is read, never stored; and the lot's summary, the head of its batch record.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from lottrack.facility.subjects import subject_row
from lottrack.kernel import calc
from lottrack.manufacturing import lots, thaws
from lottrack.manufacturing.harvests import harvest_row
from lottrack.manufacturing.lots import lot_spec, passage_label, passages_of
from lottrack.records.permissions import Action, CurrentUser, authorize
from lottrack.storage.models import (
    CellCount,
    PassageReagent,
    ProductUnit,
    ReagentLot,
)


@dataclass(frozen=True)
class PassageRow:
    """One line of the passage table: what was typed and what is derived from it."""

    id: int
    number: int
    label: str
    seeded_at: dt.datetime
    cells_seeded: float
    cells_seeded_text: str
    area_cm2: float
    area_text: str
    vessels: str
    reagent_lots: tuple[str, ...]
    seeding_density_per_cm2: float
    harvested_at: dt.datetime | None
    cells_harvested: float | None
    cells_harvested_text: str
    viability_pct: float | None
    hours_in_culture: float | None
    population_doublings: float | None
    cumulative_population_doublings: float | None
    doubling_time_hours: float | None
    """None until harvested, and when the cells did not grow (PD ≤ 0)."""


def _reagent_labels(session: Session, passage_ids: list[int]) -> dict[int, tuple[str, ...]]:
    rows = session.exec(
        select(PassageReagent.passage_id, ReagentLot)
        .join(ReagentLot, col(ReagentLot.id) == col(PassageReagent.reagent_lot_id))
        .where(col(PassageReagent.passage_id).in_(passage_ids))
        .order_by(col(PassageReagent.id))
    ).all()
    labels: dict[int, tuple[str, ...]] = {}
    for passage_id, reagent in rows:
        labels[passage_id] = (*labels.get(passage_id, ()), f"{reagent.name} {reagent.lot_number}")
    return labels


def _rows(session: Session, lot_id: int) -> list[PassageRow]:
    passages = passages_of(session, lot_id)
    reagents = _reagent_labels(session, [p.id for p in passages if p.id is not None])
    rows: list[PassageRow] = []
    doublings: list[float] = []
    for p in passages:
        assert p.id is not None
        growth = None
        if p.harvested_at is not None and p.cells_harvested is not None:
            growth = calc.passage_growth(
                p.cells_seeded, p.cells_harvested, p.seeded_at, p.harvested_at, p.area_cm2
            )
            doublings.append(growth.population_doublings)
        cumulative = (
            calc.cumulative_population_doublings(doublings)
            if growth is not None and len(doublings) == len(rows) + 1
            else None
        )
        rows.append(
            PassageRow(
                id=p.id,
                number=p.number,
                label=passage_label(p.number),
                seeded_at=p.seeded_at,
                cells_seeded=p.cells_seeded,
                cells_seeded_text=p.cells_seeded_text,
                area_cm2=p.area_cm2,
                area_text=p.area_text,
                vessels=p.vessels,
                reagent_lots=reagents.get(p.id, ()),
                seeding_density_per_cm2=calc.seeding_density(p.cells_seeded, p.area_cm2),
                harvested_at=p.harvested_at,
                cells_harvested=p.cells_harvested,
                cells_harvested_text=p.cells_harvested_text,
                viability_pct=p.viability_pct,
                hours_in_culture=growth.hours_in_culture if growth else None,
                population_doublings=growth.population_doublings if growth else None,
                cumulative_population_doublings=cumulative,
                doubling_time_hours=growth.doubling_time_hours if growth else None,
            )
        )
    return rows


def passage_table(session: Session, who: CurrentUser, lot_id: int) -> list[PassageRow]:
    """The lot's passages with seeding density (cells/cm²), PD, cumulative PD and doubling
    time (hours), derived from the recorded values."""
    authorize(session, who, Action.VIEW_BATCH_RECORD)
    lots.get_lot(session, lot_id)
    return _rows(session, lot_id)


@dataclass(frozen=True)
class LotSummary:
    """The head of a batch record (unblinded: manufacturing roles only)."""

    id: int
    lot_number: str
    status: str
    spec_version: int
    harvest_id: int
    din: str
    collected_at: dt.datetime
    subject_id: int
    subject_code: str
    coi_id: str
    passages: int
    last_passage: str | None
    last_passage_harvested: bool
    cumulative_population_doublings: float | None
    counts: int
    counts_needing_recount: int
    units: int
    formulated_at: dt.datetime | None
    decimal_separator: str
    """The decimal separator of the site of the lot's subject (numbers are shown with it)."""
    ever_released: bool = False
    """Released now or once: from then on the lab neither thaws nor moves its bags
    (:mod:`lottrack.manufacturing.thaws`), whatever the pharmacy did with them."""


def _counts(session: Session, who: CurrentUser, lot_id: int) -> tuple[int, int, int]:
    """The lot's valid counts, those of them needing a recount, and its bags: one
    statement (#18: three before). A blinded reader's leave out the counts of bags the
    pharmacy thawed, as the lot's counts do (:func:`lottrack.views.listings.lot_counts`):
    only the MSC arm's bag is thawed, and only an unblinded person counts that thaw."""
    valid = (CellCount.lot_id == lot_id, col(CellCount.voided_reason).is_(None))

    def count(table: Any, *conditions: Any) -> Any:
        return sa_select(func.count()).select_from(table).where(*conditions).scalar_subquery()

    counts, recounts, units, of_bags = session.execute(
        sa_select(
            count(CellCount, *valid),
            count(CellCount, *valid, col(CellCount.recount_required).is_(True)),
            count(ProductUnit, ProductUnit.lot_id == lot_id),
            count(CellCount, *valid, col(CellCount.unit_id).is_not(None)),
        )
    ).one()
    if of_bags and not who.unblinded:
        of_bag = session.exec(
            select(CellCount).where(*valid, col(CellCount.unit_id).is_not(None))
        ).all()
        shown = {c.id for c in thaws.visible_counts(session, who, of_bag)}
        hidden = [c for c in of_bag if c.id not in shown]
        counts -= len(hidden)
        recounts -= sum(1 for c in hidden if c.recount_required)
    return int(counts), int(recounts), int(units)


def lot_summary(session: Session, who: CurrentUser, lot_id: int) -> LotSummary:
    """Status, harvest and DIN, subject code and chain-of-identity id, and how many
    passages, counts (valid ones; and those needing a recount) and bags the lot has."""
    authorize(session, who, Action.VIEW_BATCH_RECORD)
    lot = lots.get_lot(session, lot_id)
    harvest = harvest_row(session, lot.harvest_id)
    subject = subject_row(session, lot.subject_id)
    rows = _rows(session, lot_id)
    counts, counts_needing_recount, units = _counts(session, who, lot_id)
    return LotSummary(
        id=lot_id,
        lot_number=lot.lot_number,
        status=lot.status,
        spec_version=lot_spec(session, lot).version,
        harvest_id=lot.harvest_id,
        din=harvest.din,
        collected_at=harvest.collected_at,
        subject_id=lot.subject_id,
        subject_code=subject.code,
        coi_id=subject.coi_id,
        passages=len(rows),
        last_passage=rows[-1].label if rows else None,
        last_passage_harvested=bool(rows) and rows[-1].harvested_at is not None,
        cumulative_population_doublings=(
            rows[-1].cumulative_population_doublings if rows else None
        ),
        counts=counts,
        counts_needing_recount=counts_needing_recount,
        units=units,
        formulated_at=lot.formulated_at,
        decimal_separator=lots.lot_site(session, lot).decimal_separator,
        ever_released=thaws.ever_released(session, lot),
    )
