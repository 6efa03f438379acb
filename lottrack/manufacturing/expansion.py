"""Expansion (design §2, §3): a lot grown from one harvest, passaged P0, P1, … Pmax.

Seeding density, population doublings (PD), cumulative PD and doubling time are derived
from what was typed (cells, area, times) each time they are shown, never stored.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from lottrack.facility.sites import check_moment, parse_at_site, site_row, site_zone
from lottrack.facility.subjects import subject_row
from lottrack.kernel import calc
from lottrack.kernel.errors import InvalidTransition, NotFound, ValidationError
from lottrack.kernel.inputs import clean_text
from lottrack.kernel.units import Dim
from lottrack.manufacturing import lots, plausibility
from lottrack.manufacturing.harvests import harvest_row
from lottrack.manufacturing.reagents import require_usable
from lottrack.manufacturing.specifications import current_spec
from lottrack.records.permissions import Action, CurrentUser, authorize
from lottrack.storage import audit
from lottrack.storage.models import (
    CellCount,
    Lot,
    Passage,
    PassageReagent,
    ProductUnit,
    ReagentLot,
    Site,
    Specification,
)

LOT_PREFIX = "L-"


# ------------------------------------------------------------------ shared lookups


def lot_site(session: Session, lot: Lot) -> Site:
    """The site of the lot's subject (decimal separator, time zone, FIN, product codes)."""
    return site_row(session, subject_row(session, lot.subject_id).site_id)


def lot_spec(session: Session, lot: Lot) -> Specification:
    """The specification version the lot was created under."""
    spec = session.get(Specification, lot.spec_id)
    if spec is None:
        raise NotFound(f"Lot {lot.lot_number}: specification id {lot.spec_id} is missing.")
    return spec


def passages_of(session: Session, lot_id: int) -> list[Passage]:
    """The lot's passages, P0 first."""
    return list(
        session.exec(
            select(Passage).where(Passage.lot_id == lot_id).order_by(col(Passage.number))
        ).all()
    )


def passage_row(session: Session, passage_id: int) -> Passage:
    """A passage by id."""
    passage = session.get(Passage, passage_id)
    if passage is None:
        raise NotFound(f"No passage with id {passage_id}.")
    return passage


def _label(number: int) -> str:
    return f"P{number}"


# ------------------------------------------------------------------------ lots


def start_lot(session: Session, who: CurrentUser, *, harvest_id: int) -> int:
    """Open the manufacturing lot of a harvest (one per harvest), numbered ``L-<DIN>`` and
    tested against the specification current now. Returns the lot id."""
    authorize(session, who, Action.RECORD_MANUFACTURING)
    harvest = harvest_row(session, harvest_id, for_update=True)  # one lot, also when racing
    if harvest.voided_reason is not None:
        raise InvalidTransition(
            f"Cannot start a lot: harvest {harvest.din} was voided ({harvest.voided_reason})."
        )
    existing = session.exec(select(Lot).where(Lot.harvest_id == harvest_id)).first()
    if existing is not None:
        raise InvalidTransition(
            f"Cannot start a lot: harvest {harvest.din} already has lot "
            f"{existing.lot_number} (one lot per harvest)."
        )
    spec = current_spec(session)
    assert spec.id is not None
    lot = Lot(
        lot_number=LOT_PREFIX + harvest.din,
        harvest_id=harvest_id,
        subject_id=harvest.subject_id,
        spec_id=spec.id,
        created_by=who.id,
    )
    session.add(lot)
    session.flush()
    assert lot.id is not None
    return lot.id


# -------------------------------------------------------------------- passages


def _usable_reagent_ids(
    session: Session, site: Site, reagent_lot_ids: Sequence[int], on: dt.datetime
) -> list[int]:
    ids = list(reagent_lot_ids) if not isinstance(reagent_lot_ids, str | bytes) else []
    if not ids or any(isinstance(i, bool) or not isinstance(i, int) for i in ids):
        raise ValidationError(
            "Reagent lots: give the reagent lots used (medium, supplement, dissociation reagent).",
            field="Reagent lots",
        )
    if len(set(ids)) != len(ids):
        raise ValidationError("Reagent lots: a reagent lot is listed twice.", field="Reagent lots")
    for reagent_lot_id in ids:
        require_usable(session, reagent_lot_id, on, timezone=site_zone(site))
    return ids


