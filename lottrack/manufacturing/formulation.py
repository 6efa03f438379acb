"""Formulation of the final product into bags, thaw and chain of custody (design §2–§4).

Each MSC bag carries the harvest DIN, the site's MSC product code with its division
(``00`` for a single bag; ``A0``, ``B0``, … when the lot fills several), and a random
blinded kit code of the same form as a placebo bag's (both codes are drawn in
:mod:`lottrack.manufacturing.bag_codes`). Formulating a lot moves it to
awaiting release.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from sqlmodel import Session, col, select

from lottrack.facility.sites import (
    STORED_TEXT_LENGTH,
    check_moment,
    local_text,
    parse_at_site,
    site_row,
    validate_product_code,
)
from lottrack.facility.subjects import subject_row
from lottrack.kernel import calc
from lottrack.kernel.errors import InvalidTransition, NotFound, PermissionDenied, ValidationError
from lottrack.kernel.inputs import clean_text
from lottrack.kernel.units import Dim
from lottrack.manufacturing import lots, plausibility, thaws
from lottrack.manufacturing.bag_codes import (
    KitCodeGenerator,
    bag_name,
    checked_kit_code,
    new_division,
    new_kit_code,
)
from lottrack.manufacturing.counts import FINAL_PRODUCT, usable_count
from lottrack.manufacturing.harvests import harvest_row
from lottrack.manufacturing.lots import lot_site, lot_spec, passages_of
from lottrack.manufacturing.specifications import current_spec
from lottrack.records.permissions import MASKED, Action, CurrentUser, allowed, authorize
from lottrack.storage import audit
from lottrack.storage.models import CustodyEvent, Dispensing, ProductUnit, Site, utcnow

CRYOPRESERVED_SHELF_LIFE = dt.timedelta(days=5 * 365)
"""Shelf life of a cryopreserved bag. Specification v1 has no such item; five years (in
vapour-phase liquid nitrogen) is a documented placeholder until the specification carries
one. A thawed bag is usable for the specification's ``thaw_max_minutes`` after thawing,
which the dispensing checks apply."""
MAX_BAGS = 26
TEMPERATURE_RANGE_C = (-200.0, 60.0)
"""Plausible storage/transport temperatures (liquid-nitrogen vapour to a warm room)."""
MSC = "msc"
AVAILABLE = "available"


@dataclass(frozen=True)
class UnitInfo:
    """A bag as unblinded services hand it out (always with subject code and DIN)."""

    id: int
    kind: str
    kit_code: str
    din: str
    product_code: str
    """The full 8-character ISBT 128 product code, division included."""
    division: str
    subject_id: int
    subject_code: str
    lot_id: int | None
    volume_ml: float
    volume_text: str
    concentration_per_ml: float | None
    """Total (live + dead) cells per mL."""
    viability_pct: float | None
    viable_cells: float | None
    formulated_at: dt.datetime
    expires_at: dt.datetime
    storage: str
    cryopreserved: bool
    thawed_at: dt.datetime | None
    status: str


BLINDED_STATUSES = frozenset({AVAILABLE, "dispensed", "infused"})
"""Statuses a blinded reader sees as :data:`~lottrack.records.permissions.MASKED`: whether and when
a subject's MSC bag was dispensed would tell the arm of the visit it served."""


def _info(
    session: Session,
    unit: ProductUnit,
    who: CurrentUser | None = None,
    *,
    hide_thaw: bool = False,
) -> UnitInfo:
    """What ``who`` sees of ``unit``; ``hide_thaw``: its thaw is the pharmacy's, which a
    blinded reader does not see (:mod:`lottrack.manufacturing.thaws`)."""
    assert unit.id is not None
    blinded = who is not None and not who.unblinded
    return UnitInfo(
        unit.id,
        unit.kind,
        bag_name(unit, who) if who is not None else unit.kit_code,
        unit.din,
        unit.product_code,
        unit.division,
        unit.subject_id,
        subject_row(session, unit.subject_id).code,
        unit.lot_id,
        unit.volume_ml,
        unit.volume_text,
        unit.concentration_per_ml,
        unit.viability_pct,
        unit.viable_cells,
        unit.formulated_at,
        unit.expires_at,
        unit.storage,
        unit.cryopreserved,
        None if blinded and hide_thaw else unit.thawed_at,
        MASKED if blinded and unit.status in BLINDED_STATUSES else unit.status,
    )


@dataclass(frozen=True)
class FormulationResult:
    """The bags made and the lot's new status."""

    lot_id: int
    lot_status: str
    count_id: int
    units: tuple[UnitInfo, ...]


def _check_bags(bags: int) -> None:
    if isinstance(bags, bool) or not isinstance(bags, int) or not 1 <= bags <= MAX_BAGS:
        raise ValidationError(
            f"Bags: {bags!r} is not a number of bags; expected 1 to {MAX_BAGS}.", field="Bags"
        )


