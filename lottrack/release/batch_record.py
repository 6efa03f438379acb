"""The canonical content of a lot's batch record: what a release signature covers.

Everything recorded about how the lot was made and tested is included; what changes
legitimately after release (the lot's and bags' status, thaw time, post-thaw counts,
custody) is not.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from sqlalchemy import select as sa_select
from sqlmodel import Session, SQLModel, col, select

from lottrack.manufacturing.counts import POST_THAW
from lottrack.storage.audit import row_content
from lottrack.storage.models import (
    CellCount,
    CountReplicate,
    Deviation,
    Harvest,
    Investigation,
    Lot,
    Passage,
    PassageReagent,
    ProductUnit,
    QCResult,
)

LOT_LIFECYCLE = frozenset({"status", "status_before_hold"})
"""A lot's fields that change as it moves through its lifecycle, not as its record is
entered or corrected: no signature covers them."""
BAG_LIFECYCLE = frozenset({"status", "status_reason", "thawed_at"})
"""A bag's lifecycle fields (its status and why, its thaw): no signature covers them."""
LIFECYCLE_FIELDS = {"lot": LOT_LIFECYCLE, "product_unit": BAG_LIFECYCLE}
"""The lifecycle fields by the table name the audit trail gives a record."""


def record_rows(lot_id: Any, *, post_thaw: bool = True) -> dict[str, tuple[Any, list[Any]]]:
    """Where the rows of a lot's batch record are, voided ones included, and post-thaw
    counts unless ``post_thaw`` is False: for each table (by the name the audit trail gives
    it), the id column and the conditions that select the lot's rows; ``lot_id`` a value
    or a bind parameter.

    A lot's audit trail reads the events of these rows; the release certificate's changes
    after first entry those of the rows the release covers (``post_thaw=False``).
    :func:`lot_content`, what a release signature covers, reads the rows themselves but
    leaves out post-thaw counts (made after a thaw) and adds the lot's investigations and
    deviations.
    """
    passages = sa_select(col(Passage.id)).where(col(Passage.lot_id) == lot_id)
    of_lot = [col(CellCount.lot_id) == lot_id]
    if not post_thaw:
        of_lot.append(col(CellCount.target) != POST_THAW)
    counts = sa_select(col(CellCount.id)).where(*of_lot)
    return {
        "lot": (Lot.id, [col(Lot.id) == lot_id]),
        "harvest": (Lot.harvest_id, [col(Lot.id) == lot_id]),
        "passage": (Passage.id, [col(Passage.lot_id) == lot_id]),
        "passage_reagent": (PassageReagent.id, [col(PassageReagent.passage_id).in_(passages)]),
        "cell_count": (CellCount.id, of_lot),
        "count_replicate": (CountReplicate.id, [col(CountReplicate.count_id).in_(counts)]),
        "qc_result": (QCResult.id, [col(QCResult.lot_id) == lot_id]),
        "product_unit": (ProductUnit.id, [col(ProductUnit.lot_id) == lot_id]),
    }


def _content(row: SQLModel, exclude: frozenset[str] = frozenset()) -> dict[str, Any]:
    table = row.__table__  # type: ignore[attr-defined]
    values = {c.name: getattr(row, c.name) for c in table.columns}
    content = row_content(table, values)
    for key in exclude:
        content.pop(key, None)
    return content


M = TypeVar("M", bound=SQLModel)


def _rows_of(session: Session, table: type[M], parent: Any, ids: Sequence[Any]) -> Sequence[M]:
    """The rows of ``table`` whose ``parent`` column is one of ``ids``, in entry order."""
    if not ids:
        return []
    return session.exec(
        select(table).where(col(parent).in_(ids)).order_by(col(table.id))  # type: ignore[attr-defined]
    ).all()


def lot_content(session: Session, lot: Lot) -> dict[str, Any]:
    """The batch record of ``lot`` as canonical data (hashed by signatures)."""
    harvest = session.get(Harvest, lot.harvest_id)
    passages = session.exec(
        select(Passage)
        .where(Passage.lot_id == lot.id)
        .order_by(col(Passage.number), col(Passage.id))
    ).all()
    passage_ids = [p.id for p in passages]
    reagents = _rows_of(session, PassageReagent, PassageReagent.passage_id, passage_ids)
    # Post-thaw counts (of a bag thawed for a post-thaw test, or to be infused), like the
    # thaw time, are not part of what QA released.
    counts = session.exec(
        select(CellCount)
        .where(CellCount.lot_id == lot.id, CellCount.target != POST_THAW)
        .order_by(col(CellCount.id))
    ).all()
    count_ids = [c.id for c in counts]
    replicates = _rows_of(session, CountReplicate, CountReplicate.count_id, count_ids)
    qc = session.exec(
        select(QCResult).where(QCResult.lot_id == lot.id).order_by(col(QCResult.id))
    ).all()
    units = session.exec(
        select(ProductUnit).where(ProductUnit.lot_id == lot.id).order_by(col(ProductUnit.id))
    ).all()
    content = {
        "lot": _content(lot, LOT_LIFECYCLE),
        "harvest": _content(harvest) if harvest else None,
        "passages": [_content(p) for p in passages],
        "passage_reagents": [_content(r) for r in reagents],
        "counts": [_content(c) for c in counts],
        "replicates": [_content(r) for r in replicates],
        "qc_results": [_content(q) for q in qc],
        "units": [_content(u, BAG_LIFECYCLE) for u in units],
    }
    # Investigations and deviations are part of what QA releases; a lot without any keeps
    # the content (and so the signatures) it had before they existed.
    quality: dict[str, Sequence[SQLModel]] = {
        "investigations": session.exec(
            select(Investigation)
            .where(Investigation.lot_id == lot.id)
            .order_by(col(Investigation.id))
        ).all(),
        "deviations": session.exec(
            select(Deviation).where(Deviation.lot_id == lot.id).order_by(col(Deviation.id))
        ).all(),
    }
    for key, rows in quality.items():
        if rows:
            content[key] = [_content(r) for r in rows]
    return content
