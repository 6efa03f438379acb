"""What the blinded ward and the investigators read (design §7): patients and visits built
on :func:`lottrack.trial.ward.ward_visit`, identical for MSC and placebo visits apart from
identifiers and times, in an order that never depends on the arm — the home's first
patients (:func:`ward_patients`) and every patient, searched and paged in SQL
(:func:`ward_line_page`); and the subjects an investigator may unblind.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, or_
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from lottrack.kernel.errors import NotFound
from lottrack.kernel.inputs import (
    check_page,
    clean_text,
    search_needle,
)
from lottrack.records.permissions import Action, CurrentUser, authorize
from lottrack.storage.models import (
    Subject,
    Visit,
    utcnow,
)
from lottrack.storage.search import needle_params, undashed_contains
from lottrack.trial import ward
from lottrack.trial.listings.common import WeightInfo, current_weight, document_copies, visit_row

# -------------------------------------------------------------------- ward (blinded)


WARD_STATES = (
    "waiting for the pharmacy",
    "awaiting second verification",
    "ready for bedside check",
    "identity checked",
    "infusing",
    "infused",
)
"""Every state the ward sees; the same words for both arms."""
NO_VISIT = "no visit scheduled"
"""The state of a patient's line while the pharmacy has scheduled no visit."""
MAX_PAGE = 500
"""Most lines :func:`ward_line_page` returns at once."""
MAX_SEARCH = 32
"""Longest search, spaces and dashes not counted: a subject code has fewer characters."""
SEARCH_HINT = "a subject code is no longer"
"""Why a longer search is refused (said in the refusal; the same for every patient)."""


def ward_state(view: ward.WardVisit) -> str:
    """The one-line state of a visit on the ward (never depends on the arm)."""
    if view.kit_code is None:
        return WARD_STATES[0]
    if view.verified_at is None:
        return WARD_STATES[1]
    if view.infusion_id is None:
        return WARD_STATES[2]
    if view.started_at is None:
        return WARD_STATES[3]
    if view.ended_at is None:
        return WARD_STATES[4]
    return WARD_STATES[5]


@dataclass(frozen=True)
class WardRow:
    """One line of the ward's list: a visit, or a patient without visits."""

    subject_code: str
    initials: str
    visit_id: int | None
    period: int | None
    planned_date: dt.date | None
    state: str
    unblinded: bool
    subject_id: int = 0
    """The subject (a weight is recorded for it, with or without a visit)."""


@dataclass(frozen=True)
class WardPage:
    """A page of patients (by subject code) with their visits."""

    rows: tuple[WardRow, ...]
    total_patients: int
    offset: int
    limit: int


def _row(
    subject_id: int, code: str, initials: str, flagged: bool, view: ward.WardVisit | None
) -> WardRow:
    """The line of one visit (``view``), or of a patient without a visit."""
    if view is None:
        return WardRow(code, initials, None, None, None, NO_VISIT, flagged, subject_id)
    return WardRow(
        code,
        initials,
        view.visit_id,
        view.period,
        view.planned_date,
        ward_state(view),
        flagged,
        subject_id,
    )


def ward_patients(
    session: Session, who: CurrentUser, *, offset: int = 0, limit: int = 50
) -> WardPage:
    """Patients and their visits for blinded staff, by subject code then period."""
    authorize(session, who, Action.RECORD_INFUSION)
    total = session.exec(select(func.count()).select_from(Subject)).one()
    subjects = session.exec(
        select(Subject).order_by(col(Subject.code)).offset(max(offset, 0)).limit(max(limit, 1))
    ).all()
    visits: dict[str, list[ward.WardVisit]] = {}  # by subject code (unique)
    for view in ward.ward_visits(
        session, who, subject_ids=[s.id for s in subjects if s.id is not None]
    ):
        visits.setdefault(view.subject_code, []).append(view)
    rows: list[WardRow] = []
    for subject in subjects:
        views = sorted(visits.get(subject.code, []), key=lambda v: v.period)
        flagged = subject.unblinded_at is not None
        if not views:
            rows.append(_row(subject.id or 0, subject.code, subject.initials, flagged, None))
        for view in views:
            rows.append(_row(subject.id or 0, subject.code, subject.initials, flagged, view))
    return WardPage(tuple(rows), int(total), offset, limit)


@dataclass(frozen=True)
class WardLinePage:
    """One page of the ward's lines — a visit, or a patient without one — by subject code
    then period, and how many lines and patients match in all."""

    rows: tuple[WardRow, ...]
    total: int
    """Lines that match: each visit of a matching patient, and one line for each
    matching patient without a visit."""
    patients: int
    """Patients that match."""
    offset: int
    limit: int


