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
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from lottrack import audit, calc, settings, signatures
from lottrack.audit import row_content
from lottrack.errors import InvalidTransition, NotFound, PermissionDenied, ValidationError
from lottrack.formulation import new_division, new_kit_code
from lottrack.models import (
    Dispensing,
    DispensingCheck,
    Lot,
    ProductUnit,
    ReagentLot,
    Site,
    Specification,
    Subject,
    Visit,
    utcnow,
)
from lottrack.permissions import Action, CurrentUser, authorize
from lottrack.signatures import Credentials
from lottrack.trial import allocation, release_gate, visits
from lottrack.units import Dim, format_quantity

SUSPENSION_MEDIA = "suspension-media"


@dataclass(frozen=True)
class CheckOutcome:
    """One §8 check: its number, name, result and the numbers behind it."""

    number: int
    name: str
    passed: bool
    detail: str


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


def _fmt_in(at: dt.datetime, zone: str) -> str:
    """``2025-03-14 10:30 CET``: a moment in the site's zone, as the rest of the pharmacy
    screen shows times."""
    return at.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M %Z")


def _site_timezone(session: Session, subject_id: int) -> str:
    """The time zone of the site a subject is treated at."""
    zone = session.exec(select(Site.timezone).join(Subject, col(Subject.site_id) == col(Site.id))
                        .where(Subject.id == subject_id)).first()
    return zone or "UTC"


def visit_arm(session: Session, who: CurrentUser, visit_id: int) -> str:
    """The arm of a visit — for the unblinded pharmacy only."""
    authorize(session, who, Action.VIEW_ALLOCATION)
    visit = _visit(session, visit_id)
    return allocation.arm_for(allocation.sequence_of(session, who, visit.subject_id),
                              visit.period)


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


# --------------------------------------------------------------------------- checks


def _check_identity(session: Session, visit: Visit, unit: ProductUnit) -> CheckOutcome:
    expected = session.get(Subject, visit.subject_id)
    actual = session.get(Subject, unit.subject_id)
    assert expected is not None and actual is not None
    ok = (unit.subject_id == visit.subject_id and expected.code == actual.code
          and expected.date_of_birth == actual.date_of_birth)
    detail = (f"bag {unit.kit_code} belongs to {actual.code} (born {actual.date_of_birth}); "
              f"visit is for {expected.code} (born {expected.date_of_birth})")
    return CheckOutcome(1, "chain of identity", ok, detail)


def _check_release(session: Session, unit: ProductUnit) -> CheckOutcome:
    """Check 2, one rule for both arms: the subject's MSC lot is released with a valid
    signature (release_gate); a placebo bag's suspension media must be released too."""
    problem = release_gate.unit_release_problem(session, unit)
    lot = release_gate.lot_for(session, unit)
    details = [problem] if problem else [f"lot {lot.lot_number} is {lot.status} (signature valid)"
                                         if lot else ""]
    if unit.lot_id is None:
        reagent = session.get(ReagentLot, unit.reagent_lot_id)
        name = (f"{reagent.name} lot {reagent.lot_number}" if reagent
                else "unknown reagent lot")
        if reagent is None or reagent.status != "released":
            problem = problem or "suspension media not released"
        details.append(f"{name} is {reagent.status if reagent else 'missing'}")
    return CheckOutcome(2, "lot released", problem is None, "; ".join(details))


def _spec_for(session: Session, unit: ProductUnit) -> Specification:
    if unit.lot_id is not None:
        lot = session.get(Lot, unit.lot_id)
        assert lot is not None
        spec = session.get(Specification, lot.spec_id)
    else:
        spec = session.exec(select(Specification)
                            .order_by(col(Specification.version).desc())).first()
    assert spec is not None
    return spec


def use_by(session: Session, prepared_at: dt.datetime) -> dt.datetime:
    """The blinded use-by of a bag dispensed at ``prepared_at``: the same window after
    dispensing for both arms (setting ``administration_window_minutes``), so that nothing
    the ward sees about a bag's time depends on what is in it (§7)."""
    minutes = settings.get_float(session, "administration_window_minutes")
    return prepared_at + dt.timedelta(minutes=minutes)


