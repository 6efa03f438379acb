"""Cell counts (design §2, §10): replicate sets on a passage harvest, the final product or
a thawed bag.

A set with fewer replicates than the specification asks for is refused. A set whose
replicate CV exceeds the specification's limit is kept (it happened, and the audit trail
must show it) but flagged ``recount_required``; :func:`usable_count` then refuses to hand
it to formulation or release until a conforming recount is recorded after it.

Automated counters report the total (live + dead) concentration and the viability; the
viable concentration is their product. A hemocytometer replicate is live and dead cells
over n large squares at a dilution (:func:`lottrack.kernel.calc.count_replicate`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlmodel import Session, col, select

from lottrack.facility.sites import check_moment, parse_at_site
from lottrack.kernel import calc
from lottrack.kernel.errors import InvalidTransition, NotFound, ValidationError
from lottrack.kernel.inputs import clean_text
from lottrack.kernel.units import Dim, format_number
from lottrack.manufacturing import lots, thaws
from lottrack.manufacturing.bag_codes import bag_name
from lottrack.manufacturing.lots import lot_site, lot_spec, passage_row
from lottrack.records.permissions import Action, CurrentUser, authorize
from lottrack.storage import audit
from lottrack.storage.models import CellCount, CountReplicate, Lot, ProductUnit, Site

PASSAGE_HARVEST = "passage-harvest"
FINAL_PRODUCT = "final-product"
POST_THAW = "post-thaw"
TARGETS = (PASSAGE_HARVEST, FINAL_PRODUCT, POST_THAW)
HEMOCYTOMETER = "hemocytometer"
AUTOMATED = "automated"
METHODS = (HEMOCYTOMETER, AUTOMATED)
MAX_TALLY = 2**31 - 1
"""Most live or dead cells or squares a hemocytometer replicate keeps (32-bit columns)."""


@dataclass(frozen=True)
class HemocytometerReplicate:
    """Trypan-blue count: live and dead cells over ``squares`` large squares at
    ``dilution`` (1 = undiluted)."""

    live: int
    dead: int
    squares: int
    dilution: float


@dataclass(frozen=True)
class AutomatedReplicate:
    """Automated counter reading: the TOTAL (live + dead) concentration and the viability
    as the instrument prints them, e.g. ``"1.8e6/mL"`` and ``"94 %"``."""

    concentration_text: str
    viability_text: str


Replicate = HemocytometerReplicate | AutomatedReplicate


@dataclass(frozen=True)
class CountResult:
    """A stored count set: mean viable concentration, viability and replicate CV."""

    id: int
    lot_id: int
    target: str
    passage_id: int | None
    unit_id: int | None
    method: str
    counted_at: dt.datetime
    replicates: int
    mean_viable_per_ml: float
    viability_pct: float
    cv_pct: float
    """0 for a single replicate (no spread can be measured)."""
    max_cv_pct: float
    recount_required: bool

    @property
    def total_per_ml(self) -> float:
        """Mean total (live + dead) concentration: viable ÷ viability."""
        if self.viability_pct <= 0:
            raise ValidationError(
                f"{self.target} count #{self.id}: no viable cells were counted.", field="Viability"
            )
        return self.mean_viable_per_ml * 100.0 / self.viability_pct


@dataclass(frozen=True)
class _Reading:
    viable_per_ml: float
    total_per_ml: float
    viability_pct: float
    replicate: CountReplicate


def _replicate_error(position: int, exc: ValidationError) -> ValidationError:
    return ValidationError(f"Replicate {position}: {exc.message}", field=exc.field)


def _read_hemocytometer(rep: HemocytometerReplicate, position: int) -> _Reading:
    for label, value in (
        ("Live cells", rep.live),
        ("Dead cells", rep.dead),
        ("Squares counted", rep.squares),
    ):
        if isinstance(value, int) and value > MAX_TALLY:
            raise ValidationError(
                f"Replicate {position}: {label}: more than can be stored (at most {MAX_TALLY}).",
                field=label,
            )
    try:
        count = calc.count_replicate(rep.live, rep.dead, rep.squares, rep.dilution)
    except ValidationError as exc:
        raise _replicate_error(position, exc) from None
    text = (
        f"live {rep.live}, dead {rep.dead}, {rep.squares} squares, dilution "
        f"{format_number(rep.dilution, sig=6)}"
    )
    return _Reading(
        count.viable_per_ml,
        count.total_per_ml,
        count.viability_percent,
        CountReplicate(
            count_id=0,
            position=position,
            live=rep.live,
            dead=rep.dead,
            squares=rep.squares,
            dilution=count.dilution,
            viable_per_ml=count.viable_per_ml,
            viability_pct=count.viability_percent,
            entered_text=text,
        ),
    )


def _read_automated(site: Site, rep: AutomatedReplicate, position: int) -> _Reading:
    try:
        total = parse_at_site(
            site, rep.concentration_text, "Total concentration", Dim.CONCENTRATION
        )
        viability = parse_at_site(
            site, rep.viability_text, "Viability", Dim.FRACTION, allow_zero=True
        )
    except ValidationError as exc:
        raise _replicate_error(position, exc) from None
    viable = total.value * viability.value / 100.0
    text = f"total {total.text.strip()}, viability {viability.text.strip()}"
    return _Reading(
        viable,
        total.value,
        viability.value,
        CountReplicate(
            count_id=0,
            position=position,
            viable_per_ml=viable,
            viability_pct=viability.value,
            entered_text=text[:200],
        ),
    )


def _read(site: Site, method: str, replicates: Sequence[Replicate]) -> list[_Reading]:
    wanted = HemocytometerReplicate if method == HEMOCYTOMETER else AutomatedReplicate
    readings = []
    for position, rep in enumerate(replicates, start=1):
        if not isinstance(rep, wanted):
            raise ValidationError(
                f"Replicate {position}: not a {method} reading; every "
                f"replicate of a {method} count is one.",
                field="Replicates",
            )
        readings.append(
            _read_hemocytometer(rep, position)
            if isinstance(rep, HemocytometerReplicate)
            else _read_automated(site, rep, position)
        )
    return readings


def _result(count: CellCount, replicates: int, max_cv_pct: float) -> CountResult:
    assert count.id is not None
    return CountResult(
        count.id,
        count.lot_id,
        count.target,
        count.passage_id,
        count.unit_id,
        count.method,
        count.counted_at,
        replicates,
        count.mean_viable_per_ml,
        count.viability_pct,
        count.cv_pct,
        max_cv_pct,
        count.recount_required,
    )


def _require_target(target: str) -> None:
    if target not in TARGETS:
        raise ValidationError(
            f'Counted: "{str(target)[:40]}" is not a count target; expected '
            f"one of {', '.join(TARGETS)}.",
            field="Counted",
        )


def _subject_of_count(
    session: Session,
    who: CurrentUser,
    lot: Lot,
    target: str,
    passage_id: int | None,
    unit_id: int | None,
) -> tuple[dt.datetime | None, str]:
    """Check what was counted belongs to the lot; return the earliest count time and what
    it is after. A blinded person counts only a thaw the lab recorded: the pharmacy's is
    answered as no thaw (:mod:`lottrack.manufacturing.thaws`)."""
    _require_target(target)
    if target == PASSAGE_HARVEST:
        if passage_id is None or unit_id is not None:
            raise ValidationError(
                "Passage: a passage-harvest count names its passage (and no bag).", field="Passage"
            )
        passage = passage_row(session, passage_id)
        if passage.lot_id != lot.id:
            raise ValidationError(
                f"Passage: P{passage.number} (id {passage_id}) is not a "
                f"passage of lot {lot.lot_number}.",
                field="Passage",
            )
        lots.require_open_for_manufacturing(lot, f"count the harvest of P{passage.number}")
        return passage.seeded_at, f"P{passage.number} was seeded"
    if passage_id is not None:
        raise ValidationError(f"Passage: a {target} count names no passage.", field="Passage")
    if target == FINAL_PRODUCT:
        if unit_id is not None:
            raise ValidationError(
                "Bag: the final-product count is made before bags exist.", field="Bag"
            )
        lots.require_open_for_manufacturing(lot, "count the final product")
        return None, ""
    unit = session.get(ProductUnit, unit_id) if unit_id is not None else None
    if unit is None or unit.lot_id != lot.id:
        raise ValidationError(
            f"Bag: a post-thaw count names a bag of lot {lot.lot_number}.", field="Bag"
        )
    name = bag_name(unit, who)
    if unit.thawed_at is None or (
        not who.unblinded and unit.id in thaws.pharmacy_thaws(session, [unit])
    ):
        raise InvalidTransition(f"Cannot count {name} post-thaw: its thaw has not been recorded.")
    return unit.thawed_at, f"{name} was thawed"


def record_count(
    session: Session,
    who: CurrentUser,
    *,
    lot_id: int,
    target: str,
    passage_id: int | None = None,
    unit_id: int | None = None,
    method: str,
    counted_at: dt.datetime,
    replicates: Sequence[Replicate],
) -> CountResult:
    """Store a count set with its replicates, mean viable concentration, viability and CV.

    Fewer replicates than the specification's ``min_replicates`` are refused; a CV above
    its ``max_cv_pct`` is stored and flagged ``recount_required``.
    """
    authorize(session, who, Action.RECORD_MANUFACTURING)
    lot = lots.get_lot(session, lot_id, for_update=True)
    not_before, what = _subject_of_count(session, who, lot, target, passage_id, unit_id)
    if method not in METHODS:
        raise ValidationError(
            f'Method: "{str(method)[:40]}" is not a counting method; '
            f"expected {' or '.join(METHODS)}.",
            field="Method",
        )
    spec = lot_spec(session, lot)
    if len(replicates) < spec.min_replicates:
        raise ValidationError(
            f"Replicates: {len(replicates)} given; specification v{spec.version} requires at "
            f"least {spec.min_replicates} replicate counts.",
            field="Replicates",
        )
    site = lot_site(session, lot)
    counted = check_moment(
        site, counted_at, "Counted at", not_before=not_before, not_before_what=what
    )
    readings = _read(site, method, replicates)
    viable = calc.replicate_stats([r.viable_per_ml for r in readings], "Viable concentration")
    total = calc.replicate_stats([r.total_per_ml for r in readings], "Total concentration")
    # max(): viable × 100 % ÷ 100 may exceed the total by one rounding step.
    viability = calc.viability_percent(viable.mean, max(total.mean - viable.mean, 0.0))
    cv = viable.cv_percent if viable.cv_percent is not None else 0.0
    count = CellCount(
        lot_id=lot_id,
        target=target,
        passage_id=passage_id,
        unit_id=unit_id,
        method=method,
        counted_at=counted,
        counted_by=who.id,
        mean_viable_per_ml=viable.mean,
        viability_pct=viability,
        cv_pct=cv,
        recount_required=cv > spec.max_cv_pct,
    )
    session.add(count)
    session.flush()
    assert count.id is not None
    for reading in readings:
        reading.replicate.count_id = count.id
        session.add(reading.replicate)
    session.flush()
    return _result(count, len(readings), spec.max_cv_pct)


def _describe(count: CellCount) -> str:
    return f"{count.target} count #{count.id}"


def usable_count(
    session: Session,
    lot_id: int,
    target: str,
    *,
    passage_id: int | None = None,
    unit_id: int | None = None,
) -> CountResult:
    """The latest valid count of ``target`` (optionally of one passage or bag).

    The latest count decides: when it needs a recount, an earlier conforming count is not
    used instead (the suspension may have changed since); void the flagged count with a
    reason or record a conforming recount. Raises :class:`InvalidTransition` when there is
    no count, or when the latest needs a recount.
    """
    _require_target(target)
    lot = lots.get_lot(session, lot_id)
    spec = lot_spec(session, lot)
    stmt = select(CellCount).where(
        CellCount.lot_id == lot_id,
        CellCount.target == target,
        col(CellCount.voided_reason).is_(None),
    )
    if passage_id is not None:
        stmt = stmt.where(CellCount.passage_id == passage_id)
    if unit_id is not None:
        stmt = stmt.where(CellCount.unit_id == unit_id)
    latest = session.exec(
        stmt.order_by(col(CellCount.counted_at).desc(), col(CellCount.id).desc())
    ).first()
    if latest is None:
        raise InvalidTransition(
            f"Lot {lot.lot_number} has no {target} count; record one "
            f"({spec.min_replicates} or more replicates) first."
        )
    if latest.recount_required:
        raise InvalidTransition(
            f"Lot {lot.lot_number}: recount required: the last {target} count's CV "
            f"{latest.cv_pct:.1f} % exceeds {spec.max_cv_pct:g} % (specification "
            f"v{spec.version}); record a conforming recount."
        )
    n = len(
        session.exec(select(CountReplicate.id).where(CountReplicate.count_id == latest.id)).all()
    )
    return _result(latest, n, spec.max_cv_pct)


def void_count(session: Session, who: CurrentUser, count_id: int, reason: str) -> None:
    """Void a count set with a reason (it stays in the record, marked void). Counts of a
    passage harvest or the final product can only be voided while the lot is in process."""
    authorize(session, who, Action.RECORD_MANUFACTURING)
    why = clean_text(reason, "Reason", max_length=500)
    count = session.get(CellCount, count_id)
    if count is None:
        raise NotFound(f"No cell count with id {count_id}.")
    lot = lots.get_lot(session, count.lot_id, for_update=True)
    if count.voided_reason is not None:
        raise InvalidTransition(
            f"Cannot void {_describe(count)}: it is already void ({count.voided_reason})."
        )
    if count.target != POST_THAW:
        lots.require_open_for_manufacturing(lot, f"void {_describe(count)}")
    with audit.reason(session, why):
        count.voided_reason = why
