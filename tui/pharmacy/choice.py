"""What the pharmacist chooses from at a visit, and the dry run of the checks for one choice.

A visit is prepared from one of the subject's available MSC bags, or for a placebo from a
released suspension-media lot; the visit screen shows them in this order. For the
highlighted choice the dispensing service runs its six checks without storing anything
(:func:`preview_of`), and :func:`dose_lines` says what the dose check found.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual.message import Message

from lottrack.kernel import calc
from lottrack.kernel.errors import LotTrackError
from lottrack.kernel.units import Dim, format_quantity, format_quantity_range
from lottrack.records.permissions import CurrentUser
from lottrack.trial import listings
from lottrack.trial.listings import DispensingPreview, PharmacyVisit

if TYPE_CHECKING:
    from sqlmodel import Session

Choice = tuple[str, int]
"""``("bag", unit id)`` or ``("media", suspension-media reagent lot id)``."""


@dataclass
class PreviewReady(Message):
    """The dry run of the checks for one choice (or why it could not run)."""

    choice: Choice
    preview: DispensingPreview | None
    error: str = ""


def choices_of(v: PharmacyVisit) -> list[Choice]:
    """What the pharmacist chooses from, in the table's order (none once dispensed)."""
    if v.dispensed is not None:
        return []
    if v.arm == "placebo":
        return [("media", m.reagent_lot_id) for m in v.media]
    return [("bag", b.unit_id) for b in v.bags]


def preview_of(session: Session, who: CurrentUser, visit_id: int, choice: Choice) -> PreviewReady:
    """The dry run of the checks for ``choice`` (or why it cannot run)."""
    kind, key = choice
    try:
        preview = listings.preview_dispensing(
            session,
            who,
            visit_id=visit_id,
            unit_id=key if kind == "bag" else None,
            placebo_reagent_lot_id=key if kind == "media" else None,
        )
    except LotTrackError as exc:
        return PreviewReady(choice, None, exc.message)
    return PreviewReady(choice, preview)


def dose_lines(dose: calc.DoseResult | None) -> str:
    """The dose result and the volume range that would put it inside the window."""
    if dose is None:
        return ""
    text = calc.describe_dose(dose)
    if dose.volume_ml_min is not None and dose.volume_ml_max is not None:
        volume = format_quantity_range(
            dose.volume_ml_min, dose.volume_ml_max, Dim.VOLUME, inward=True
        )
        held = format_quantity(dose.volume_ml or 0, Dim.VOLUME)
        text += f"\nVolume inside the window: {volume}; the bag holds {held}."
    return text