def blinded_use_by(dispensing: Dispensing, unit: ProductUnit) -> dt.datetime:
    """The time blinded staff see as a dispensed bag's expiry (ward screens, label,
    infusion certificate, export): its use-by (the bag's own expiry only for a dispensing
    made before schema 0003, which has none)."""
    return dispensing.use_by or unit.expires_at


def usable_until(session: Session, dispensing: Dispensing, unit: ProductUnit) -> dt.datetime:
    """The last moment a dispensed bag may be started: its use-by, its own expiry and, once
    thawed, thaw + ``thaw_max_minutes``, whichever comes first. The ward is refused past it
    in the same words for both arms (only the pharmacy sees which limit it was)."""
    limits = [blinded_use_by(dispensing, unit), unit.expires_at]
    if unit.thawed_at is not None:
        minutes = _spec_for(session, unit).thaw_max_minutes
        limits.append(unit.thawed_at + dt.timedelta(minutes=minutes))
    return min(limits)


def expiry_outcome(*, expires_at: dt.datetime, cryopreserved: bool,
                   thawed_at: dt.datetime | None, thaw_max_minutes: float, now: dt.datetime,
                   use_by: dt.datetime, zone: str = "UTC") -> CheckOutcome:
    """Check 3: the bag is usable now and stays usable until the dispensing's use-by (its
    own expiry and, for a cryopreserved bag, thaw + the thaw limit). A cryopreserved bag
    must be thawed in the pharmacy first: every bag reaches the ward ready to infuse.
    Times are written in ``zone``, the site's."""
    def fail(detail: str) -> CheckOutcome:
        return CheckOutcome(3, "not expired", False, detail)

    def _fmt(at: dt.datetime) -> str:
        return _fmt_in(at, zone)

    if now > expires_at:
        return fail(f"bag expired at {_fmt(expires_at)}")
    if now > use_by:
        return fail(f"the use-by time of this dispensing, {_fmt(use_by)}, has passed")
    detail = f"expires {_fmt(expires_at)}"
    if cryopreserved and thawed_at is None:
        return fail("the cryopreserved bag has not been thawed; thaw it in the pharmacy "
                    "first (every bag leaves the pharmacy ready to infuse)")
    if thawed_at is not None:
        minutes = (now - thawed_at) / dt.timedelta(minutes=1)
        if minutes > thaw_max_minutes:
            return fail(f"thawed {minutes:.0f} min ago; the limit is {thaw_max_minutes:g} min")
        usable = thawed_at + dt.timedelta(minutes=thaw_max_minutes)
        if usable < use_by:
            return fail(f"thawed {minutes:.0f} min ago; usable until {_fmt(usable)} (limit "
                        f"{thaw_max_minutes:g} min), before the use-by {_fmt(use_by)}")
        detail = (f"thawed {minutes:.0f} min ago (limit {thaw_max_minutes:g} min); usable "
                  f"until {_fmt(usable)}")
    elif expires_at < use_by:
        return fail(f"bag expires at {_fmt(expires_at)}, before the use-by {_fmt(use_by)}")
    return CheckOutcome(3, "not expired", True, f"{detail}; use by {_fmt(use_by)}")


def _check_expiry(session: Session, unit: ProductUnit, now: dt.datetime,
                  until: dt.datetime) -> CheckOutcome:
    return expiry_outcome(expires_at=unit.expires_at, cryopreserved=unit.cryopreserved,
                          thawed_at=unit.thawed_at,
                          thaw_max_minutes=_spec_for(session, unit).thaw_max_minutes,
                          now=now, use_by=until,
                          zone=_site_timezone(session, unit.subject_id))