def _seeding_floor(session: Session, lot: Lot, previous: Passage | None) -> tuple[dt.datetime, str]:
    """The earliest a passage may be seeded: the previous passage's harvest, or the bone
    marrow collection for P0."""
    if previous is not None and previous.harvested_at is not None:
        return previous.harvested_at, f"{_label(previous.number)} was harvested"
    return harvest_row(session, lot.harvest_id).collected_at, "the bone marrow was collected"


def record_passage(
    session: Session,
    who: CurrentUser,
    *,
    lot_id: int,
    number: int,
    seeded_at: dt.datetime,
    cells_seeded_text: str,
    area_text: str,
    vessels: str,
    reagent_lot_ids: Sequence[int],
    deviation_id: int | None = None,
) -> int:
    """Record the seeding of passage ``number``; returns the passage id.

    Refused unless the lot is in process, passages follow P0, P1, … without gaps up to
    the specification's maximum passage, the previous passage has been harvested (and
    this seeding is not before that harvest), and every reagent lot is released and
    unexpired on the day of seeding. The cells seeded cannot exceed those available from
    the step before beyond the counting error (:mod:`lottrack.manufacturing.plausibility`) unless
    ``deviation_id`` names an open deviation of the lot that explains it.
    """
    authorize(session, who, Action.RECORD_MANUFACTURING)
    lot = lots.get_lot(session, lot_id, for_update=True)
    if isinstance(number, bool) or not isinstance(number, int) or number < 0:
        raise ValidationError(
            f"Passage number: {number!r} is not a passage number; expected 0 for P0, 1 for P1, …",
            field="Passage number",
        )
    label = _label(number)
    lots.require_open_for_manufacturing(lot, f"record passage {label}")
    spec = lot_spec(session, lot)
    if number > spec.max_passage:
        raise InvalidTransition(
            f"Cannot record passage {label}: specification v{spec.version} allows passages up "
            f"to {_label(spec.max_passage)} (maximum passage) for lot {lot.lot_number}."
        )
    passages = passages_of(session, lot_id)
    expected = passages[-1].number + 1 if passages else 0
    if number < expected:
        raise InvalidTransition(
            f"Cannot record passage {label}: lot {lot.lot_number} already "
            f"has {label}; correct it instead."
        )
    if number > expected:
        raise InvalidTransition(
            f"Cannot record passage {label}: lot {lot.lot_number} has no {_label(expected)} "
            "yet; passages are recorded P0, P1, … without gaps."
        )
    site = lot_site(session, lot)
    previous = passages[-1] if passages else None
    if previous is not None and previous.harvested_at is None:
        raise InvalidTransition(
            f"Cannot record passage {label}: {_label(previous.number)} of lot "
            f"{lot.lot_number} has not been harvested; record its harvest first."
        )
    not_before, what = _seeding_floor(session, lot, previous)
    seeded = check_moment(site, seeded_at, "Seeded at", not_before=not_before, not_before_what=what)
    cells = parse_at_site(site, cells_seeded_text, "Cells seeded", Dim.CELLS)
    available, source = plausibility.available_for_seeding(session, lot, previous)
    excess = plausibility.check(
        session,
        lot,
        field="Cells seeded",
        value=cells.value,
        available=available,
        source=source,
        deviation_id=deviation_id,
        decimal_separator=site.decimal_separator,
    )
    area = parse_at_site(site, area_text, "Surface area", Dim.AREA)
    vessels = clean_text(vessels, "Vessels", max_length=200)
    reagent_ids = _usable_reagent_ids(session, site, reagent_lot_ids, seeded)
    passage = Passage(
        lot_id=lot_id,
        number=number,
        seeded_at=seeded,
        cells_seeded=cells.value,
        cells_seeded_text=cells.text,
        area_cm2=area.value,
        area_text=area.text,
        vessels=vessels,
        recorded_by=who.id,
    )
    session.add(passage)
    session.flush()
    assert passage.id is not None
    for reagent_lot_id in reagent_ids:
        session.add(PassageReagent(passage_id=passage.id, reagent_lot_id=reagent_lot_id))
    session.flush()
    plausibility.link(session, excess, "passage", passage.id)
    return passage.id


