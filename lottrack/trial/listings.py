"""Read-only listings for the pharmacy and the ward screens (design §5, §7, §8).

Nothing here writes. Every function authorizes first and returns frozen plain data.

* The pharmacy (unblinded) gets the visits due with their arm, a visit with its current
  weight, the subject's available MSC bags and the suspension-media lots, the dispensings
  awaiting second verification, and a dry run of the §8 checks (:func:`preview_dispensing`,
  :func:`preview_verification`) built from the dispensing service's own check functions,
  so the screen shows exactly what signing would find.
* The ward (blinded) gets patients and visits built on :func:`lottrack.trial.ward.
  ward_visit`: identical for MSC and placebo visits apart from identifiers and times, in
  an order that never depends on the arm.
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
    Certificate,
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
from lottrack.trial import allocation, dispensing, visits, ward
from lottrack.trial.dispensing import SUSPENSION_MEDIA, CheckOutcome

# ------------------------------------------------------------------------- shared


def din_text(din: str) -> str:
    """A DIN as people read it, check character last: ``A9999 25 000012 X``."""
    return str(parse_din(din))


@dataclass(frozen=True)
class WeightInfo:
    """A subject's current weight and whether a dispensing may use it (§5)."""

    weight_kg: float
    weight_text: str
    measured_at: dt.datetime
    age_days: float
    max_age_days: float
    fresh: bool
    warning: str | None
    """The plausibility warning (outside 30–200 kg), or None."""


def _weight(session: Session, subject_id: int, now: dt.datetime) -> WeightInfo | None:
    row = visits.current_weight(session, subject_id, now)
    if row is None:
        return None
    max_age = settings.get_float(session, "weight_max_age_days")
    age = calc.weight_age(row.measured_at, now, max_age_days=max_age)
    return WeightInfo(
        row.weight_kg,
        row.weight_text,
        row.measured_at,
        age.age_days,
        max_age,
        age.fresh,
        calc.check_weight(row.weight_kg).warning,
    )


def _names(session: Session, *user_ids: int | None) -> dict[int, str]:
    ids = {i for i in user_ids if i is not None}
    if not ids:
        return {}
    rows = session.exec(select(User.id, User.full_name).where(col(User.id).in_(ids))).all()
    return {i: n for i, n in rows if i is not None}


def _visit(session: Session, visit_id: int) -> Visit:
    # the statement the dispensing checks read it with: a read sends it once (#18)
    visit = session.exec(select(Visit).where(Visit.id == visit_id)).first()
    if visit is None:
        raise NotFound(f"No visit with id {visit_id}.")
    return visit


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


def visits_due(session: Session, who: CurrentUser, *, limit: int = 200) -> list[VisitDue]:
    """Planned visits, soonest first, with their arm (unblinded pharmacy only)."""
    authorize(session, who, Action.VIEW_ALLOCATION)
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
    return out


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
        _copies(session, "label", "product_unit", d.unit_id),
    )


def _copies(session: Session, kind: str, record_type: str, record_id: int) -> int:
    """How many times a document of a record was issued."""
    return int(
        session.exec(
            select(func.count())
            .select_from(Certificate)
            .where(
                Certificate.kind == kind,
                Certificate.record_type == record_type,
                Certificate.record_id == record_id,
            )
        ).one()
    )


def pharmacy_visit(session: Session, who: CurrentUser, visit_id: int) -> PharmacyVisit:
    """One visit as the pharmacy prepares it (unblinded: shows the arm)."""
    authorize(session, who, Action.DISPENSE)
    authorize(session, who, Action.VIEW_ALLOCATION)
    visit = _visit(session, visit_id)
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
        _weight(session, visit.subject_id, now),
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
    visit = _visit(session, d.visit_id)
    unit = session.get(ProductUnit, d.unit_id)
    assert unit is not None
    return dispensing.verification_checks(session, visit, unit, d, utcnow())


# -------------------------------------------------------------------- ward (blinded)


WARD_STATES = (
    "waiting for the pharmacy",
    "awaiting second verification",
    "ready for bedside check",
    "identity checked",
    "infusing",
    "infused",
)
"""Every state the ward sees; the same words for both arms."""


def ward_state(view: ward.WardVisit) -> str:
    """The one-line state of a visit on the ward (never depends on the arm)."""
    if view.kit_code is None:
        return WARD_STATES[0]
    if view.verified_at is None:
        return WARD_STATES[1]
    if view.infusion_id is None:
        return WARD_STATES[2]
    if view.started_at is None:
        return WARD_STATES[3]
    if view.ended_at is None:
        return WARD_STATES[4]
    return WARD_STATES[5]


