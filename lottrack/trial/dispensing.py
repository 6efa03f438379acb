"""Dispensing with dose confirmation and second-person verification (design §5, §8).

Before a dispensing can be signed every check must pass; each outcome is stored with its
numbers. A refused dispensing stores nothing but an audit event saying which check failed.
A bag is dispensed at most once, also with two terminals racing (row lock / write lock,
then the unique constraint on ``dispensing.unit_id``).
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass

from sqlmodel import Session, col, select

from lottrack.kernel.errors import InvalidTransition, NotFound, PermissionDenied, ValidationError
from lottrack.manufacturing.bag_codes import new_division, new_kit_code
from lottrack.records import signatures
from lottrack.records.permissions import Action, CurrentUser, authorize
from lottrack.records.signatures import Credentials
from lottrack.storage import audit, settings
from lottrack.storage.audit import row_content
from lottrack.storage.models import (
    Dispensing,
    DispensingCheck,
    ProductUnit,
    ReagentLot,
    Site,
    Subject,
    Visit,
    utcnow,
)
from lottrack.trial import allocation

# The checks live beside this module; what callers use of them is read from here too.
from lottrack.trial.dispense_checks import CheckOutcome as CheckOutcome
from lottrack.trial.dispense_checks import CheckRun as CheckRun
from lottrack.trial.dispense_checks import blinded_use_by as blinded_use_by
from lottrack.trial.dispense_checks import expiry_outcome as expiry_outcome
from lottrack.trial.dispense_checks import run_checks as run_checks
from lottrack.trial.dispense_checks import spec_for
from lottrack.trial.dispense_checks import usable_until as usable_until
from lottrack.trial.dispense_checks import use_by as use_by
from lottrack.trial.dispense_checks import verification_checks as verification_checks

SUSPENSION_MEDIA = "suspension-media"


@dataclass(frozen=True)
class PlaceboPreparation:
    """What the pharmacist picks to prepare a placebo bag."""

    reagent_lot_id: int


@dataclass(frozen=True)
class DispensingResult:
    """A prepared (or verified) dispensing as the pharmacy sees it."""

    dispensing_id: int
    unit_id: int
    kit_code: str
    arm: str
    dose_cells_per_kg: float | None
    checks: tuple[CheckOutcome, ...]


def visit_arm(session: Session, who: CurrentUser, visit_id: int) -> str:
    """The arm of a visit — for the unblinded pharmacy only."""
    authorize(session, who, Action.VIEW_ALLOCATION)
    visit = _visit(session, visit_id)
    return allocation.arm_for(allocation.sequence_of(session, who, visit.subject_id), visit.period)


def _visit(session: Session, visit_id: int, *, for_update: bool = False) -> Visit:
    stmt = select(Visit).where(Visit.id == visit_id)
    visit = session.exec(stmt.with_for_update() if for_update else stmt).first()
    if visit is None:
        raise NotFound(f"No visit with id {visit_id}.")
    return visit


def _unit(session: Session, unit_id: int, *, for_update: bool = False) -> ProductUnit:
    stmt = select(ProductUnit).where(ProductUnit.id == unit_id)
    unit = session.exec(stmt.with_for_update() if for_update else stmt).first()
    if unit is None:
        raise NotFound(f"No bag with id {unit_id}.")
    return unit


def check_visit_window(session: Session, visit: Visit, now: dt.datetime) -> None:
    """Refuse a dispensing outside the visit's window: its planned date (week 0, week 24)
    ± ``visit_window_days``, by the site's calendar."""
    days = settings.get_int(session, "visit_window_days")
    site = site_of(session, visit.subject_id)
    today = now.astimezone(zoneinfo.ZoneInfo(site.timezone)).date()
    first = visit.planned_date - dt.timedelta(days=days)
    last = visit.planned_date + dt.timedelta(days=days)
    if not first <= today <= last:
        raise InvalidTransition(
            f"Cannot dispense: period {visit.period} is planned for {visit.planned_date}; it "
            f"can be dispensed from {first} to {last} (± {days} days), and today is {today}."
        )


def _refuse(
    session: Session, who: CurrentUser, visit_id: int, failed: list[CheckOutcome], doing: str
) -> None:
    """Discard the attempt, audit which checks failed, commit that, and refuse."""
    summary = "; ".join(f"check {c.number} ({c.name}) failed: {c.detail}" for c in failed)
    session.rollback()
    audit.set_actor(session, who.id, who.username)
    audit.log_event(session, f"{doing}-refused", "visit", visit_id, reason=summary)
    session.commit()
    raise InvalidTransition(f"Cannot {doing.replace('-', ' ')}: {summary}.")


# ---------------------------------------------------------------------- placebo bag


