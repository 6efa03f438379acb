"""What the unblinded pharmacy reads (design §5, §8): the visits due with their arm, a
visit with its current weight, the subject's available MSC bags and the suspension-media
lots, the dispensings awaiting second verification, and a dry run of the §8 checks
(:func:`preview_dispensing`, :func:`preview_verification`) built from the dispensing
service's own check functions, so the screen shows exactly what signing would find.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func
from sqlmodel import Session, col, select

from lottrack.kernel import calc
from lottrack.kernel.errors import NotFound
from lottrack.kernel.isbt128 import parse_din
from lottrack.records.permissions import Action, CurrentUser, authorize
from lottrack.storage import settings
from lottrack.storage.models import (
    Allocation,
    Dispensing,
    Infusion,
    Lot,
    ProductUnit,
    ReagentLot,
    Subject,
    User,
    Visit,
    utcnow,
)
from lottrack.trial import allocation, dispensing
from lottrack.trial.dispensing import SUSPENSION_MEDIA, CheckOutcome
from lottrack.trial.listings.common import WeightInfo, current_weight, document_copies, visit_row


def din_text(din: str) -> str:
    """A DIN as people read it, check character last: ``A9999 25 000012 X``."""
    return str(parse_din(din))


def _names(session: Session, *user_ids: int | None) -> dict[int, str]:
    ids = {i for i in user_ids if i is not None}
    if not ids:
        return {}
    rows = session.exec(select(User.id, User.full_name).where(col(User.id).in_(ids))).all()
    return {i: n for i, n in rows if i is not None}


# ------------------------------------------------------------------ pharmacy: lists


@dataclass(frozen=True)
class VisitDue:
    """A planned visit the pharmacy still has to prepare a bag for."""

    visit_id: int
    subject_code: str
    period: int
    planned_date: dt.date
    arm: str | None
    """``msc`` or ``placebo``; None while the subject has no allocation."""
    available_bags: int
    """Available MSC bags of the subject."""


def _arms(session: Session, subject_ids: set[int]) -> dict[int, str]:
    rows = session.exec(
        select(Allocation.subject_id, Allocation.sequence).where(
            col(Allocation.subject_id).in_(subject_ids)
        )
    ).all()
    return dict(rows)


@dataclass(frozen=True)
class VisitsDue:
    """The soonest planned visits, and how many are planned in all."""

    visits: tuple[VisitDue, ...]
    total: int


def visits_due(session: Session, who: CurrentUser, *, limit: int = 200) -> VisitsDue:
    """The ``limit`` soonest planned visits with their arm, and how many are planned in
    all (unblinded pharmacy only)."""
    authorize(session, who, Action.VIEW_ALLOCATION)
    limit = max(limit, 1)
    total = session.exec(
        select(func.count()).select_from(Visit).where(Visit.status == "planned")
    ).one()
    rows = session.exec(
        select(Visit, Subject.code)
        .join(Subject, col(Subject.id) == col(Visit.subject_id))
        .where(Visit.status == "planned")
        .order_by(col(Visit.planned_date), col(Subject.code), col(Visit.period))
        .limit(limit)
    ).all()
    subject_ids = {v.subject_id for v, _ in rows}
    sequences = _arms(session, subject_ids)
    bags = (
        dict(
            session.exec(
                select(ProductUnit.subject_id, func.count())
                .where(
                    col(ProductUnit.subject_id).in_(subject_ids),
                    ProductUnit.kind == allocation.MSC,
                    ProductUnit.status == "available",
                )
                .group_by(col(ProductUnit.subject_id))
            ).all()
        )
        if subject_ids
        else {}
    )
    out = []
    for visit, code in rows:
        assert visit.id is not None
        sequence = sequences.get(visit.subject_id)
        out.append(
            VisitDue(
                visit.id,
                code,
                visit.period,
                visit.planned_date,
                allocation.arm_for(sequence, visit.period) if sequence else None,
                int(bags.get(visit.subject_id, 0)),
            )
        )
    return VisitsDue(tuple(out), int(total))


@dataclass(frozen=True)
class AwaitingVerification:
    """A prepared dispensing that a second pharmacist has not verified yet."""

    dispensing_id: int
    subject_code: str
    date_of_birth: dt.date
    period: int
    arm: str
    kit_code: str
    din: str
    volume_ml: float
    prepared_by: str
    prepared_by_id: int
    prepared_at: dt.datetime


def awaiting_verification(session: Session, who: CurrentUser) -> list[AwaitingVerification]:
    """Dispensings awaiting second verification, oldest first (pharmacy only)."""
    authorize(session, who, Action.DISPENSE)
    authorize(session, who, Action.VIEW_ALLOCATION)
    rows = session.exec(
        select(Dispensing, Visit, ProductUnit, Subject)
        .join(Visit, col(Visit.id) == col(Dispensing.visit_id))
        .join(ProductUnit, col(ProductUnit.id) == col(Dispensing.unit_id))
        .join(Subject, col(Subject.id) == col(Visit.subject_id))
        .where(Dispensing.status == "prepared")
        .order_by(col(Dispensing.prepared_at), col(Dispensing.id))
    ).all()
    names = _names(session, *(d.prepared_by for d, _, _, _ in rows))
    return [
        AwaitingVerification(
            d.id or 0,
            s.code,
            s.date_of_birth,
            v.period,
            u.kind,
            u.kit_code,
            din_text(u.din),
            u.volume_ml,
            names.get(d.prepared_by, "unknown"),
            d.prepared_by,
            d.prepared_at,
        )
        for d, v, u, s in rows
    ]


# ------------------------------------------------------------------ pharmacy: a visit


@dataclass(frozen=True)
class BagOption:
    """An available MSC bag of the visit's subject."""

    unit_id: int
    kit_code: str
    din: str
    volume_ml: float
    viable_cells: float | None
    expires_at: dt.datetime
    cryopreserved: bool
    thawed_at: dt.datetime | None
    lot_number: str
    lot_status: str


