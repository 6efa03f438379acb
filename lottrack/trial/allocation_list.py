"""What the unblinded pharmacy reads to start the trial (design §2, §7): every subject with
their sequence, whether it may still change, and their visits.

Nothing here writes; :mod:`lottrack.trial.allocation` and :mod:`lottrack.trial.visits`
do. Every function authorizes first and returns frozen plain data.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlmodel import Session, col, select

from lottrack import settings
from lottrack.models import Allocation, Dispensing, Subject, Visit
from lottrack.permissions import Action, CurrentUser, authorize


@dataclass(frozen=True)
class PlannedVisit:
    """One visit of a subject (the arm is not part of it)."""

    visit_id: int
    period: int
    planned_date: dt.date
    status: str
    """``planned``, ``dispensed`` or ``infused``."""


@dataclass(frozen=True)
class SubjectAllocation:
    """A subject as the allocation screen lists it."""

    subject_id: int
    code: str
    sequence: str | None
    """``MSC-first`` or ``placebo-first``; None while not allocated."""
    source: str | None
    """Where the sequence came from: the imported file or the seed and block size."""
    frozen: bool
    """A visit of the subject has been dispensed: the sequence can no longer change."""
    visits: tuple[PlannedVisit, ...]
    """By period."""

    @property
    def allocated(self) -> bool:
        """True once the subject has a sequence."""
        return self.sequence is not None

    @property
    def can_schedule(self) -> bool:
        """An allocated subject without visits: both visits can be scheduled."""
        return self.allocated and not self.visits


@dataclass(frozen=True)
class AllocationList:
    """Every subject, by subject code, and the trial numbers the screen offers."""

    subjects: tuple[SubjectAllocation, ...]
    block_size: int
    """Default block size of the permuted-block randomisation (setting)."""
    period2_week: int
    """Week of period 2 after week 0 (setting)."""

    @property
    def unallocated(self) -> tuple[SubjectAllocation, ...]:
        """The subjects without a sequence, in the order generation allocates them."""
        return tuple(s for s in self.subjects if not s.allocated)


def allocation_list(session: Session, who: CurrentUser) -> AllocationList:
    """Every subject with their sequence, frozen flag and visits (unblinded pharmacy only)."""
    authorize(session, who, Action.VIEW_ALLOCATION)
    subjects = session.exec(select(Subject.id, Subject.code)
                            .order_by(col(Subject.code))).all()
    allocations = {a.subject_id: a for a in session.exec(select(Allocation)).all()}
    frozen = set(session.exec(
        select(Visit.subject_id).join(Dispensing, col(Dispensing.visit_id) == col(Visit.id))
        .distinct()).all())
    visits: dict[int, list[PlannedVisit]] = {}
    for v in session.exec(select(Visit).order_by(col(Visit.subject_id),
                                                 col(Visit.period))).all():
        assert v.id is not None
        visits.setdefault(v.subject_id, []).append(
            PlannedVisit(v.id, v.period, v.planned_date, v.status))
    rows = []
    for subject_id, code in subjects:
        assert subject_id is not None
        found = allocations.get(subject_id)
        rows.append(SubjectAllocation(
            subject_id, code, found.sequence if found else None,
            found.source if found else None, subject_id in frozen,
            tuple(visits.get(subject_id, ()))))
    return AllocationList(tuple(rows),
                          settings.get_int(session, "randomisation_block_size"),
                          settings.get_int(session, "period2_week"))


def unallocated_subject_ids(session: Session, who: CurrentUser) -> list[int]:
    """Ids of the subjects without an allocation, by subject code: the order in which
    :func:`lottrack.trial.allocation.generate` is given them, so that a seed and the
    list of subjects reproduce the allocation."""
    authorize(session, who, Action.MANAGE_ALLOCATION)
    allocated = select(Allocation.subject_id)
    ids = session.exec(select(Subject.id).where(col(Subject.id).not_in(allocated))
                       .order_by(col(Subject.code))).all()
    return [i for i in ids if i is not None]