def formulate(
    session: Session,
    who: CurrentUser,
    *,
    lot_id: int,
    volume_text: str,
    storage: str,
    cryopreserve: bool = False,
    concentration_text: str | None = None,
    viability_text: str | None = None,
    bags: int = 1,
    formulated_at: dt.datetime | None = None,
    kit_code: KitCodeGenerator = new_kit_code,
    deviation_id: int | None = None,
) -> FormulationResult:
    """Fill the lot's final product into ``bags`` bags of ``volume_text`` each and move
    the lot to awaiting release.

    Refused unless the lot is in process, its last passage has been harvested and a usable
    final-product count exists (:func:`lottrack.manufacturing.counts.usable_count`). The
    total concentration and viability default to that count's; when typed, they are recorded
    as typed. Viable cells per bag = concentration × volume × viability. A fresh bag expires
    after the specification's shelf life; a cryopreserved one after
    :data:`CRYOPRESERVED_SHELF_LIFE`. The viable cells of all the bags cannot exceed the
    last passage's harvested viable cells beyond the counting error
    (:mod:`lottrack.manufacturing.plausibility`) unless ``deviation_id`` names an open
    deviation of the lot that explains it.
    """
    authorize(session, who, Action.RECORD_MANUFACTURING)
    lot = lots.get_lot(session, lot_id, for_update=True)
    lots.require_open_for_manufacturing(lot, "formulate")
    passages = passages_of(session, lot_id)
    last = passages[-1] if passages else None
    if last is None or last.harvested_at is None:
        what = (
            "no passage is recorded"
            if last is None
            else (f"its last passage P{last.number} has not been harvested")
        )
        raise InvalidTransition(f"Cannot formulate lot {lot.lot_number}: {what}.")
    count = usable_count(session, lot_id, FINAL_PRODUCT)
    site = lot_site(session, lot)
    if count.counted_at < last.harvested_at:
        raise InvalidTransition(
            f"Cannot formulate lot {lot.lot_number}: the last final-product count "
            f"({local_text(site, count.counted_at)}) predates the harvest of P{last.number} "
            f"({local_text(site, last.harvested_at)}); count the final product again."
        )
    when = check_moment(
        site,
        formulated_at or utcnow(),
        "Formulated at",
        not_before=last.harvested_at,
        not_before_what=f"P{last.number} was harvested",
    )
    volume = parse_at_site(site, volume_text, "Volume per bag", Dim.VOLUME)
    concentration = (
        count.total_per_ml
        if concentration_text is None
        else parse_at_site(site, concentration_text, "Total concentration", Dim.CONCENTRATION).value
    )
    viability = (
        count.viability_pct
        if viability_text is None
        else parse_at_site(site, viability_text, "Viability", Dim.FRACTION).value
    )
    viable = calc.viable_cells_in_bag(concentration, volume.value, viability)
    storage = clean_text(storage, "Storage", max_length=100)
    _check_bags(bags)
    excess = plausibility.check(
        session,
        lot,
        field="Viable cells formulated",
        value=viable * bags,
        available=plausibility.viable_harvested(last),
        source=f"viable cells harvested at P{last.number}",
        deviation_id=deviation_id,
        decimal_separator=site.decimal_separator,
    )
    base = validate_product_code(
        site.product_code_msc, "MSC product code of the site", autologous=True
    )[:6]
    spec = lot_spec(session, lot)
    shelf_life = (
        CRYOPRESERVED_SHELF_LIFE
        if cryopreserve
        else dt.timedelta(hours=spec.fresh_shelf_life_hours)
    )
    din = harvest_row(session, lot.harvest_id).din
    taken: set[str] = set()
    taken_divisions: set[str] = set()
    divisions = [new_division(session, din, taken_divisions) for _ in range(bags)]
    units = [
        ProductUnit(
            kind=MSC,
            subject_id=lot.subject_id,
            lot_id=lot_id,
            din=din,
            product_code=base + division,
            division=division,
            kit_code=checked_kit_code(session, kit_code, taken),
            volume_ml=volume.value,
            volume_text=volume.text,
            concentration_per_ml=concentration,
            viability_pct=viability,
            viable_cells=viable,
            formulated_at=when,
            expires_at=when + shelf_life,
            storage=storage,
            cryopreserved=bool(cryopreserve),
            created_by=who.id,
        )
        for division in divisions
    ]
    session.add_all(units)
    session.flush()
    for unit in units:
        plausibility.link(session, excess, "product_unit", unit.id or 0)
    with audit.reason(
        session, f"formulated into {len(units)} bag(s) from {FINAL_PRODUCT} count #{count.id}"
    ):
        lot.formulated_at = when
    lots.set_status(session, lot, lots.AWAITING_RELEASE, "formulated; awaiting QA release")
    return FormulationResult(lot_id, lot.status, count.id, tuple(_info(session, u) for u in units))