def _check_weight(session: Session, visit: Visit, now: dt.datetime
                  ) -> tuple[CheckOutcome, float | None, int | None]:
    weight = visits.current_weight(session, visit.subject_id, now)
    max_age = settings.get_float(session, "weight_max_age_days")
    if weight is None:
        return CheckOutcome(4, "current weight", False, "no weight recorded"), None, None
    age = calc.weight_age(weight.measured_at, now, max_age_days=max_age)
    plaus = calc.check_weight(weight.weight_kg)
    detail = (f"{format_quantity(weight.weight_kg, Dim.MASS)} measured "
              f"{_fmt_in(weight.measured_at, _site_timezone(session, visit.subject_id))}, "
              f"{age.age_days:.1f} days ago "
              f"(limit {max_age:g} days)")
    if plaus.warning:
        detail += f"; warning: {plaus.warning}"
    return CheckOutcome(4, "current weight", age.fresh, detail), weight.weight_kg, weight.id


def _check_dose(session: Session, unit: ProductUnit, weight_kg: float | None
                ) -> tuple[CheckOutcome, float | None]:
    if unit.kind != allocation.MSC:
        return CheckOutcome(5, "dose within window", True, "not applicable (placebo)"), None
    window = calc.DoseWindow(settings.get_float(session, "dose_min_cells_per_kg"),
                             settings.get_float(session, "dose_max_cells_per_kg"))
    if weight_kg is None or unit.viable_cells is None:
        return CheckOutcome(5, "dose within window", False,
                            "no current weight" if weight_kg is None else
                            "the bag has no viable-cell count"), None
    result = calc.check_dose(weight_kg=weight_kg, viable_cells=unit.viable_cells, window=window)
    detail = (f"{format_quantity(unit.viable_cells, Dim.CELLS)} ÷ "
              f"{format_quantity(weight_kg, Dim.MASS)} = {calc.describe_dose(result)}")
    return CheckOutcome(5, "dose within window", result.within, detail), \
        result.dose_cells_per_kg


def _check_arm(unit: ProductUnit, arm: str, period: int) -> CheckOutcome:
    return CheckOutcome(6, "arm matches allocation", unit.kind == arm,
                        f"period {period} is {arm}; the bag is {unit.kind}")


@dataclass(frozen=True)
class CheckRun:
    """Checks 1–6 for a bag at a visit, and what the dispensing record needs from them."""

    checks: tuple[CheckOutcome, ...]
    weight_kg: float | None
    weight_id: int | None
    dose_cells_per_kg: float | None


def run_checks(session: Session, visit: Visit, unit: ProductUnit, arm: str,
               now: dt.datetime) -> CheckRun:
    """Checks 1–6 of §8 for a dispensing at ``now``, writing nothing (the pharmacy screen
    previews them with this)."""
    weight_check, weight_kg, weight_id = _check_weight(session, visit, now)
    dose_check, dose = _check_dose(session, unit, weight_kg)
    checks = (_check_identity(session, visit, unit), _check_release(session, unit),
              _check_expiry(session, unit, now, use_by(session, now)), weight_check, dose_check,
              _check_arm(unit, arm, visit.period))
    return CheckRun(checks, weight_kg, weight_id, dose)


def verification_checks(session: Session, visit: Visit, unit: ProductUnit,
                        dispensing: Dispensing, now: dt.datetime) -> tuple[CheckOutcome, ...]:
    """Checks 1–3, as the second verifier repeats them (writing nothing); the bag must
    still be usable until the dispensing's use-by."""
    return (_check_identity(session, visit, unit), _check_release(session, unit),
            _check_expiry(session, unit, now, blinded_use_by(dispensing, unit)))


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
            f"can be dispensed from {first} to {last} (± {days} days), and today is {today}.")


def _refuse(session: Session, who: CurrentUser, visit_id: int, failed: list[CheckOutcome],
            doing: str) -> None:
    """Discard the attempt, audit which checks failed, commit that, and refuse."""
    summary = "; ".join(f"check {c.number} ({c.name}) failed: {c.detail}" for c in failed)
    session.rollback()
    audit.set_actor(session, who.id, who.username)
    audit.log_event(session, f"{doing}-refused", "visit", visit_id, reason=summary)
    session.commit()
    raise InvalidTransition(f"Cannot {doing.replace('-', ' ')}: {summary}.")


# ---------------------------------------------------------------------- placebo bag


