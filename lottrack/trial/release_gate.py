"""The release rule both arms share (design §7 "one rule for both arms", §8 check 2).

A visit of either arm can be dispensed, second-verified, checked at the bedside and started
only while the subject's own MSC lot is released (or released under exception) **and** the
QA signature of that decision still matches the batch record. A placebo visit is held to
the MSC lot as well: otherwise what the pharmacy or the ward is refused would depend on the
arm. A lot that went back to awaiting release (a correction after release) or whose release
signature no longer matches (an edit behind the program's back) stops every visit of its
subject that is not yet infused.
"""

from __future__ import annotations

from sqlmodel import Session, col, select

from lottrack.manufacturing import lots
from lottrack.records import signatures
from lottrack.release.batch_record import lot_content
from lottrack.storage.models import Disposition, Lot, ProductUnit

WARD_STOP = (
    "the subject's product is not released with a valid QA signature (QA must review the lot again)"
)
"""How the ward is told, in the same words for both arms (it names no lot and no status)."""


def subject_msc_lot(session: Session, subject_id: int) -> Lot | None:
    """The subject's MSC lot: the lot of the subject's latest formulated MSC bag."""
    lot_id = session.exec(
        select(ProductUnit.lot_id)
        .where(
            ProductUnit.subject_id == subject_id,
            col(ProductUnit.lot_id).is_not(None),
        )
        .order_by(col(ProductUnit.id).desc())
    ).first()
    return session.get(Lot, lot_id) if lot_id is not None else None


def lot_for(session: Session, unit: ProductUnit) -> Lot | None:
    """The MSC lot a bag's visit depends on: the bag's own lot (MSC), else the subject's."""
    if unit.lot_id is not None:
        return session.get(Lot, unit.lot_id)
    return subject_msc_lot(session, unit.subject_id)


def release_problem(session: Session, lot: Lot | None) -> str | None:
    """Why ``lot`` may not be dispensed or infused now (None when it may): not released,
    no signed QA decision recording its status, or that signature invalidated."""
    if lot is None:
        return "the subject has no formulated MSC lot"
    if lot.status not in lots.DISPENSABLE:
        return f"lot {lot.lot_number} is {lot.status}"
    decision = session.exec(
        select(Disposition)
        .where(
            Disposition.lot_id == lot.id,
            Disposition.decision == lot.status,
        )
        .order_by(col(Disposition.decided_at).desc(), col(Disposition.id).desc())
    ).first()
    signature = (
        session.get(signatures.Signature, decision.signature_id)
        if decision is not None and decision.signature_id is not None
        else None
    )
    if signature is None:
        return f"lot {lot.lot_number} is {lot.status} but no signed QA decision records it"
    if not signatures.view(signature, lot_content(session, lot)).valid:
        return (
            f"the release signature of lot {lot.lot_number} is INVALIDATED (the batch "
            "record changed after release)"
        )
    return None


def unit_release_problem(session: Session, unit: ProductUnit) -> str | None:
    """:func:`release_problem` of the MSC lot a bag's visit depends on."""
    return release_problem(session, lot_for(session, unit))
