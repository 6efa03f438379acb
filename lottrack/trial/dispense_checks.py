"""The §8 checks of a dispensing (design §5, §8), run without writing anything.

Checks 1–6 (chain of identity, lot released, not expired, current weight, dose within the
window, arm matches the allocation) for a bag at a visit: the pharmacy's preview and the
dispensing itself run the same functions, and the second verifier repeats 1–3. Each
outcome carries its number, its name and the numbers behind it, in the site's time zone.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from lottrack.kernel import calc
from lottrack.kernel.units import Dim, format_quantity
from lottrack.storage import settings
from lottrack.storage.models import (
    Dispensing,
    Lot,
    ProductUnit,
    ReagentLot,
    Site,
    Specification,
    Subject,
    Visit,
)
from lottrack.trial import allocation, release_gate, visits


@dataclass(frozen=True)
class CheckOutcome:
    """One §8 check: its number, name, result and the numbers behind it."""

    number: int
    name: str
    passed: bool
    detail: str


def _fmt_in(at: dt.datetime, zone: str) -> str:
    """``2025-03-14 10:30 CET``: a moment in the site's zone, as the rest of the pharmacy
    screen shows times."""
    return at.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M %Z")


def _site_timezone(session: Session, subject_id: int) -> str:
    """The time zone of the site a subject is treated at."""
    zone = session.exec(
        select(Site.timezone)
        .join(Subject, col(Subject.site_id) == col(Site.id))
        .where(Subject.id == subject_id)
    ).first()
    return zone or "UTC"


def _check_identity(session: Session, visit: Visit, unit: ProductUnit) -> CheckOutcome:
    expected = session.get(Subject, visit.subject_id)
    actual = session.get(Subject, unit.subject_id)
    assert expected is not None and actual is not None
    ok = (
        unit.subject_id == visit.subject_id
        and expected.code == actual.code
        and expected.date_of_birth == actual.date_of_birth
    )
    detail = (
        f"bag {unit.kit_code} belongs to {actual.code} (born {actual.date_of_birth}); "
        f"visit is for {expected.code} (born {expected.date_of_birth})"
    )
    return CheckOutcome(1, "chain of identity", ok, detail)


def _check_release(session: Session, unit: ProductUnit) -> CheckOutcome:
    """Check 2, one rule for both arms: the subject's MSC lot is released with a valid
    signature (release_gate); a placebo bag's suspension media must be released too."""
    problem = release_gate.unit_release_problem(session, unit)
    lot = release_gate.lot_for(session, unit)
    details = (
        [problem]
        if problem
        else [f"lot {lot.lot_number} is {lot.status} (signature valid)" if lot else ""]
    )
    if unit.lot_id is None:
        reagent = session.get(ReagentLot, unit.reagent_lot_id)
        name = f"{reagent.name} lot {reagent.lot_number}" if reagent else "unknown reagent lot"
        if reagent is None or reagent.status != "released":
            problem = problem or "suspension media not released"
        details.append(f"{name} is {reagent.status if reagent else 'missing'}")
    return CheckOutcome(2, "lot released", problem is None, "; ".join(details))


def spec_for(session: Session, unit: ProductUnit) -> Specification:
    """The specification a bag was made under (a placebo: the one in force)."""
    if unit.lot_id is not None:
        lot = session.get(Lot, unit.lot_id)
        assert lot is not None
        spec = session.get(Specification, lot.spec_id)
    else:
        spec = session.exec(
            select(Specification).order_by(col(Specification.version).desc())
        ).first()
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
        minutes = spec_for(session, unit).thaw_max_minutes
        limits.append(unit.thawed_at + dt.timedelta(minutes=minutes))
    return min(limits)


def expiry_outcome(
    *,
    expires_at: dt.datetime,
    cryopreserved: bool,
    thawed_at: dt.datetime | None,
    thaw_max_minutes: float,
    now: dt.datetime,
    use_by: dt.datetime,
    zone: str = "UTC",
) -> CheckOutcome:
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
        return fail(
            "the cryopreserved bag has not been thawed; thaw it in the pharmacy "
            "first (every bag leaves the pharmacy ready to infuse)"
        )
    if thawed_at is not None:
        minutes = (now - thawed_at) / dt.timedelta(minutes=1)
        if minutes > thaw_max_minutes:
            return fail(f"thawed {minutes:.0f} min ago; the limit is {thaw_max_minutes:g} min")
        usable = thawed_at + dt.timedelta(minutes=thaw_max_minutes)
        if usable < use_by:
            return fail(
                f"thawed {minutes:.0f} min ago; usable until {_fmt(usable)} (limit "
                f"{thaw_max_minutes:g} min), before the use-by {_fmt(use_by)}"
            )
        detail = (
            f"thawed {minutes:.0f} min ago (limit {thaw_max_minutes:g} min); usable "
            f"until {_fmt(usable)}"
        )
    elif expires_at < use_by:
        return fail(f"bag expires at {_fmt(expires_at)}, before the use-by {_fmt(use_by)}")
    return CheckOutcome(3, "not expired", True, f"{detail}; use by {_fmt(use_by)}")


