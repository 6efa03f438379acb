"""Plausible numbers (design §6.8): cells cannot appear from nowhere.

Cells seeded at a passage cannot exceed the cells available from the step before (the
harvest's nucleated cells for P0, the previous passage's harvested cells after), and the
viable cells formulated cannot exceed the last passage's harvested viable cells, allowing
for the stated counting error (setting ``counting_error_pct``, default 10 %). Beyond it an
entry is refused with both numbers, unless it names an open deviation of the lot that
explains it; the entry is then linked to that deviation.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session

from lottrack.kernel.errors import ValidationError
from lottrack.kernel.units import Dim, format_quantity
from lottrack.manufacturing import deviations
from lottrack.storage import settings
from lottrack.storage.models import Harvest, Lot, Passage


@dataclass(frozen=True)
class Excess:
    """An entry beyond the plausible, accepted because it names an open deviation."""

    deviation_id: int
    note: str


def _cells(value: float, site_separator: str) -> str:
    return format_quantity(value, Dim.CELLS, decimal_separator=site_separator)


def check(
    session: Session,
    lot: Lot,
    *,
    field: str,
    value: float,
    available: float | None,
    source: str,
    deviation_id: int | None,
    decimal_separator: str = ".",
) -> Excess | None:
    """Refuse ``value`` (cells) beyond ``available`` plus the counting error allowance,
    naming both numbers, unless ``deviation_id`` names an open deviation of the lot; returns
    what to link to that deviation (None when the value is plausible or nothing is known to
    compare it with)."""
    if available is None:
        return None
    pct = settings.get_float(session, "counting_error_pct")
    ceiling = available * (1 + pct / 100)
    if value <= ceiling:
        return None
    typed, known = _cells(value, decimal_separator), _cells(available, decimal_separator)
    note = f"{field} {typed} exceed the {source} ({known}; counting error allowance {pct:g} %)"
    if deviation_id is None:
        raise ValidationError(
            f"{field}: {typed} is more than the {source} ({known}), even allowing {pct:g} % "
            f"counting error (at most {_cells(ceiling, decimal_separator)}). Correct the "
            "entry, or name an open deviation of the lot that explains it.",
            field=field,
        )
    dev = deviations.require_open(session, lot, deviation_id, f"an entry beyond {known}")
    assert dev.id is not None
    return Excess(dev.id, note)


def link(session: Session, excess: Excess | None, record_type: str, record_id: int) -> None:
    """Link an accepted excess to its deviation (nothing when the entry was plausible)."""
    if excess is not None:
        deviations.link(session, excess.deviation_id, record_type, record_id, excess.note)


def available_for_seeding(
    session: Session, lot: Lot, previous: Passage | None
) -> tuple[float | None, str]:
    """The cells available to seed the next passage, and where they come from."""
    if previous is None:
        harvest = session.get(Harvest, lot.harvest_id)
        return (
            harvest.tnc_cells_total if harvest is not None else None,
            "total nucleated cells of the harvest",
        )
    return previous.cells_harvested, f"cells harvested at P{previous.number}"


def viable_harvested(passage: Passage) -> float | None:
    """The viable cells a harvested passage yielded (all of them when no viability was
    recorded)."""
    if passage.cells_harvested is None:
        return None
    if passage.viability_pct is None:
        return passage.cells_harvested
    return passage.cells_harvested * passage.viability_pct / 100
