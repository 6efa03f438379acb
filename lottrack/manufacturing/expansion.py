"""Expansion (design §2, §3): a lot grown from one harvest, passaged P0, P1, … Pmax.

Here the lot is started and its passages are recorded (seeding, harvest) and corrected.
What is derived from them (seeding density, population doublings, doubling time) is
computed when they are read: :mod:`lottrack.manufacturing.passage_table`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlmodel import Session, select

from lottrack.facility.sites import check_moment, parse_at_site, site_row, site_zone
from lottrack.facility.subjects import subject_row
from lottrack.kernel.errors import InvalidTransition, ValidationError
from lottrack.kernel.inputs import clean_text
from lottrack.kernel.units import Dim
from lottrack.manufacturing import lots, plausibility
from lottrack.manufacturing.harvests import harvest_row
from lottrack.manufacturing.lots import (
    lot_site,
    lot_spec,
    passage_label,
    passage_row,
    passages_of,
)
from lottrack.manufacturing.reagents import require_usable
from lottrack.manufacturing.specifications import current_spec
from lottrack.records.permissions import Action, CurrentUser, authorize
from lottrack.storage import audit
from lottrack.storage.models import (
    Lot,
    Passage,
    PassageReagent,
    Site,
    utcnow,
)

LOT_PREFIX = "L-"


# ------------------------------------------------------------------------ lots


def start_lot(
    session: Session,
    who: CurrentUser,
    *,
    harvest_id: int,
    started_at: dt.datetime | None = None,
) -> int:
    """Open the manufacturing lot of a harvest (one per harvest), numbered ``L-<DIN>`` and
    tested against the specification current now. ``started_at`` is when the work began
    (now when not given; a lot written up from paper gives the time on the paper): not in
    the future and not before the bone marrow was collected. Returns the lot id."""
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
    started = utcnow()
    if started_at is not None:
        started = check_moment(
            site_row(session, subject_row(session, harvest.subject_id).site_id),
            started_at,
            "Started at",
            not_before=harvest.collected_at,
            not_before_what="the bone marrow was collected",
        )
    spec = current_spec(session)
    assert spec.id is not None
    lot = Lot(
        lot_number=LOT_PREFIX + harvest.din,
        harvest_id=harvest_id,
        subject_id=harvest.subject_id,
        spec_id=spec.id,
        created_at=started,
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
        return previous.harvested_at, f"{passage_label(previous.number)} was harvested"
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
    label = passage_label(number)
    lots.require_open_for_manufacturing(lot, f"record passage {label}")
    spec = lot_spec(session, lot)
    if number > spec.max_passage:
        raise InvalidTransition(
            f"Cannot record passage {label}: specification v{spec.version} allows passages up "
            f"to {passage_label(spec.max_passage)} (maximum passage) for lot {lot.lot_number}."
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
            f"Cannot record passage {label}: lot {lot.lot_number} has no {passage_label(expected)} "
            "yet; passages are recorded P0, P1, … without gaps."
        )
    site = lot_site(session, lot)
    previous = passages[-1] if passages else None
    if previous is not None and previous.harvested_at is None:
        raise InvalidTransition(
            f"Cannot record passage {label}: {passage_label(previous.number)} of lot "
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
    label = passage_label(passage.number)
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
    label = passage_label(passage.number)
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
            f"Harvested at: {label} would be harvested after "
            f"{passage_label(after.number)} was seeded.",
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