# ------------------------------------------------------------------ bags after


def _authorize_any(session: Session, who: CurrentUser, *actions: Action) -> None:
    """Pass when the person may take any of ``actions`` (the last refusal is raised)."""
    refusal: PermissionDenied | None = None
    for action in actions:
        try:
            authorize(session, who, action)
            return
        except PermissionDenied as exc:
            refusal = exc
    assert refusal is not None
    raise refusal


def _reachable_unit(
    session: Session, who: CurrentUser, unit_id: int | None, kit_code: str | None = None
) -> tuple[ProductUnit, dt.datetime | None]:
    """The bag (by id, or by kit code), as far as ``who`` may reach it, and, for the blinded
    ward, the moment it was dispensed (their view of the bag starts there).

    The unblinded pharmacy reaches every bag. The blinded ward reaches a dispensed bag by
    the kit code its visit shows (never by id: the order of bag ids would tell which bag was
    made first), from its dispensing on, the same for both arms; the lab reaches its own
    MSC bags. Any other bag is answered as if it did not exist, so that no refusal tells MSC
    from placebo (design §7).
    """
    if (unit_id is None) == (kit_code is None):
        raise ValidationError("Bag: give its id or its kit code, not both.", field="bag")
    stmt = (
        select(ProductUnit).where(ProductUnit.id == unit_id)
        if unit_id is not None
        else select(ProductUnit).where(ProductUnit.kit_code == str(kit_code).strip().upper())
    )
    unit = session.exec(stmt.with_for_update()).first()
    if unit is not None and who.unblinded:
        return unit, None
    if unit is not None:
        dispensed = session.exec(
            select(Dispensing.prepared_at).where(Dispensing.unit_id == unit.id)
        ).first()
        if (
            kit_code is not None
            and dispensed is not None
            and allowed(who.roles, Action.RECORD_INFUSION)
        ):
            return unit, dispensed
        if unit.lot_id is not None and allowed(who.roles, Action.RECORD_MANUFACTURING):
            return unit, None
    which = f"with id {unit_id}" if unit_id is not None else f'"{str(kit_code).strip()}"'
    raise NotFound(
        f"No bag {which} that you can reach (the ward gives the kit code of a dispensed visit)."
    )


def _unit_site(session: Session, unit: ProductUnit) -> Site:
    return site_row(session, subject_row(session, unit.subject_id).site_id)


def _describe(
    session: Session, unit: ProductUnit, who: CurrentUser, via_visit: bool = False
) -> str:
    """The bag in a message: by its kit code for the pharmacy and for the ward (which reached
    it through its dispensed visit), else by its division."""
    name = unit.kit_code if via_visit or who.unblinded else unit.division
    return f"bag {name} (subject {subject_row(session, unit.subject_id).code}, DIN {unit.din})"


def record_thaw(session: Session, who: CurrentUser, unit_id: int, thawed_at: dt.datetime) -> None:
    """Record the thaw of an available cryopreserved bag (once, before it expires). The
    dispensing checks then allow the specification's ``thaw_max_minutes``."""
    _authorize_any(session, who, Action.RECORD_MANUFACTURING, Action.DISPENSE)
    unit, dispensed_at = _reachable_unit(session, who, unit_id)
    name = _describe(session, unit, who, dispensed_at is not None)
    if not who.unblinded and unit.lot_id is not None:
        # Before any word that depends on what the pharmacy did with the bag.
        thaws.require_lab_may_thaw(session, lots.get_lot(session, unit.lot_id), name)
    if not unit.cryopreserved:
        raise InvalidTransition(f"Cannot thaw {name}: it is a fresh product.")
    if unit.thawed_at is not None:
        raise InvalidTransition(f"Cannot thaw {name}: it was already thawed.")
    if unit.status != AVAILABLE:
        raise InvalidTransition(f"Cannot thaw {name}: it is {unit.status}.")
    site = _unit_site(session, unit)
    when = check_moment(
        site,
        thawed_at,
        "Thawed at",
        not_before=unit.formulated_at,
        not_before_what="it was formulated",
    )
    if when > unit.expires_at:
        raise InvalidTransition(f"Cannot thaw {name}: it expired before the thaw.")
    spec = (
        lot_spec(session, lots.get_lot(session, unit.lot_id))
        if unit.lot_id
        else (current_spec(session))
    )
    with audit.reason(
        session, f"thawed; usable for {spec.thaw_max_minutes:g} min (specification v{spec.version})"
    ):
        unit.thawed_at = when


_TEMPERATURE = re.compile(r"(?P<number>[+-]?[0-9]+(?:[.,][0-9]+)?)\s*(?:°\s*C|℃|C|degC)")