@dataclass(frozen=True)
class WardRow:
    """One line of the ward's list: a visit, or a patient without visits."""

    subject_code: str
    initials: str
    visit_id: int | None
    period: int | None
    planned_date: dt.date | None
    state: str
    unblinded: bool
    subject_id: int = 0
    """The subject (a weight is recorded for it, with or without a visit)."""


@dataclass(frozen=True)
class WardPage:
    """A page of patients (by subject code) with their visits."""

    rows: tuple[WardRow, ...]
    total_patients: int
    offset: int
    limit: int


def ward_patients(
    session: Session, who: CurrentUser, *, offset: int = 0, limit: int = 50
) -> WardPage:
    """Patients and their visits for blinded staff, by subject code then period."""
    authorize(session, who, Action.RECORD_INFUSION)
    total = session.exec(select(func.count()).select_from(Subject)).one()
    subjects = session.exec(
        select(Subject).order_by(col(Subject.code)).offset(max(offset, 0)).limit(max(limit, 1))
    ).all()
    rows: list[WardRow] = []
    for subject in subjects:
        views = ward.ward_visits(session, who, subject_id=subject.id)
        flagged = subject.unblinded_at is not None
        if not views:
            rows.append(
                WardRow(
                    subject.code,
                    subject.initials,
                    None,
                    None,
                    None,
                    "no visit scheduled",
                    flagged,
                    subject.id or 0,
                )
            )
        for v in sorted(views, key=lambda v: v.period):
            rows.append(
                WardRow(
                    subject.code,
                    subject.initials,
                    v.visit_id,
                    v.period,
                    v.planned_date,
                    ward_state(v),
                    flagged,
                    subject.id or 0,
                )
            )
    return WardPage(tuple(rows), int(total), offset, limit)


@dataclass(frozen=True)
class WardVisitDetail:
    """One visit at the bedside: the blinded view, the state and the current weight."""

    visit: ward.WardVisit
    subject_id: int
    state: str
    weight: WeightInfo | None
    certificate_copies: int
    """How often the infusion certificate was issued (a further issue is a reprint)."""
    stop: str | None = None
    """Why the bag must not be infused now (past its use-by, its lot no longer released),
    while the bedside check or the start is next; the same words for both arms."""


def ward_visit_detail(session: Session, who: CurrentUser, visit_id: int) -> WardVisitDetail:
    """The ward screen of one visit (blinded; identical for both arms)."""
    view = ward.ward_visit(session, who, visit_id)
    subject_id = _visit(session, visit_id).subject_id
    copies = (
        _copies(session, "infusion", "infusion", view.infusion_id)
        if view.infusion_id is not None
        else 0
    )
    state = ward_state(view)
    now = utcnow()
    stop = ward.bag_stop(session, visit_id, now) if state in WARD_STATES[2:4] else None
    return WardVisitDetail(view, subject_id, state, _weight(session, subject_id, now), copies, stop)


# ------------------------------------------------------------------- investigators


@dataclass(frozen=True)
class SubjectRef:
    """A subject as the unblinding screen names it."""

    subject_id: int
    code: str
    date_of_birth: dt.date
    unblinded_at: dt.datetime | None


def subject_for_unblinding(session: Session, who: CurrentUser, code: str) -> SubjectRef:
    """Find a subject by code for an emergency unblinding (investigators only)."""
    authorize(session, who, Action.UNBLIND)
    text = " ".join(code.split()).upper()
    subject = session.exec(select(Subject).where(Subject.code == text)).first()
    if subject is None or subject.id is None:
        raise NotFound(f'No subject with code "{text}".')
    return SubjectRef(subject.id, subject.code, subject.date_of_birth, subject.unblinded_at)


def unblinded_subjects(session: Session, who: CurrentUser) -> list[SubjectRef]:
    """Subjects flagged as unblinded, in the order they were unblinded (no allocation)."""
    authorize(session, who, Action.UNBLIND)
    rows = session.exec(
        select(Subject)
        .where(col(Subject.unblinded_at).is_not(None))
        .order_by(col(Subject.unblinded_at))
    ).all()
    return [SubjectRef(s.id or 0, s.code, s.date_of_birth, s.unblinded_at) for s in rows]