def placebo_bag(
    session: Session,
    visit: Visit,
    prep: PlaceboPreparation,
    now: dt.datetime,
    *,
    created_by: int = 0,
    division: str = "--",
    kit_code: str = "(new)",
) -> ProductUnit:
    """The placebo bag for ``visit`` (not added to the session): suspension media of a
    released, unexpired lot, the volume of the subject's MSC bag, the same DIN and
    product-code form."""
    reagent = session.get(ReagentLot, prep.reagent_lot_id)
    if reagent is None or reagent.kind != SUSPENSION_MEDIA:
        raise ValidationError(
            "Placebo: choose a released suspension-media reagent lot.", field="reagent_lot"
        )
    if reagent.expiry < now.date():
        raise ValidationError(
            f"Placebo: suspension media lot {reagent.lot_number} expired on {reagent.expiry}.",
            field="reagent_lot",
        )
    msc = session.exec(
        select(ProductUnit)
        .where(
            ProductUnit.subject_id == visit.subject_id,
            ProductUnit.kind == allocation.MSC,
        )
        .order_by(col(ProductUnit.id).desc())
    ).first()
    if msc is None:
        raise InvalidTransition(
            "Cannot prepare the placebo: its volume must match the "
            "subject's MSC bag, and none has been formulated yet."
        )
    spec = spec_for(session, msc)
    return ProductUnit(
        kind=allocation.PLACEBO,
        subject_id=visit.subject_id,
        reagent_lot_id=reagent.id,
        din=msc.din,
        product_code=msc.product_code[:6] + division,
        division=division,
        kit_code=kit_code,
        volume_ml=msc.volume_ml,
        volume_text=msc.volume_text,
        formulated_at=now,
        expires_at=now + dt.timedelta(hours=spec.fresh_shelf_life_hours),
        storage=msc.storage,
        status="available",
        created_by=created_by,
    )


def _placebo_unit(
    session: Session,
    who: CurrentUser,
    visit: Visit,
    prep: PlaceboPreparation,
    now: dt.datetime,
    kit_code: Callable[[Session], str],
) -> ProductUnit:
    probe = placebo_bag(session, visit, prep, now)  # validates before a DIN division is used
    division = new_division(session, probe.din)
    unit = placebo_bag(
        session, visit, prep, now, created_by=who.id, division=division, kit_code=kit_code(session)
    )
    session.add(unit)
    session.flush()
    return unit


# ------------------------------------------------------------------------ services


def open_visit(
    session: Session,
    who: CurrentUser,
    visit_id: int,
    *,
    unit_id: int | None,
    placebo: PlaceboPreparation | None,
    window_at: dt.datetime | None = None,
    for_update: bool = False,
) -> tuple[Visit, str]:
    """The refusals that come before checks 1–6, for a dispensing and for its preview
    alike: the visit is still planned (and inside its window at ``window_at``, when
    given: the dispensing itself; the pharmacy previews a visit ahead of its window), and
    exactly one bag is chosen (an MSC bag or a placebo to prepare). Returns the visit
    (locked when ``for_update``) and its arm."""
    visit = _visit(session, visit_id, for_update=for_update)
    if visit.status != "planned":
        raise InvalidTransition(f"Cannot dispense: this visit is already {visit.status}.")
    if window_at is not None:
        check_visit_window(session, visit, window_at)
    arm = allocation.arm_for(allocation.sequence_of(session, who, visit.subject_id), visit.period)
    if (unit_id is None) == (placebo is None):
        raise ValidationError(
            "Dispensing: choose an MSC bag or prepare a placebo, not both.", field="bag"
        )
    return visit, arm


def available_unit(session: Session, unit_id: int, *, for_update: bool = False) -> ProductUnit:
    """The bag, refused unless it is still available (a bag is dispensed at most once)."""
    unit = _unit(session, unit_id, for_update=for_update)
    if unit.status != "available":
        raise InvalidTransition(
            f"Cannot dispense bag {unit.kit_code}: it is {unit.status} "
            "(a bag is dispensed at most once)."
        )
    return unit


def prepare(
    session: Session,
    who: CurrentUser,
    creds: Credentials,
    *,
    visit_id: int,
    unit_id: int | None = None,
    placebo: PlaceboPreparation | None = None,
    kit_code: Callable[[Session], str] | None = None,
) -> DispensingResult:
    """Prepare the bag for a visit, run checks 1–6, and sign ``dose-verified``."""
    user = authorize(session, who, Action.DISPENSE)
    now = utcnow()
    visit, arm = open_visit(
        session, who, visit_id, unit_id=unit_id, placebo=placebo, window_at=now, for_update=True
    )
    if placebo is not None:
        unit = _placebo_unit(session, who, visit, placebo, now, kit_code or new_kit_code)
    else:
        assert unit_id is not None
        unit = available_unit(session, unit_id, for_update=True)
    run = run_checks(session, visit, unit, arm, now)
    checks = list(run.checks)
    weight_kg, weight_id, dose = run.weight_kg, run.weight_id, run.dose_cells_per_kg
    failed = [c for c in checks if not c.passed]
    if failed:
        _refuse(session, who, visit_id, failed, "dispense")
    assert weight_kg is not None and weight_id is not None and user.id is not None
    assert unit.id is not None
    dispensing = Dispensing(
        visit_id=visit_id,
        unit_id=unit.id,
        weight_id=weight_id,
        weight_kg=weight_kg,
        dose_cells_per_kg=dose,
        status="prepared",
        prepared_by=user.id,
        prepared_at=now,
        use_by=use_by(session, now),
    )
    session.add(dispensing)
    session.flush()
    _store_checks(session, dispensing, checks, "prepare", user.id, now)
    sig = signatures.sign(
        session,
        who,
        creds,
        meaning="dose-verified",
        record_type="dispensing",
        record_id=dispensing.id or 0,
        content=dispensing_content(session, dispensing),
    )
    with audit.reason(session, f"dispensed for visit {visit_id} (signature #{sig.id})"):
        dispensing.prepared_signature_id = sig.id
        unit.status = "dispensed"
        visit.status = "dispensed"
    assert dispensing.id is not None and unit.id is not None
    return DispensingResult(dispensing.id, unit.id, unit.kit_code, arm, dose, tuple(checks))


