"""Everything the batch-record screens show about one lot, read in one worker.

The lot detail calls :func:`read_lot` in a read session, the QA review
:func:`read_review`; each calls the services (each authorizes) and returns one frozen
dataclass of plain values (:class:`LotDetail`, :class:`LotRecord`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

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


@dataclass(frozen=True, kw_only=True)
class LotRecord:
    """What the QA review shows of a lot (:func:`read_review`), and the batch record
    with it (:class:`LotDetail`)."""

    summary: passage_table.LotSummary
    passages: tuple[passage_table.PassageRow, ...]
    counts: tuple[listings.CountRow, ...]
    results: tuple[qc.QCRow, ...]
    readiness: qc.ReleaseReadiness
    decisions: tuple[disposition.DispositionView, ...]
    investigations: tuple[investigations.InvestigationView, ...]
    deviations: tuple[deviations.DeviationView, ...]
    audit: tuple[listings.AuditRow, ...] | None
    """The lot's audit trail, for people who may view it, read for the QA review (None
    otherwise); its records not yet named (:func:`lottrack.views.listings.named`: the
    review names them when its audit tab is shown)."""

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


@dataclass(frozen=True, kw_only=True)
class LotDetail(LotRecord):
    """A lot's batch record as the lab's screen shows it: what the review shows, and the
    bags, their custody, the timeline and what the lab does next."""

    bags: tuple[formulation.UnitInfo, ...]
    custody: tuple[listings.CustodyRow, ...]
    timeline: tuple[listings.TimelineEntry, ...]
    next_step: str | None
    recordable: frozenset[str]
    """What the lab may record now (:func:`lottrack.views.listings.recordable`)."""


def _parts(session: Session, who: CurrentUser, lot_id: int, *, audit: bool) -> dict[str, Any]:
    """The fields of :class:`LotRecord` (its audit trail only when ``audit``)."""
    summary = passage_table.lot_summary(session, who, lot_id)  # authorizes first
    lot = lots.get_lot(session, lot_id)
    return {
        "summary": summary,
        "passages": tuple(passage_table.passage_table(session, who, lot_id)),
        "counts": tuple(listings.lot_counts(session, who, lot_id)),
        "results": tuple(qc.results(session, lot_id, include_voided=True)),
        "readiness": qc.readiness(session, lot),
        "decisions": tuple(disposition.history(session, who, lot_id)),
        "investigations": tuple(investigations.list_for_lot(session, who, lot_id)),
        "deviations": tuple(deviations.list_for_lot(session, who, lot_id)),
        "audit": (
            tuple(listings.lot_audit_trail(session, who, lot_id))
            if audit and allowed(who.roles, Action.VIEW_AUDIT)
            else None
        ),
    }


def read_review(session: Session, who: CurrentUser, lot_id: int) -> LotRecord:
    """What the QA review shows of ``lot_id``, with its audit trail when the person may
    see it. Not the lab's parts of the batch record (bags, custody, timeline, the form
    context and the next step: #18, a fifth of the statements the review sent)."""
    return LotRecord(**_parts(session, who, lot_id, audit=True))


def read_lot(session: Session, who: CurrentUser, lot_id: int) -> LotDetail:
    """The whole batch record of ``lot_id``, as the lab's screen shows it."""
    parts = _parts(session, who, lot_id, audit=False)
    # Each read once: the form context and the next step take what was read here.
    context = listings.lot_form_context(session, who, lot_id, results=parts["results"])
    step = listings.lot_next_step(session, who, lot_id, readiness=parts["readiness"])
    return LotDetail(
        **parts,
        bags=tuple(formulation.bags_of_lot(session, who, lot_id)),
        custody=tuple(listings.lot_custody(session, who, lot_id)),
        timeline=tuple(listings.lot_timeline(session, who, lot_id)),
        next_step=step.text if step is not None else None,
        recordable=listings.recordable(context, step),
    )
