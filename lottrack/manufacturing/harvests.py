"""Bone-marrow harvests (design §2): the first link of the chain, with its own DIN."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlmodel import Session, select

from lottrack.facility.dins import allocate_din
from lottrack.facility.sites import check_moment, parse_at_site, site_row
from lottrack.facility.subjects import subject_row
from lottrack.kernel.errors import NotFound
from lottrack.kernel.inputs import clean_text
from lottrack.kernel.snapshots import snapshot
from lottrack.kernel.units import Dim
from lottrack.records.permissions import Action, CurrentUser, authorize
from lottrack.storage.models import Harvest


@dataclass(frozen=True)
class HarvestInfo:
    """A harvest as services hand it out."""

    id: int
    din: str
    subject_id: int
    collected_at: dt.datetime
    volume_ml: float
    volume_text: str
    anticoagulant: str
    aspiration_site: str
    tnc_cells_total: float | None
    tnc_text: str


def _info(harvest: Harvest) -> HarvestInfo:
    return snapshot(HarvestInfo, harvest)


def record_harvest(
    session: Session,
    who: CurrentUser,
    *,
    subject_id: int,
    collected_at: dt.datetime,
    volume_text: str,
    anticoagulant: str,
    aspiration_site: str,
    tnc_text: str | None = None,
) -> HarvestInfo:
    """Record an aspirate and give it a new DIN of the subject's site (purpose
    ``harvest``). Every input is checked before the DIN is allocated, so a refused
    harvest uses no DIN."""
    authorize(session, who, Action.RECORD_MANUFACTURING)
    subject = subject_row(session, subject_id)
    site = site_row(session, subject.site_id)
    birth = dt.datetime.combine(subject.date_of_birth, dt.time(), dt.UTC)
    collected = check_moment(
        site,
        collected_at,
        "Collected at",
        not_before=birth,
        not_before_what=f"the birth of subject {subject.code}",
    )
    volume = parse_at_site(site, volume_text, "Volume aspirated", Dim.VOLUME)
    tnc = (
        parse_at_site(site, tnc_text, "Total nucleated cells", Dim.CELLS)
        if (tnc_text is not None and tnc_text.strip())
        else None
    )
    anticoagulant = clean_text(anticoagulant, "Anticoagulant", max_length=64)
    aspiration_site = clean_text(aspiration_site, "Aspiration site", max_length=64)
    harvest = Harvest(
        subject_id=subject_id,
        din=allocate_din(session, fin=site.fin, purpose="harvest", by=who.id),
        collected_at=collected,
        volume_ml=volume.value,
        volume_text=volume.text,
        anticoagulant=anticoagulant,
        aspiration_site=aspiration_site,
        tnc_cells_total=tnc.value if tnc else None,
        tnc_text=tnc.text if tnc else "",
        operator_id=who.id,
    )
    session.add(harvest)
    session.flush()
    return _info(harvest)


def harvest_row(session: Session, harvest_id: int, *, for_update: bool = False) -> Harvest:
    """The harvest row (for services of this package), locked when ``for_update``."""
    stmt = select(Harvest).where(Harvest.id == harvest_id)
    harvest = session.exec(stmt.with_for_update() if for_update else stmt).first()
    if harvest is None:
        raise NotFound(f"No harvest with id {harvest_id}.")
    return harvest


def get_harvest(session: Session, harvest_id: int) -> HarvestInfo:
    """A harvest by id."""
    return _info(harvest_row(session, harvest_id))