@dataclass(frozen=True)
class MediaLot:
    """A released, unexpired suspension-media lot (to prepare a placebo bag)."""

    reagent_lot_id: int
    name: str
    lot_number: str
    expiry: dt.date


@dataclass(frozen=True)
class DispensedBag:
    """The dispensing already made for a visit."""

    dispensing_id: int
    unit_id: int
    status: str
    kit_code: str
    din: str
    prepared_by: str
    prepared_at: dt.datetime
    verified_by: str | None
    verified_at: dt.datetime | None
    dose_cells_per_kg: float | None
    infusion_id: int | None
    label_copies: int
    """How often the bag's label was issued (a further issue is a reprint)."""


@dataclass(frozen=True)
class PharmacyVisit:
    """Everything the pharmacy screen of one visit shows."""

    visit_id: int
    subject_id: int
    subject_code: str
    date_of_birth: dt.date
    period: int
    planned_date: dt.date
    status: str
    arm: str | None
    weight: WeightInfo | None
    weight_max_age_days: float
    bags: tuple[BagOption, ...]
    media: tuple[MediaLot, ...]
    dispensed: DispensedBag | None


def _bags(session: Session, subject_id: int) -> tuple[BagOption, ...]:
    rows = session.exec(
        select(ProductUnit, Lot)
        .join(Lot, col(Lot.id) == col(ProductUnit.lot_id))
        .where(
            ProductUnit.subject_id == subject_id,
            ProductUnit.kind == allocation.MSC,
            ProductUnit.status == "available",
        )
        .order_by(col(ProductUnit.expires_at), col(ProductUnit.id))
    ).all()
    return tuple(
        BagOption(
            u.id or 0,
            u.kit_code,
            din_text(u.din),
            u.volume_ml,
            u.viable_cells,
            u.expires_at,
            u.cryopreserved,
            u.thawed_at,
            lot.lot_number,
            lot.status,
        )
        for u, lot in rows
    )


def _media(session: Session, today: dt.date) -> tuple[MediaLot, ...]:
    rows = session.exec(
        select(ReagentLot)
        .where(
            ReagentLot.kind == SUSPENSION_MEDIA,
            ReagentLot.status == "released",
            col(ReagentLot.expiry) >= today,
        )
        .order_by(col(ReagentLot.expiry), col(ReagentLot.id))
    ).all()
    return tuple(MediaLot(r.id or 0, r.name, r.lot_number, r.expiry) for r in rows)


