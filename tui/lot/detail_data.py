"""Everything the batch-record screens show about one lot, read in one worker.

The lot detail and the QA review call :func:`read_lot` in a read session; it calls the
services (each authorizes) and returns one frozen :class:`LotDetail` of plain values.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlmodel import Session

from lottrack.manufacturing import (
    deviations,
    formulation,
    investigations,
    lots,
    passage_table,
    qc,
)
from lottrack.records.permissions import Action, CurrentUser, allowed
from lottrack.release import disposition
from lottrack.views import listings


@dataclass(frozen=True)
class LotDetail:
    """A lot's batch record as the screens show it."""

    summary: passage_table.LotSummary
    context: listings.LotFormContext
    passages: tuple[passage_table.PassageRow, ...]
    counts: tuple[listings.CountRow, ...]
    results: tuple[qc.QCRow, ...]
    readiness: qc.ReleaseReadiness
    bags: tuple[formulation.UnitInfo, ...]
    custody: tuple[listings.CustodyRow, ...]
    decisions: tuple[disposition.DispositionView, ...]
    timeline: tuple[listings.TimelineEntry, ...]
    next_step: str | None
    recordable: frozenset[str]
    """What the lab may record now (:func:`lottrack.views.listings.recordable`)."""
    audit: tuple[listings.AuditRow, ...] | None
    """The lot's audit trail, for people who may view it (None otherwise); its records
    not yet named (:func:`lottrack.views.listings.named`: the QA review names them when
    its audit tab is shown)."""
    investigations: tuple[investigations.InvestigationView, ...] = ()
    deviations: tuple[deviations.DeviationView, ...] = ()

    @property
    def growth(self) -> list[tuple[float, float]]:
        """(days since P0 was seeded, cumulative PD) from P0's seeding to each harvest."""
        if not self.passages:
            return []
        start = self.passages[0].seeded_at
        points = [(0.0, 0.0)]
        for p in self.passages:
            if p.harvested_at is None or p.cumulative_population_doublings is None:
                break
            days = (p.harvested_at - start) / dt.timedelta(days=1)
            points.append((days, p.cumulative_population_doublings))
        return points


def read_lot(
    session: Session, who: CurrentUser, lot_id: int, *, with_audit: bool = False
) -> LotDetail:
    """The whole batch record of ``lot_id`` (with its audit trail when asked for and the
    person may see it)."""
    summary = passage_table.lot_summary(session, who, lot_id)
    lot = lots.get_lot(session, lot_id)
    results = tuple(qc.results(session, lot_id, include_voided=True))
    readiness = qc.readiness(session, lot)
    # Each read once: the form context and the next step take what was read here.
    context = listings.lot_form_context(session, who, lot_id, results=results)
    step = listings.lot_next_step(session, who, lot_id, readiness=readiness)
    audit = None
    if with_audit and allowed(who.roles, Action.VIEW_AUDIT):
        audit = tuple(listings.lot_audit_trail(session, who, lot_id))
    return LotDetail(
        summary=summary,
        context=context,
        passages=tuple(passage_table.passage_table(session, who, lot_id)),
        counts=tuple(listings.lot_counts(session, who, lot_id)),
        results=results,
        readiness=readiness,
        bags=tuple(formulation.bags_of_lot(session, who, lot_id)),
        custody=tuple(listings.lot_custody(session, who, lot_id)),
        decisions=tuple(disposition.history(session, who, lot_id)),
        timeline=tuple(listings.lot_timeline(session, who, lot_id)),
        next_step=step.text if step is not None else None,
        recordable=listings.recordable(context, step),
        audit=audit,
        investigations=tuple(investigations.list_for_lot(session, who, lot_id)),
        deviations=tuple(deviations.list_for_lot(session, who, lot_id)),
    )