def placebo_bag(session: Session, visit: Visit, prep: PlaceboPreparation, now: dt.datetime,
                *, created_by: int = 0, division: str = "--", kit_code: str = "(new)"
                ) -> ProductUnit:
    """The placebo bag for ``visit`` (not added to the session): suspension media of a
    released, unexpired lot, the volume of the subject's MSC bag, the same DIN and
    product-code form."""
    reagent = session.get(ReagentLot, prep.reagent_lot_id)
    if reagent is None or reagent.kind != SUSPENSION_MEDIA:
        raise ValidationError("Placebo: choose a released suspension-media reagent lot.",
                              field="reagent_lot")
    if reagent.expiry < now.date():
        raise ValidationError(f"Placebo: suspension media lot {reagent.lot_number} expired on "
                              f"{reagent.expiry}.", field="reagent_lot")
    msc = session.exec(select(ProductUnit).where(
        ProductUnit.subject_id == visit.subject_id, ProductUnit.kind == allocation.MSC,
    ).order_by(col(ProductUnit.id).desc())).first()
    if msc is None:
        raise InvalidTransition("Cannot prepare the placebo: its volume must match the "
                                "subject's MSC bag, and none has been formulated yet.")
    spec = _spec_for(session, msc)
    return ProductUnit(
        kind=allocation.PLACEBO, subject_id=visit.subject_id, reagent_lot_id=reagent.id,
        din=msc.din, product_code=msc.product_code[:6] + division, division=division,
        kit_code=kit_code, volume_ml=msc.volume_ml, volume_text=msc.volume_text,
        formulated_at=now, expires_at=now + dt.timedelta(hours=spec.fresh_shelf_life_hours),
        storage=msc.storage, status="available", created_by=created_by,
    )


def _placebo_unit(session: Session, who: CurrentUser, visit: Visit,
                  prep: PlaceboPreparation, now: dt.datetime,
                  kit_code: Callable[[Session], str]) -> ProductUnit:
    probe = placebo_bag(session, visit, prep, now)  # validates before a DIN division is used
    division = new_division(session, probe.din)
    unit = placebo_bag(session, visit, prep, now, created_by=who.id, division=division,
                       kit_code=kit_code(session))
    session.add(unit)
    session.flush()
    return unit


# ------------------------------------------------------------------------ services


def open_visit(session: Session, who: CurrentUser, visit_id: int, *,
               unit_id: int | None, placebo: PlaceboPreparation | None,
               window_at: dt.datetime | None = None,
               for_update: bool = False) -> tuple[Visit, str]:
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
    arm = allocation.arm_for(allocation.sequence_of(session, who, visit.subject_id),
                             visit.period)
    if (unit_id is None) == (placebo is None):
        raise ValidationError("Dispensing: choose an MSC bag or prepare a placebo, not both.",
                              field="bag")
    return visit, arm


def available_unit(session: Session, unit_id: int, *, for_update: bool = False
                   ) -> ProductUnit:
    """The bag, refused unless it is still available (a bag is dispensed at most once)."""
    unit = _unit(session, unit_id, for_update=for_update)
    if unit.status != "available":
        raise InvalidTransition(f"Cannot dispense bag {unit.kit_code}: it is {unit.status} "
                                "(a bag is dispensed at most once).")
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
    visit, arm = open_visit(session, who, visit_id, unit_id=unit_id, placebo=placebo,
                            window_at=now, for_update=True)
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
        visit_id=visit_id, unit_id=unit.id, weight_id=weight_id, weight_kg=weight_kg,
        dose_cells_per_kg=dose, status="prepared", prepared_by=user.id, prepared_at=now,
        use_by=use_by(session, now),
    )
    session.add(dispensing)
    session.flush()
    _store_checks(session, dispensing, checks, "prepare", user.id, now)
    sig = signatures.sign(session, who, creds, meaning="dose-verified",
                          record_type="dispensing", record_id=dispensing.id or 0,
                          content=dispensing_content(session, dispensing))
    with audit.reason(session, f"dispensed for visit {visit_id} (signature #{sig.id})"):
        dispensing.prepared_signature_id = sig.id
        unit.status = "dispensed"
        visit.status = "dispensed"
    assert dispensing.id is not None and unit.id is not None
    return DispensingResult(dispensing.id, unit.id, unit.kit_code, arm, dose, tuple(checks))