def _dispensed(session: Session, visit_id: int) -> DispensedBag | None:
    d = session.exec(select(Dispensing).where(Dispensing.visit_id == visit_id)).first()
    if d is None:
        return None
    unit = session.get(ProductUnit, d.unit_id)
    assert unit is not None and d.id is not None
    infusion = session.exec(select(Infusion.id).where(Infusion.dispensing_id == d.id)).first()
    names = _names(session, d.prepared_by, d.verified_by)
    return DispensedBag(
        d.id,
        d.unit_id,
        d.status,
        unit.kit_code,
        din_text(unit.din),
        names.get(d.prepared_by, "unknown"),
        d.prepared_at,
        names.get(d.verified_by) if d.verified_by else None,
        d.verified_at,
        d.dose_cells_per_kg,
        infusion,
        document_copies(session, "label", "product_unit", d.unit_id),
    )


def pharmacy_visit(session: Session, who: CurrentUser, visit_id: int) -> PharmacyVisit:
    """One visit as the pharmacy prepares it (unblinded: shows the arm)."""
    authorize(session, who, Action.DISPENSE)
    authorize(session, who, Action.VIEW_ALLOCATION)
    visit = visit_row(session, visit_id)
    subject = session.get(Subject, visit.subject_id)
    assert subject is not None and visit.id is not None
    sequence = _arms(session, {visit.subject_id}).get(visit.subject_id)
    now = utcnow()
    return PharmacyVisit(
        visit.id,
        visit.subject_id,
        subject.code,
        subject.date_of_birth,
        visit.period,
        visit.planned_date,
        visit.status,
        allocation.arm_for(sequence, visit.period) if sequence else None,
        current_weight(session, visit.subject_id, now),
        settings.get_float(session, "weight_max_age_days"),
        _bags(session, visit.subject_id),
        _media(session, now.date()),
        _dispensed(session, visit.id),
    )


# -------------------------------------------------------------- pharmacy: dry runs


@dataclass(frozen=True)
class DispensingPreview:
    """What signing would find now: the six §8 checks and the dose (MSC bag)."""

    checks: tuple[CheckOutcome, ...]
    dose: calc.DoseResult | None
    """With the volume range for the window when the bag's concentration is known."""

    @property
    def ready(self) -> bool:
        """True when every check passes (signing may still fail if something changes)."""
        return all(c.passed for c in self.checks)


def _dose(session: Session, unit: ProductUnit, weight_kg: float | None) -> calc.DoseResult | None:
    if unit.kind != allocation.MSC or weight_kg is None or unit.viable_cells is None:
        return None
    window = calc.DoseWindow(
        settings.get_float(session, "dose_min_cells_per_kg"),
        settings.get_float(session, "dose_max_cells_per_kg"),
    )
    if unit.concentration_per_ml is not None and unit.viability_pct is not None:
        return calc.check_dose(
            weight_kg=weight_kg,
            concentration_cells_per_ml=unit.concentration_per_ml,
            volume_ml=unit.volume_ml,
            viability_percent=unit.viability_pct,
            window=window,
        )
    return calc.check_dose(weight_kg=weight_kg, viable_cells=unit.viable_cells, window=window)


def preview_dispensing(
    session: Session,
    who: CurrentUser,
    *,
    visit_id: int,
    unit_id: int | None = None,
    placebo_reagent_lot_id: int | None = None,
) -> DispensingPreview:
    """Run checks 1–6 of :func:`dispensing.prepare` for a bag (or a placebo from a
    suspension-media lot) without writing anything."""
    authorize(session, who, Action.DISPENSE)
    now = utcnow()
    placebo = (
        dispensing.PlaceboPreparation(placebo_reagent_lot_id)
        if placebo_reagent_lot_id is not None
        else None
    )
    visit, arm = dispensing.open_visit(session, who, visit_id, unit_id=unit_id, placebo=placebo)
    if placebo is not None:
        unit = dispensing.placebo_bag(session, visit, placebo, now)
    else:
        assert unit_id is not None
        unit = dispensing.available_unit(session, unit_id)
    run = dispensing.run_checks(session, visit, unit, arm, now)
    return DispensingPreview(run.checks, _dose(session, unit, run.weight_kg))


def preview_verification(
    session: Session, who: CurrentUser, dispensing_id: int
) -> tuple[CheckOutcome, ...]:
    """Checks 1–3 as :func:`dispensing.second_verify` would repeat them now (no write)."""
    authorize(session, who, Action.DISPENSE)
    d = session.get(Dispensing, dispensing_id)
    if d is None:
        raise NotFound(f"No dispensing with id {dispensing_id}.")
    visit = visit_row(session, d.visit_id)
    unit = session.get(ProductUnit, d.unit_id)
    assert unit is not None
    return dispensing.verification_checks(session, visit, unit, d, utcnow())