def record_passage_harvest(
    session: Session,
    who: CurrentUser,
    *,
    passage_id: int,
    harvested_at: dt.datetime,
    cells_harvested_text: str,
    viability_text: str,
) -> None:
    """Record the harvest of a seeded passage (after its seeding; once; lot in process)."""
    authorize(session, who, Action.RECORD_MANUFACTURING)
    passage = passage_row(session, passage_id)
    lot = lots.get_lot(session, passage.lot_id, for_update=True)
    label = _label(passage.number)
    lots.require_open_for_manufacturing(lot, f"record the harvest of {label}")
    if passage.harvested_at is not None:
        raise InvalidTransition(
            f"Cannot record the harvest of {label}: it is already "
            f"recorded for lot {lot.lot_number}; correct it instead."
        )
    site = lot_site(session, lot)
    harvested = check_moment(
        site,
        harvested_at,
        "Harvested at",
        not_before=passage.seeded_at,
        not_before_what=f"{label} was seeded",
        strictly_after=True,
    )
    cells = parse_at_site(site, cells_harvested_text, "Cells harvested", Dim.CELLS)
    viability = parse_at_site(site, viability_text, "Viability", Dim.FRACTION)
    with audit.reason(session, f"harvest of {label} recorded"):
        passage.harvested_at = harvested
        passage.cells_harvested = cells.value
        passage.cells_harvested_text = cells.text
        passage.viability_pct = viability.value
        passage.harvest_recorded_by = who.id


def correct_passage(
    session: Session,
    who: CurrentUser,
    passage_id: int,
    *,
    reason: str,
    seeded_at: dt.datetime | None = None,
    cells_seeded_text: str | None = None,
    area_text: str | None = None,
    vessels: str | None = None,
    harvested_at: dt.datetime | None = None,
    cells_harvested_text: str | None = None,
    viability_text: str | None = None,
    deviation_id: int | None = None,
) -> None:
    """Correct typed values of a passage, with a reason (audited). Every given value is
    read again as if typed; the order seeding → harvest → next seeding must still hold,
    and so must the plausible numbers (cells seeded within those available before, the
    next passage's seeding within these cells harvested) unless ``deviation_id`` names an
    open deviation that explains it. A correction on a released lot returns it to
    awaiting release."""
    authorize(session, who, Action.RECORD_MANUFACTURING)
    why = clean_text(reason, "Reason", max_length=500)
    passage = passage_row(session, passage_id)
    lot = lots.get_lot(session, passage.lot_id, for_update=True)
    label = _label(passage.number)
    harvest_fields = (harvested_at, cells_harvested_text, viability_text)
    if passage.harvested_at is None and any(v is not None for v in harvest_fields):
        raise InvalidTransition(
            f"Cannot correct the harvest of {label}: it has not been "
            "recorded; record the harvest instead."
        )
    site = lot_site(session, lot)
    passages = passages_of(session, lot.id or 0)
    index = [p.id for p in passages].index(passage.id)
    before = passages[index - 1] if index else None
    after = passages[index + 1] if index + 1 < len(passages) else None
    new: dict[str, Any] = {}
    if seeded_at is not None:
        floor, what = _seeding_floor(session, lot, before)
        new["seeded_at"] = check_moment(
            site, seeded_at, "Seeded at", not_before=floor, not_before_what=what
        )
    for text, field, dim, column, text_column in (
        (cells_seeded_text, "Cells seeded", Dim.CELLS, "cells_seeded", "cells_seeded_text"),
        (area_text, "Surface area", Dim.AREA, "area_cm2", "area_text"),
        (
            cells_harvested_text,
            "Cells harvested",
            Dim.CELLS,
            "cells_harvested",
            "cells_harvested_text",
        ),
    ):
        if text is not None:
            parsed = parse_at_site(site, text, field, dim)
            new[column], new[text_column] = parsed.value, parsed.text
    if viability_text is not None:
        new["viability_pct"] = parse_at_site(site, viability_text, "Viability", Dim.FRACTION).value
    if vessels is not None:
        new["vessels"] = clean_text(vessels, "Vessels", max_length=200)
    if harvested_at is not None:
        new["harvested_at"] = check_moment(site, harvested_at, "Harvested at")
    seeded = new.get("seeded_at", passage.seeded_at)
    harvested = new.get("harvested_at", passage.harvested_at)
    if harvested is not None and harvested <= seeded:
        raise ValidationError(
            f"Harvested at: {label} would be harvested at or before its "
            "seeding; a passage is harvested after it is seeded.",
            field="Harvested at",
        )
    if after is not None and harvested is not None and after.seeded_at < harvested:
        raise ValidationError(
            f"Harvested at: {label} would be harvested after {_label(after.number)} was seeded.",
            field="Harvested at",
        )
    changes = {k: v for k, v in new.items() if getattr(passage, k) != v}
    if not changes:
        raise ValidationError(f"Correction: no value of {label} would change.", field="Correction")
    excesses = _corrected_plausibly(
        session, lot, site, passage, before, after, changes, deviation_id
    )
    with audit.reason(session, why):
        for key, value in changes.items():
            setattr(passage, key, value)
    for excess, passage_id in excesses:
        plausibility.link(session, excess, "passage", passage_id)
    lots.after_correction(session, lot, why)


