"""The canonical content of a lot's batch record: what a release signature covers.

Everything recorded about how the lot was made and tested is included; what changes
legitimately after release (the lot's and bags' status, thaw time, post-thaw counts,
custody) is not.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlmodel import Session, SQLModel, col, select

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

_LOT_EXCLUDED = {"status", "status_before_hold"}
_UNIT_EXCLUDED = {"status", "status_reason", "thawed_at"}


def _content(row: SQLModel, exclude: set[str] | None = None) -> dict[str, Any]:
    table = row.__table__  # type: ignore[attr-defined]
    values = {c.name: getattr(row, c.name) for c in table.columns}
    content = row_content(table, values)
    for key in exclude or ():
        content.pop(key, None)
    return content


def lot_content(session: Session, lot: Lot) -> dict[str, Any]:
    """The batch record of ``lot`` as canonical data (hashed by signatures)."""
    harvest = session.get(Harvest, lot.harvest_id)
    passages = session.exec(
        select(Passage)
        .where(Passage.lot_id == lot.id)
        .order_by(col(Passage.number), col(Passage.id))
    ).all()
    passage_ids = [p.id for p in passages]
    reagents = (
        session.exec(
            select(PassageReagent)
            .where(col(PassageReagent.passage_id).in_(passage_ids))
            .order_by(col(PassageReagent.id))
        ).all()
        if passage_ids
        else []
    )
    # Post-thaw counts are made at the pharmacy after release; like the thaw time they
    # are not part of what QA released.
    counts = session.exec(
        select(CellCount)
        .where(CellCount.lot_id == lot.id, CellCount.target != "post-thaw")
        .order_by(col(CellCount.id))
    ).all()
    count_ids = [c.id for c in counts]
    replicates = (
        session.exec(
            select(CountReplicate)
            .where(col(CountReplicate.count_id).in_(count_ids))
            .order_by(col(CountReplicate.id))
        ).all()
        if count_ids
        else []
    )
    qc = session.exec(
        select(QCResult).where(QCResult.lot_id == lot.id).order_by(col(QCResult.id))
    ).all()
    units = session.exec(
        select(ProductUnit).where(ProductUnit.lot_id == lot.id).order_by(col(ProductUnit.id))
    ).all()
    content = {
        "lot": _content(lot, _LOT_EXCLUDED),
        "harvest": _content(harvest) if harvest else None,
        "passages": [_content(p) for p in passages],
        "passage_reagents": [_content(r) for r in reagents],
        "counts": [_content(c) for c in counts],
        "replicates": [_content(r) for r in replicates],
        "qc_results": [_content(q) for q in qc],
        "units": [_content(u, _UNIT_EXCLUDED) for u in units],
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