def _store_checks(session: Session, dispensing: Dispensing, checks: list[CheckOutcome],
                  stage: str, user_id: int, now: dt.datetime) -> None:
    assert dispensing.id is not None
    for c in checks:
        session.add(DispensingCheck(dispensing_id=dispensing.id, stage=stage, number=c.number,
                                    name=c.name, passed=c.passed, detail=c.detail[:1000],
                                    checked_at=now, checked_by=user_id))
    session.flush()


def dispensing_content(session: Session, dispensing: Dispensing) -> dict[str, object]:
    """What the dispensing signatures cover: the record, its bag and its checks."""
    table = Dispensing.__table__  # type: ignore[attr-defined]
    body = row_content(table, {c.name: getattr(dispensing, c.name) for c in table.columns})
    for key in ("status", "prepared_signature_id", "verified_signature_id", "verified_by",
                "verified_at"):
        body.pop(key, None)
    if body.get("use_by") is None:  # made before schema 0003: signed without it
        body.pop("use_by", None)
    checks = session.exec(select(DispensingCheck).where(
        DispensingCheck.dispensing_id == dispensing.id, DispensingCheck.stage == "prepare"
    ).order_by(col(DispensingCheck.number))).all()
    body["checks"] = [(c.number, c.passed, c.detail) for c in checks]
    return body


def second_verify(session: Session, who: CurrentUser, creds: Credentials,
                  dispensing_id: int) -> DispensingResult:
    """A different pharmacist repeats checks 1–3 independently and signs."""
    user = authorize(session, who, Action.DISPENSE)
    now = utcnow()
    stmt = select(Dispensing).where(Dispensing.id == dispensing_id).with_for_update()
    dispensing = session.exec(stmt).first()
    if dispensing is None:
        raise NotFound(f"No dispensing with id {dispensing_id}.")
    if dispensing.status != "prepared":
        raise InvalidTransition(f"Cannot verify: this dispensing is already "
                                f"{dispensing.status}.")
    if dispensing.prepared_by == user.id:
        raise PermissionDenied("The second verifier must be a different person from the "
                               "pharmacist who prepared the dispensing.")
    visit = _visit(session, dispensing.visit_id)
    unit = _unit(session, dispensing.unit_id)
    checks = list(verification_checks(session, visit, unit, dispensing, now))
    failed = [c for c in checks if not c.passed]
    if failed:
        _refuse(session, who, dispensing.visit_id, failed, "second-verify")
    assert user.id is not None
    _store_checks(session, dispensing, checks, "verify", user.id, now)
    sig = signatures.sign(session, who, creds, meaning="second-verified",
                          record_type="dispensing", record_id=dispensing_id,
                          content=dispensing_content(session, dispensing))
    with audit.reason(session, f"second verification (signature #{sig.id})"):
        dispensing.verified_by = user.id
        dispensing.verified_at = now
        dispensing.verified_signature_id = sig.id
        dispensing.status = "verified"
    assert unit.id is not None
    arm = allocation.arm_for(allocation.sequence_of(session, who, visit.subject_id),
                             visit.period)
    return DispensingResult(dispensing_id, unit.id, unit.kit_code, arm,
                            dispensing.dose_cells_per_kg, tuple(checks))


def checks_of(session: Session, who: CurrentUser, dispensing_id: int) -> list[CheckOutcome]:
    """Every stored check outcome of a dispensing (pharmacy only)."""
    authorize(session, who, Action.DISPENSE)
    rows = session.exec(select(DispensingCheck).where(
        DispensingCheck.dispensing_id == dispensing_id
    ).order_by(col(DispensingCheck.id))).all()
    return [CheckOutcome(r.number, r.name, r.passed, r.detail) for r in rows]


def site_of(session: Session, subject_id: int) -> Site:
    """The subject's site."""
    subject = session.get(Subject, subject_id)
    assert subject is not None
    site = session.get(Site, subject.site_id)
    assert site is not None
    return site
