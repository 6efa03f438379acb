"""What the unblinded pharmacy reads to start the trial (design §2, §7): the subjects with
their sequence, whether it may still change, and their visits — one page at a time for
the screen (searched and paged in SQL, so twelve thousand subjects stay instant), or all
of them for the command line.

Nothing here writes; :mod:`lottrack.trial.allocation` and :mod:`lottrack.trial.visits`
do. Every function authorizes first and returns frozen plain data.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, true
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from lottrack.kernel.inputs import check_page, search_needle
from lottrack.records.permissions import Action, CurrentUser, authorize
from lottrack.storage import settings
from lottrack.storage.models import Allocation, Dispensing, Subject, Visit
from lottrack.storage.search import needle_params, undashed_contains

MAX_PAGE = 500
"""Most subjects :func:`allocation_page` returns at once."""
MAX_SEARCH = 32
"""Longest search, spaces and dashes not counted: a subject code has fewer characters."""
SEARCH_HINT = "a subject code is no longer"
"""Why a longer search is refused (said in the refusal)."""
GENERATE_PREVIEW = 6
"""How many of the subjects not yet allocated a page names (the generate dialog lists
the first few)."""


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
    """Every subject, by subject code."""

    subjects: tuple[SubjectAllocation, ...]


@dataclass(frozen=True)
class AllocationPage:
    """One page of subjects, by subject code, with how many match and the trial-wide
    numbers the screen shows and offers."""

    subjects: tuple[SubjectAllocation, ...]
    total: int
    """Subjects whose code matches the search (all of them without one)."""
    offset: int
    limit: int
    subject_count: int
    """Every subject of the trial, whatever the search."""
    allocated: int
    """Subjects with a sequence."""
    frozen: int
    """Subjects with a dispensed visit (their sequence can no longer change)."""
    first_unallocated: tuple[str, ...]
    """The codes of the first few subjects without a sequence, in the order generation
    allocates them (at most :data:`GENERATE_PREVIEW`)."""
    block_size: int
    """Default block size of the permuted-block randomisation (setting)."""
    period2_week: int
    """Week of period 2 after week 0 (setting)."""

    @property
    def unallocated(self) -> int:
        """How many subjects have no sequence yet."""
        return self.subject_count - self.allocated


def _subject_rows(
    session: Session, statement: Any, *, every: bool
) -> tuple[SubjectAllocation, ...]:
    """Subjects read by ``statement`` (id, code, sequence, source) with their visits: two
    queries, whatever the number of subjects. ``every``: the statement reads every
    subject, so every visit is read rather than those of the ids found."""
    subjects = session.execute(statement).all()
    ids = [subject_id for subject_id, *_ in subjects]
    frozen: set[int] = set()
    visits: dict[int, list[PlannedVisit]] = {}
    if ids:
        found = session.execute(
            sa_select(
                col(Visit.id),
                col(Visit.subject_id),
                col(Visit.period),
                col(Visit.planned_date),
                col(Visit.status),
                col(Dispensing.id),
            )
            .outerjoin(Dispensing, col(Dispensing.visit_id) == col(Visit.id))
            .where(true() if every else col(Visit.subject_id).in_(ids))
            .order_by(col(Visit.subject_id), col(Visit.period))
        ).all()
        for visit_id, subject_id, period, planned, status, dispensing_id in found:
            visits.setdefault(subject_id, []).append(
                PlannedVisit(visit_id, period, planned, status)
            )
            if dispensing_id is not None:
                frozen.add(subject_id)
    return tuple(
        SubjectAllocation(
            subject_id,
            code,
            sequence,
            source,
            subject_id in frozen,
            tuple(visits.get(subject_id, ())),
        )
        for subject_id, code, sequence, source in subjects
    )


def _subjects() -> Any:
    return sa_select(
        col(Subject.id), col(Subject.code), col(Allocation.sequence), col(Allocation.source)
    ).outerjoin(Allocation, col(Allocation.subject_id) == col(Subject.id))


def allocation_page(
    session: Session, who: CurrentUser, *, search: str = "", offset: int = 0, limit: int = 50
) -> AllocationPage:
    """Subjects whose code contains ``search`` (case, spaces and dashes ignored, ``%`` and
    ``_`` searched for literally: :func:`~lottrack.kernel.inputs.search_needle`), ``limit``
    of them from ``offset`` by subject code, each with their sequence, frozen flag and
    visits; with how many match, the trial's numbers and the settings the screen offers
    (unblinded pharmacy only).

    A fixed number of queries, whatever the page or the number of subjects."""
    authorize(session, who, Action.VIEW_ALLOCATION)
    check_page(limit, offset, most=MAX_PAGE, noun="rows")
    needle = search_needle(search, max_length=MAX_SEARCH, hint=SEARCH_HINT)
    matches: list[Any] = []
    if needle:
        pattern, scattered = needle_params(needle)
        # Codes are stored in capitals (lottrack.facility.subjects checks them on the way in).
        matches.append(undashed_contains(col(Subject.code), pattern, scattered))
    subjects = _subject_rows(
        session,
        _subjects().where(*matches).order_by(col(Subject.code)).offset(offset).limit(limit),
        every=False,
    )
    frozen_subjects = sa_select(func.count(col(Visit.subject_id).distinct())).join(
        Dispensing, col(Dispensing.visit_id) == col(Visit.id)
    )
    total, subject_count, allocated, frozen = session.execute(
        sa_select(
            sa_select(func.count()).select_from(Subject).where(*matches).scalar_subquery(),
            sa_select(func.count()).select_from(Subject).scalar_subquery(),
            sa_select(func.count()).select_from(Allocation).scalar_subquery(),
            frozen_subjects.scalar_subquery(),
        )
    ).one()
    first_unallocated = session.exec(
        select(Subject.code)
        .where(col(Subject.id).not_in(select(Allocation.subject_id)))
        .order_by(col(Subject.code))
        .limit(GENERATE_PREVIEW)
    ).all()
    return AllocationPage(
        subjects,
        total,
        offset,
        limit,
        subject_count,
        allocated,
        frozen,
        tuple(first_unallocated),
        settings.get_int(session, "randomisation_block_size"),
        settings.get_int(session, "period2_week"),
    )


def allocation_list(session: Session, who: CurrentUser) -> AllocationList:
    """Every subject with their sequence, frozen flag and visits (unblinded pharmacy only;
    the command line prints what it generated from it — the screen reads
    :func:`allocation_page`)."""
    authorize(session, who, Action.VIEW_ALLOCATION)
    rows = _subject_rows(session, _subjects().order_by(col(Subject.code)), every=True)
    return AllocationList(rows)


def unallocated_subject_ids(session: Session, who: CurrentUser) -> list[int]:
    """Ids of the subjects without an allocation, by subject code: the order in which
    :func:`lottrack.trial.allocation.generate` is given them, so that a seed and the
    list of subjects reproduce the allocation."""
    authorize(session, who, Action.MANAGE_ALLOCATION)
    allocated = select(Allocation.subject_id)
    ids = session.exec(
        select(Subject.id).where(col(Subject.id).not_in(allocated)).order_by(col(Subject.code))
    ).all()
    return [i for i in ids if i is not None]