def _check_expiry(
    session: Session, unit: ProductUnit, now: dt.datetime, until: dt.datetime
) -> CheckOutcome:
    return expiry_outcome(
        expires_at=unit.expires_at,
        cryopreserved=unit.cryopreserved,
        thawed_at=unit.thawed_at,
        thaw_max_minutes=spec_for(session, unit).thaw_max_minutes,
        now=now,
        use_by=until,
        zone=_site_timezone(session, unit.subject_id),
    )


def _check_weight(
    session: Session, visit: Visit, now: dt.datetime
) -> tuple[CheckOutcome, float | None, int | None]:
    weight = visits.current_weight(session, visit.subject_id, now)
    max_age = settings.get_float(session, "weight_max_age_days")
    if weight is None:
        return CheckOutcome(4, "current weight", False, "no weight recorded"), None, None
    age = calc.weight_age(weight.measured_at, now, max_age_days=max_age)
    plaus = calc.check_weight(weight.weight_kg)
    detail = (
        f"{format_quantity(weight.weight_kg, Dim.MASS)} measured "
        f"{_fmt_in(weight.measured_at, _site_timezone(session, visit.subject_id))}, "
        f"{age.age_days:.1f} days ago "
        f"(limit {max_age:g} days)"
    )
    if plaus.warning:
        detail += f"; warning: {plaus.warning}"
    return CheckOutcome(4, "current weight", age.fresh, detail), weight.weight_kg, weight.id


def _check_dose(
    session: Session, unit: ProductUnit, weight_kg: float | None
) -> tuple[CheckOutcome, float | None]:
    if unit.kind != allocation.MSC:
        return CheckOutcome(5, "dose within window", True, "not applicable (placebo)"), None
    window = calc.DoseWindow(
        settings.get_float(session, "dose_min_cells_per_kg"),
        settings.get_float(session, "dose_max_cells_per_kg"),
    )
    if weight_kg is None or unit.viable_cells is None:
        return CheckOutcome(
            5,
            "dose within window",
            False,
            "no current weight" if weight_kg is None else "the bag has no viable-cell count",
        ), None
    result = calc.check_dose(weight_kg=weight_kg, viable_cells=unit.viable_cells, window=window)
    detail = dose_detail(unit.viable_cells, weight_kg, result)
    return CheckOutcome(5, "dose within window", result.within, detail), result.dose_cells_per_kg


def dose_detail(viable_cells: float, weight_kg: float, result: calc.DoseResult) -> str:
    """Check 5 in one sentence: ``1.28 × 10⁸ cells ÷ 71 kg = 1.80 × 10⁶ cells/kg — inside
    the window 1.00–2.00 × 10⁶ cells/kg`` (the bulk demo writes the same words)."""
    return (
        f"{format_quantity(viable_cells, Dim.CELLS)} ÷ "
        f"{format_quantity(weight_kg, Dim.MASS)} = {calc.describe_dose(result, label='')}"
    )


def _check_arm(unit: ProductUnit, arm: str, period: int) -> CheckOutcome:
    return CheckOutcome(
        6,
        "arm matches allocation",
        unit.kind == arm,
        f"period {period} is {allocation.arm_name(arm)}; "
        f"the bag is {allocation.arm_name(unit.kind)}",
    )


@dataclass(frozen=True)
class CheckRun:
    """Checks 1–6 for a bag at a visit, and what the dispensing record needs from them."""

    checks: tuple[CheckOutcome, ...]
    weight_kg: float | None
    weight_id: int | None
    dose_cells_per_kg: float | None


def run_checks(
    session: Session, visit: Visit, unit: ProductUnit, arm: str, now: dt.datetime
) -> CheckRun:
    """Checks 1–6 of §8 for a dispensing at ``now``, writing nothing (the pharmacy screen
    previews them with this)."""
    weight_check, weight_kg, weight_id = _check_weight(session, visit, now)
    dose_check, dose = _check_dose(session, unit, weight_kg)
    checks = (
        _check_identity(session, visit, unit),
        _check_release(session, unit),
        _check_expiry(session, unit, now, use_by(session, now)),
        weight_check,
        dose_check,
        _check_arm(unit, arm, visit.period),
    )
    return CheckRun(checks, weight_kg, weight_id, dose)


def verification_checks(
    session: Session, visit: Visit, unit: ProductUnit, dispensing: Dispensing, now: dt.datetime
) -> tuple[CheckOutcome, ...]:
    """Checks 1–3, as the second verifier repeats them (writing nothing); the bag must
    still be usable until the dispensing's use-by."""
    return (
        _check_identity(session, visit, unit),
        _check_release(session, unit),
        _check_expiry(session, unit, now, blinded_use_by(dispensing, unit)),
    )