def ward_line_page(
    session: Session, who: CurrentUser, *, search: str = "", offset: int = 0, limit: int = 50
) -> WardLinePage:
    """Every patient whose subject code or initials contain ``search`` (case, spaces and
    dashes ignored, ``%`` and ``_`` searched for literally:
    :func:`~lottrack.kernel.inputs.search_needle`), one line per visit and one for a
    patient without a visit: ``limit`` lines from ``offset``, by subject code then period,
    with how many lines and patients match (blinded staff: the ward).

    Nothing that depends on the arm is read, ordered by or filtered on: a page is the
    same for MSC and placebo patients apart from identifiers and times. A fixed number
    of statements, whatever the page or the number of patients."""
    authorize(session, who, Action.RECORD_INFUSION)
    check_page(limit, offset, most=MAX_PAGE, noun="lines")
    needle = search_needle(search, max_length=MAX_SEARCH, hint=SEARCH_HINT)
    matches: list[Any] = []
    if needle:
        # Codes and initials are stored in capitals (lottrack.facility.subjects checks
        # them on the way in).
        pattern, scattered = needle_params(needle)
        matches.append(
            or_(
                undashed_contains(col(Subject.code), pattern, scattered),
                col(Subject.initials).like(pattern, escape="\\"),  # letters only
            )
        )
    with_visits = col(Visit.subject_id) == col(Subject.id)
    lines = session.execute(
        sa_select(
            col(Subject.id),
            col(Subject.code),
            col(Subject.initials),
            col(Subject.unblinded_at),
            col(Visit.id),
        )
        .outerjoin(Visit, with_visits)
        .where(*matches)
        .order_by(col(Subject.code), col(Visit.period))
        .offset(offset)
        .limit(limit)
    ).all()
    total, patients = session.execute(
        sa_select(func.count(), func.count(col(Subject.id).distinct()))
        .select_from(Subject)
        .outerjoin(Visit, with_visits)
        .where(*matches)
    ).one()
    visit_ids = [visit_id for *_, visit_id in lines if visit_id is not None]
    views = (
        {v.visit_id: v for v in ward.ward_visits(session, who, visit_ids=visit_ids)}
        if visit_ids
        else {}
    )
    rows = tuple(
        _row(
            subject_id,
            code,
            initials,
            unblinded_at is not None,
            None if visit_id is None else views[visit_id],
        )
        for subject_id, code, initials, unblinded_at, visit_id in lines
    )
    return WardLinePage(rows, int(total), int(patients), offset, limit)


@dataclass(frozen=True)
class WardVisitDetail:
    """One visit at the bedside: the blinded view, the state and the current weight."""

    visit: ward.WardVisit
    subject_id: int
    state: str
    weight: WeightInfo | None
    certificate_copies: int
    """How often the infusion certificate was issued (a further issue is a reprint)."""
    stop: str | None = None
    """Why the bag must not be infused now (past its use-by, its lot no longer released),
    while the bedside check or the start is next; the same words for both arms."""


def ward_visit_detail(session: Session, who: CurrentUser, visit_id: int) -> WardVisitDetail:
    """The ward screen of one visit (blinded; identical for both arms)."""
    view = ward.ward_visit(session, who, visit_id)
    subject_id = visit_row(session, visit_id).subject_id
    copies = (
        document_copies(session, "infusion", "infusion", view.infusion_id)
        if view.infusion_id is not None
        else 0
    )
    state = ward_state(view)
    now = utcnow()
    stop = ward.bag_stop(session, visit_id, now) if state in WARD_STATES[2:4] else None
    return WardVisitDetail(
        view, subject_id, state, current_weight(session, subject_id, now), copies, stop
    )


# ------------------------------------------------------------------- investigators


@dataclass(frozen=True)
class SubjectRef:
    """A subject as the unblinding screen names it."""

    subject_id: int
    code: str
    date_of_birth: dt.date
    unblinded_at: dt.datetime | None


def subject_for_unblinding(session: Session, who: CurrentUser, code: str) -> SubjectRef:
    """Find a subject by code for an emergency unblinding (investigators only); a code
    with control or invisible characters, or longer than any, is refused as such."""
    authorize(session, who, Action.UNBLIND)
    text = clean_text(code, "Subject code", max_length=MAX_SEARCH).upper()
    subject = session.exec(select(Subject).where(Subject.code == text)).first()
    if subject is None or subject.id is None:
        raise NotFound(f'No subject with code "{text}".')
    return SubjectRef(subject.id, subject.code, subject.date_of_birth, subject.unblinded_at)


def unblinded_subjects(session: Session, who: CurrentUser) -> list[SubjectRef]:
    """Subjects flagged as unblinded, in the order they were unblinded (no allocation)."""
    authorize(session, who, Action.UNBLIND)
    rows = session.exec(
        select(Subject)
        .where(col(Subject.unblinded_at).is_not(None))
        .order_by(col(Subject.unblinded_at))
    ).all()
    return [SubjectRef(s.id or 0, s.code, s.date_of_birth, s.unblinded_at) for s in rows]