def _store_checks(
    session: Session,
    dispensing: Dispensing,
    checks: list[CheckOutcome],
    stage: str,
    user_id: int,
    now: dt.datetime,
) -> None:
    assert dispensing.id is not None
    for c in checks:
        session.add(
            DispensingCheck(
                dispensing_id=dispensing.id,
                stage=stage,
                number=c.number,
                name=c.name,
                passed=c.passed,
                detail=c.detail[:1000],
                checked_at=now,
                checked_by=user_id,
            )
        )
    session.flush()


def dispensing_content(session: Session, dispensing: Dispensing) -> dict[str, object]:
    """What the dispensing signatures cover: the record, its bag and its checks."""
    table = Dispensing.__table__  # type: ignore[attr-defined]
    body = row_content(table, {c.name: getattr(dispensing, c.name) for c in table.columns})
    for key in (
        "status",
        "prepared_signature_id",
        "verified_signature_id",
        "verified_by",
        "verified_at",
    ):
        body.pop(key, None)
    if body.get("use_by") is None:  # made before schema 0003: signed without it
        body.pop("use_by", None)
    checks = session.exec(
        select(DispensingCheck)
        .where(DispensingCheck.dispensing_id == dispensing.id, DispensingCheck.stage == "prepare")
        .order_by(col(DispensingCheck.number))
    ).all()
    body["checks"] = [(c.number, c.passed, c.detail) for c in checks]
    return body


def second_verify(
    session: Session, who: CurrentUser, creds: Credentials, dispensing_id: int
) -> DispensingResult:
    """A different pharmacist repeats checks 1–3 independently and signs."""
    user = authorize(session, who, Action.DISPENSE)
    now = utcnow()
    stmt = select(Dispensing).where(Dispensing.id == dispensing_id).with_for_update()
    dispensing = session.exec(stmt).first()
    if dispensing is None:
        raise NotFound(f"No dispensing with id {dispensing_id}.")
    if dispensing.status != "prepared":
        raise InvalidTransition(f"Cannot verify: this dispensing is already {dispensing.status}.")
    if dispensing.prepared_by == user.id:
        raise PermissionDenied(
            "The second verifier must be a different person from the "
            "pharmacist who prepared the dispensing."
        )
    visit = _visit(session, dispensing.visit_id)
    unit = _unit(session, dispensing.unit_id)
    checks = list(verification_checks(session, visit, unit, dispensing, now))
    failed = [c for c in checks if not c.passed]
    if failed:
        _refuse(session, who, dispensing.visit_id, failed, "second-verify")
    assert user.id is not None
    _store_checks(session, dispensing, checks, "verify", user.id, now)
    sig = signatures.sign(
        session,
        who,
        creds,
        meaning="second-verified",
        record_type="dispensing",
        record_id=dispensing_id,
        content=dispensing_content(session, dispensing),
    )
    with audit.reason(session, f"second verification (signature #{sig.id})"):
        dispensing.verified_by = user.id
        dispensing.verified_at = now
        dispensing.verified_signature_id = sig.id
        dispensing.status = "verified"
    assert unit.id is not None
    arm = allocation.arm_for(allocation.sequence_of(session, who, visit.subject_id), visit.period)
    return DispensingResult(
        dispensing_id, unit.id, unit.kit_code, arm, dispensing.dose_cells_per_kg, tuple(checks)
    )


def checks_of(session: Session, who: CurrentUser, dispensing_id: int) -> list[CheckOutcome]:
    """Every stored check outcome of a dispensing (pharmacy only)."""
    authorize(session, who, Action.DISPENSE)
    rows = session.exec(
        select(DispensingCheck)
        .where(DispensingCheck.dispensing_id == dispensing_id)
        .order_by(col(DispensingCheck.id))
    ).all()
    return [CheckOutcome(r.number, r.name, r.passed, r.detail) for r in rows]


def site_of(session: Session, subject_id: int) -> Site:
    """The subject's site."""
    subject = session.get(Subject, subject_id)
    assert subject is not None
    site = session.get(Site, subject.site_id)
    assert site is not None
    return site