def _corrected_plausibly(
    session: Session,
    lot: Lot,
    site: Site,
    passage: Passage,
    before: Passage | None,
    after: Passage | None,
    changes: dict[str, Any],
    deviation_id: int | None,
) -> list[tuple[plausibility.Excess | None, int]]:
    """The plausibility checks a passage correction must pass: its cells seeded against
    the step before, and the next passage's cells seeded against its cells harvested."""
    out: list[tuple[plausibility.Excess | None, int]] = []
    sep = site.decimal_separator
    if "cells_seeded" in changes:
        available, source = plausibility.available_for_seeding(session, lot, before)
        out.append(
            (
                plausibility.check(
                    session,
                    lot,
                    field="Cells seeded",
                    value=changes["cells_seeded"],
                    available=available,
                    source=source,
                    deviation_id=deviation_id,
                    decimal_separator=sep,
                ),
                passage.id or 0,
            )
        )
    if "cells_harvested" in changes and after is not None:
        out.append(
            (
                plausibility.check(
                    session,
                    lot,
                    field=f"Cells seeded at P{after.number}",
                    value=after.cells_seeded,
                    available=changes["cells_harvested"],
                    source=f"cells harvested at P{passage.number} as corrected",
                    deviation_id=deviation_id,
                    decimal_separator=sep,
                ),
                after.id or 0,
            )
        )
    return out


# ------------------------------------------------------------------- read side


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
                label=_label(p.number),
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


def _count(session: Session, table: Any, *conditions: Any) -> int:
    return int(session.exec(select(func.count()).select_from(table).where(*conditions)).one())


def lot_summary(session: Session, who: CurrentUser, lot_id: int) -> LotSummary:
    """Status, harvest and DIN, subject code and chain-of-identity id, and how many
    passages, counts (valid ones; and those needing a recount) and bags the lot has."""
    authorize(session, who, Action.VIEW_BATCH_RECORD)
    lot = lots.get_lot(session, lot_id)
    harvest = harvest_row(session, lot.harvest_id)
    subject = subject_row(session, lot.subject_id)
    rows = _rows(session, lot_id)
    valid = (CellCount.lot_id == lot_id, col(CellCount.voided_reason).is_(None))
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
        counts=_count(session, CellCount, *valid),
        counts_needing_recount=_count(
            session, CellCount, *valid, col(CellCount.recount_required).is_(True)
        ),
        units=_count(session, ProductUnit, ProductUnit.lot_id == lot_id),
        formulated_at=lot.formulated_at,
    )