def _temperature(site: Site, text: str) -> tuple[float, str]:
    """Degrees Celsius as typed (no unit conversion, so no offset arithmetic)."""
    raw = clean_text(text, "Temperature", max_length=STORED_TEXT_LENGTH)
    normal = raw.replace("\u2212", "-")
    match = _TEMPERATURE.fullmatch(normal)
    other = "," if site.decimal_separator == "." else "."
    low, high = TEMPERATURE_RANGE_C
    expected = f"degrees Celsius such as -150 °C or 4{site.decimal_separator}5 °C"
    if match is None or other in match["number"]:
        raise ValidationError(
            f'Temperature: "{raw}" is not a temperature in °C; expected {expected}.',
            field="Temperature",
        )
    value = float(match["number"].replace(",", "."))
    if not low <= value <= high:
        raise ValidationError(
            f'Temperature: "{raw}" is outside {low:g} to {high:g} °C; expected {expected}.',
            field="Temperature",
        )
    return value, raw


def record_custody(
    session: Session,
    who: CurrentUser,
    *,
    unit_id: int | None = None,
    kit_code: str | None = None,
    from_location: str,
    to_location: str,
    at: dt.datetime,
    temperature_text: str | None = None,
) -> int:
    """Record a move of a bag, given by its id (lab, pharmacy) or its kit code (the ward).
    A move starts where the previous one ended, and not before it; returns the custody
    event id. From its lot's first release on, the lab records no move of a bag: the
    pharmacy does (:func:`lottrack.manufacturing.thaws.require_lab_may_move`)."""
    _authorize_any(
        session, who, Action.RECORD_MANUFACTURING, Action.DISPENSE, Action.RECORD_INFUSION
    )
    unit, dispensed_at = _reachable_unit(session, who, unit_id, kit_code)
    lab = not who.unblinded and dispensed_at is None
    if lab and unit.lot_id is not None:
        # Before any word that depends on where the pharmacy or the ward took the bag.
        thaws.require_lab_may_move(
            session, lots.get_lot(session, unit.lot_id), _describe(session, unit, who)
        )
    site = _unit_site(session, unit)
    origin = clean_text(from_location, "From", max_length=100)
    destination = clean_text(to_location, "To", max_length=100)
    if origin.casefold() == destination.casefold():
        raise ValidationError(f'To: "{destination}" is where the bag already is.', field="To")
    moves = select(CustodyEvent).where(CustodyEvent.unit_id == unit.id)
    if dispensed_at is not None:  # the blinded ward sees the bag's moves from dispensing on
        moves = moves.where(col(CustodyEvent.at) >= dispensed_at)
    elif lab:  # the lab continues the moves it sees: not the pharmacy's
        moves = moves.where(col(CustodyEvent.by_id).not_in(thaws.unblinded_people(session)))
    previous = session.exec(
        moves.order_by(col(CustodyEvent.at).desc(), col(CustodyEvent.id).desc())
    ).first()
    if previous is not None and previous.to_location.casefold() != origin.casefold():
        bag = _describe(session, unit, who, dispensed_at is not None)
        raise InvalidTransition(
            f'Cannot move {bag} from "{origin}": it was last recorded at "{previous.to_location}".'
        )
    floor, what = (
        (previous.at, "the previous move of this bag")
        if previous is not None
        else (dispensed_at, "the bag was dispensed")
        if dispensed_at is not None
        else (unit.formulated_at, "the bag was formulated")
    )
    when = check_moment(site, at, "At", not_before=floor, not_before_what=what)
    temperature = (
        _temperature(site, temperature_text)
        if temperature_text is not None and temperature_text.strip()
        else None
    )
    event = CustodyEvent(
        unit_id=unit.id or 0,
        from_location=origin,
        to_location=destination,
        at=when,
        temperature_c=temperature[0] if temperature else None,
        temperature_text=temperature[1] if temperature else "",
        by_id=who.id,
    )
    session.add(event)
    session.flush()
    assert event.id is not None
    return event.id


def bags_of_lot(session: Session, who: CurrentUser, lot_id: int) -> list[UnitInfo]:
    """The MSC bags of a lot, by division. Blinded readers (the lab, QA) see each bag by its
    division and its status masked (:func:`bag_name`, :data:`BLINDED_STATUSES`), and its
    thaw only when the lab recorded it (:mod:`lottrack.manufacturing.thaws`)."""
    authorize(session, who, Action.VIEW_BATCH_RECORD)
    lots.get_lot(session, lot_id)
    units = session.exec(
        select(ProductUnit)
        .where(ProductUnit.lot_id == lot_id)
        .order_by(col(ProductUnit.division), col(ProductUnit.id))
    ).all()
    hidden = set() if who.unblinded else thaws.pharmacy_thaws(session, units)
    return [_info(session, u, who, hide_thaw=u.id in hidden) for u in units]
