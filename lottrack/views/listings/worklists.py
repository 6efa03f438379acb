"""The work lists: what the lab does next for each lot in process (and which records a
lot's screen offers for it), and the lots waiting for a QA decision with what stands
between each and release. Each list is read in a fixed number of queries, whatever the
number of lots.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol

from sqlalchemy import ColumnElement, Select, and_, bindparam, case, func, or_, true, union_all
from sqlalchemy import select as sa_select
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from lottrack.kernel.errors import NotFound
from lottrack.manufacturing import deviations, investigations, lots, qc
from lottrack.manufacturing.counts import FINAL_PRODUCT
from lottrack.records.permissions import Action, CurrentUser, authorize
from lottrack.storage.models import (
    CellCount,
    Deviation,
    Investigation,
    Lot,
    Passage,
    Specification,
    Subject,
)
from lottrack.views.listings.choices import LotFormContext
from lottrack.views.listings.pages import open_note

REVIEW_STATES = (lots.AWAITING_RELEASE, lots.QUARANTINED)


@dataclass(frozen=True)
class WorkItem:
    """A lot and the next thing the lab has to do for it."""

    lot_id: int
    lot_number: str
    subject_code: str
    status: str
    due: str
    since: dt.datetime


def _lot_ids(*statuses: str) -> Select[Any]:
    """The ids of the lots in these states, as a subquery for reading their rows at once
    (in place of a long list of ids)."""
    return sa_select(col(Lot.id)).where(col(Lot.status).in_(statuses))


class _Count(NamedTuple):
    counted_at: dt.datetime
    recount_required: bool
    cv_pct: float


def _final_counts(session: Session, lot_ids: Select[Any] | list[int]) -> dict[int, list[_Count]]:
    """The valid final-product counts of the lots (by id, or of a query of ids), latest
    first (by count time, then entry), by lot id: one read."""
    out: dict[int, list[_Count]] = {}
    for lot_id, counted_at, recount_required, cv_pct in session.exec(
        select(CellCount.lot_id, CellCount.counted_at, CellCount.recount_required, CellCount.cv_pct)
        .where(
            col(CellCount.lot_id).in_(lot_ids),
            CellCount.target == FINAL_PRODUCT,
            col(CellCount.voided_reason).is_(None),
        )
        .order_by(col(CellCount.counted_at).desc(), col(CellCount.id).desc())
    ).all():
        out.setdefault(lot_id, []).append(_Count(counted_at, recount_required, cv_pct))
    return out


class NextStep(NamedTuple):
    """What the lab does next for a lot: ``what`` it records (``seed``, ``harvest``,
    ``count``, ``formulate``, ``qc``), the words the screens show, since when it is due."""

    what: str
    text: str
    since: dt.datetime


class _LotKeys(Protocol):
    """What the next step of a lot is worked out from, besides its records: a :class:`Lot`
    or a row of the work list's page."""

    @property
    def id(self) -> int | None: ...
    @property
    def lot_number(self) -> str: ...
    @property
    def spec_id(self) -> int: ...
    @property
    def created_at(self) -> dt.datetime: ...


def _next_steps(
    session: Session, in_process: Sequence[_LotKeys], lot_ids: Select[Any] | list[int]
) -> dict[int, NextStep]:
    """The next step of each lot in process and since when it is due, by lot id, in three
    reads whatever the number of lots: their passages, their final-product counts and
    their specifications (``lot_ids``: their ids, or a query of ids that includes theirs)."""
    if not in_process:
        return {}
    last: dict[int, tuple[int, dt.datetime, dt.datetime | None]] = {}
    for lot_id, number, seeded_at, harvested_at in session.exec(
        select(Passage.lot_id, Passage.number, Passage.seeded_at, Passage.harvested_at)
        .where(col(Passage.lot_id).in_(lot_ids))
        .order_by(col(Passage.number))
    ).all():
        last[lot_id] = (number, seeded_at, harvested_at)  # the highest number stays
    counts = _final_counts(session, lot_ids)
    spec_ids = sorted({lot.spec_id for lot in in_process})
    max_passage = dict(
        session.exec(
            select(Specification.id, Specification.max_passage).where(
                col(Specification.id).in_(spec_ids)
            )
        ).all()
    )
    out: dict[int, NextStep] = {}
    for lot in in_process:
        assert lot.id is not None
        if lot.spec_id not in max_passage:
            raise NotFound(f"Lot {lot.lot_number}: specification id {lot.spec_id} is missing.")
        out[lot.id] = _step(lot, last.get(lot.id), counts.get(lot.id, []), max_passage[lot.spec_id])
    return out


def _step(
    lot: _LotKeys,
    last: tuple[int, dt.datetime, dt.datetime | None] | None,
    counts: list[_Count],
    max_passage: int,
) -> NextStep:
    """The next step of a lot in process from its last passage (number, seeded, harvested)
    and its valid final-product counts, latest first. (:func:`_since_in_sql` says since
    when, in SQL, for ordering the work list: a test holds the two to the same answer.)"""
    if last is None:
        return NextStep("seed", "Seed P0", lot.created_at)
    number, seeded_at, harvested_at = last
    if harvested_at is None:
        return NextStep("harvest", f"Harvest P{number}", seeded_at)
    count = next((c for c in counts if c.counted_at >= harvested_at), None)
    if count is not None and count.recount_required:
        return NextStep(
            "count", f"Recount final product (CV {count.cv_pct:.1f} %)", count.counted_at
        )
    if count is not None:
        return NextStep("formulate", "Formulate", count.counted_at)
    if number < max_passage:
        return NextStep("count", f"Seed P{number + 1} or count final product", harvested_at)
    return NextStep("count", "Count final product", harvested_at)


@dataclass(frozen=True)
class WorkPage:
    """The first lots of the technician's work list, and how many it holds in all."""

    items: tuple[WorkItem, ...]
    total: int


class _WorkRow(NamedTuple):
    id: int
    lot_number: str
    subject_code: str
    status: str
    spec_id: int
    created_at: dt.datetime
    formulated_at: dt.datetime | None
    since: dt.datetime
    total: int


def _since_in_sql(dialect: str) -> tuple[ColumnElement[Any], Any, ColumnElement[bool]]:
    """Since when the next step of the lot ``Lot`` (in process) is due, in SQL, for ordering
    the work list in the database: what :func:`_step` says, from the same records. Since
    its creation without a passage; since its last passage was seeded while that is open;
    once harvested, since the latest valid final-product count made after the harvest,
    else since the harvest. A test holds it to :func:`_step` on lots in every state, on
    both backends.

    Returns the expression, the last passage it reads and the condition to join that
    passage on. On PostgreSQL the last passage is a lateral subquery, read through the
    index of each lot's passages: joined on the highest number, PostgreSQL hashed every
    passage of every lot (18 ms of the technician's list at N = 1000, 6 ms now, #18);
    SQLite has no lateral join, and reads the index for that join."""
    if dialect == "postgresql":
        last: Any = (
            sa_select(col(Passage.id), col(Passage.seeded_at), col(Passage.harvested_at))
            .where(col(Passage.lot_id) == col(Lot.id))
            .order_by(col(Passage.number).desc())
            .limit(1)
            .lateral("last_passage")
        )
        last_id, seeded_at, harvested_at = last.c.id, last.c.seeded_at, last.c.harvested_at
        joined: ColumnElement[bool] = true()
    else:
        last = aliased(Passage, name="last_passage")
        highest = (
            sa_select(func.max(col(Passage.number)))
            .where(col(Passage.lot_id) == col(Lot.id))
            .correlate(Lot)
            .scalar_subquery()
        )
        last_id, seeded_at, harvested_at = col(last.id), col(last.seeded_at), col(last.harvested_at)
        joined = and_(col(last.lot_id) == col(Lot.id), col(last.number) == highest)
    counted = (
        sa_select(func.max(col(CellCount.counted_at)))
        .where(
            col(CellCount.lot_id) == col(Lot.id),
            col(CellCount.target) == FINAL_PRODUCT,
            col(CellCount.voided_reason).is_(None),
            col(CellCount.counted_at) >= harvested_at,
        )
        .correlate(Lot, last)
        .scalar_subquery()
    )
    since = case(
        (last_id.is_(None), col(Lot.created_at)),
        (harvested_at.is_(None), seeded_at),
        else_=func.coalesce(counted, harvested_at),
    )
    return since, last, joined


def _open_investigation_lots() -> Select[Any]:
    """The ids of the lots with an open investigation (no conclusion yet), as a subquery."""
    return sa_select(col(Investigation.lot_id)).where(col(Investigation.conclusion).is_(None))


@functools.cache
def _work_statement(limited: bool, dialect: str) -> Select[Any]:
    """The lots of the work list, longest waiting first (the first ``:limit`` when
    ``limited``), each with since when and how many the list holds: every lot in process,
    and each lot awaiting a decision that lacks a required QC result
    (:func:`qc.lacks_result`) or has an open investigation to retest against. Built once
    for each backend (``dialect``: :func:`_since_in_sql`)."""
    since, last, last_passage = _since_in_sql(dialect)
    columns = (
        col(Lot.id),
        col(Lot.lot_number),
        col(Subject.code),
        col(Lot.status),
        col(Lot.spec_id),
        col(Lot.created_at),
        col(Lot.formulated_at),
    )
    in_process = (
        sa_select(*columns, since.label("since"))
        .join(Subject, col(Subject.id) == col(Lot.subject_id))
        .outerjoin(last, last_passage)
        .where(col(Lot.status) == lots.IN_PROCESS)
    )
    lacking, required, required_of_lot = qc.lacks_result()
    owing = (
        sa_select(*columns, func.coalesce(col(Lot.formulated_at), col(Lot.created_at)))
        .join(Subject, col(Subject.id) == col(Lot.subject_id))
        .outerjoin(required, required_of_lot)
        .where(
            col(Lot.status).in_(REVIEW_STATES),
            or_(col(Lot.id).in_(_open_investigation_lots()), lacking),
        )
    )
    work = union_all(in_process, owing).subquery("work")
    statement = sa_select(*work.c, func.count().over().label("total")).order_by(
        work.c.since, work.c.id
    )
    return statement.limit(bindparam("limit")) if limited else statement


def technician_work(session: Session, who: CurrentUser, *, limit: int | None = None) -> WorkPage:
    """Lots in process with their next step (seed, harvest, recount, count, formulate), and
    formulated or held lots still missing required QC results or with an open
    investigation to retest against; longest waiting first: the first ``limit`` of them
    (all without), and how many there are.

    The database picks and orders the lots and counts them in one statement; the next step
    and what is due are worked out for the listed lots only, in a fixed number of further
    reads whatever the number of lots (their passages, final-product counts and
    specifications; the required QC tests each lacks; open investigations and deviations).
    """
    authorize(session, who, Action.VIEW_BATCH_RECORD)
    statement = _work_statement(limit is not None, session.get_bind().dialect.name)
    values = {} if limit is None else {"limit": limit}
    rows = [_WorkRow(*row) for row in session.execute(statement, values).all()]
    total = rows[0].total if rows else 0
    in_process = [row for row in rows if row.status == lots.IN_PROCESS]
    owing = [row for row in rows if row.status != lots.IN_PROCESS]
    ids: list[int] | Select[Any]
    if limit is None:  # the whole list: its lots by query, not a list of thousands of ids
        steps = _next_steps(session, in_process, _lot_ids(lots.IN_PROCESS))
        owed = qc.missing_of(session, _lot_ids(*REVIEW_STATES))
        ids = _lot_ids(lots.IN_PROCESS, *REVIEW_STATES)
    else:
        steps = _next_steps(session, in_process, [row.id for row in in_process])
        owed = qc.missing_of(session, [row.id for row in owing])
        ids = [row.id for row in rows]
    under_investigation = investigations.standing(session, ids).open_by_lot
    deviating = deviations.open_by_lot(session, ids)
    items: list[WorkItem] = []
    for row in rows:
        inv_open = under_investigation.get(row.id, ())
        if row.status == lots.IN_PROCESS:
            due, since = steps[row.id].text, steps[row.id].since
        else:
            missing = owed.get(row.id, ())
            since = row.formulated_at or row.created_at
            if missing:
                due = (
                    f"QC result missing: {missing[0]}"
                    if len(missing) == 1
                    else f"QC results missing: {len(missing)}"
                )
            else:  # listed for its open investigation: the lab retests against it
                assert inv_open, f"lot {row.lot_number} listed with nothing due"
                due = f"Retest: {inv_open[0][0].upper()}{inv_open[0][1:]}"
                items.append(
                    WorkItem(row.id, row.lot_number, row.subject_code, row.status, due, since)
                )
                continue
        note = open_note(len(inv_open), len(deviating.get(row.id, ())))
        if note:
            due = f"{note.upper()} · {due}"
        items.append(WorkItem(row.id, row.lot_number, row.subject_code, row.status, due, since))
    return WorkPage(tuple(items), total)


def technician_worklist(session: Session, who: CurrentUser) -> list[WorkItem]:
    """The whole of :func:`technician_work`: every lot with something due from the lab,
    longest waiting first."""
    return list(technician_work(session, who).items)


def lot_next_step(
    session: Session,
    who: CurrentUser,
    lot_id: int,
    *,
    readiness: qc.ReleaseReadiness | None = None,
) -> NextStep | None:
    """What the lab does next for the lot (as :func:`technician_worklist` says), or None
    when nothing is due from the lab (``readiness``: the lot's, when the caller read it
    already)."""
    authorize(session, who, Action.VIEW_BATCH_RECORD)
    lot = lots.get_lot(session, lot_id)
    if lot.status == lots.IN_PROCESS:
        return _next_steps(session, [lot], [lot_id])[lot_id]
    if lot.status in REVIEW_STATES:
        missing = (qc.readiness(session, lot) if readiness is None else readiness).missing
        if missing:
            return NextStep(
                "qc",
                f"QC results missing: {', '.join(missing)}",
                lot.formulated_at or lot.created_at,
            )
    return None


def next_step(session: Session, who: CurrentUser, lot_id: int) -> str | None:
    """The words of :func:`lot_next_step` (None when nothing is due from the lab)."""
    step = lot_next_step(session, who, lot_id)
    return step.text if step is not None else None


def recordable(context: LotFormContext, step: NextStep | None) -> frozenset[str]:
    """What the lab may record on the lot now (``seed``, ``harvest``, ``count``, ``qc``,
    ``formulate``), from its form context and its next step: the screens offer these
    and no others. The services check the same rules again when a record is saved."""
    out: set[str] = set()
    if context.status in qc.QC_OPEN:
        out.add("qc")
    if context.status != lots.IN_PROCESS:
        return frozenset(out)
    if context.open_passage is None and context.next_passage <= context.max_passage:
        out.add("seed")
    if context.open_passage is not None:
        out.add("harvest")
    if context.passages and context.passages[-1].harvested_at is not None:
        out.add("count")
    if step is not None and step.what == "formulate":
        out.add("formulate")
    return frozenset(out)


@dataclass(frozen=True)
class ReviewItem:
    """A lot waiting for a QA decision, and what stands between it and release."""

    lot_id: int
    lot_number: str
    subject_code: str
    status: str
    formulated_at: dt.datetime | None
    missing: tuple[str, ...]
    out_of_spec: tuple[str, ...]
    recount_pending: bool
    open_records: tuple[str, ...] = ()
    """Open investigations and deviations, in words (each blocks release)."""

    @property
    def flag(self) -> str:
        """``OUT OF SPEC`` (and how many results are missing), ``n result(s) missing``,
        ``recount pending`` or ``ready``; an open investigation or deviation is named
        first (the lot is never ``ready`` while one is open)."""
        opened = sorted({r.split(" #")[0] for r in self.open_records})
        head = f"{' and '.join(opened).upper()} OPEN" if opened else ""
        if self.out_of_spec:
            flag = "OUT OF SPEC" + (f", {len(self.missing)} missing" if self.missing else "")
        elif self.missing:
            flag = f"{len(self.missing)} result(s) missing"
        elif self.recount_pending:
            flag = "recount pending"
        else:
            return head or "ready"
        return f"{head}, {flag}" if head else flag


def _with_open_records() -> Select[Any]:
    """The ids of the lots in process with an open investigation or deviation (QA closes
    them), as a subquery."""
    return sa_select(col(Lot.id)).where(
        col(Lot.status) == lots.IN_PROCESS,
        or_(
            col(Lot.id).in_(_open_investigation_lots()),
            col(Lot.id).in_(
                sa_select(col(Deviation.lot_id)).where(col(Deviation.closed_at).is_(None))
            ),
        ),
    )


def _in_review_queue() -> Any:
    """Which lots QA's queue holds: awaiting release or quarantined, or in process with an
    open investigation or deviation."""
    return or_(col(Lot.status).in_(REVIEW_STATES), col(Lot.id).in_(_with_open_records()))


def review_queue(
    session: Session, who: CurrentUser, *, limit: int | None = None
) -> list[ReviewItem]:
    """Lots awaiting release or quarantined, oldest formulation first, each with its
    missing and out-of-specification results and whether its final product awaits a
    recount; then lots still in process with an open investigation or deviation for QA to
    close (named, nothing else judged yet). Read in a fixed number of queries whatever the
    number of lots; with a ``limit``, the first ``limit`` lots only, and what is read for
    them does not grow with the queue (:func:`review_queue_page` says how many it holds)."""
    return review_queue_page(session, who, limit=limit)[0]


def review_queue_page(
    session: Session, who: CurrentUser, *, limit: int | None = None
) -> tuple[list[ReviewItem], int]:
    """:func:`review_queue` (its first ``limit`` lots), and how many lots the queue holds
    in all (with a ``limit``, counted by a statement of its own, whatever the page holds:
    a window count on the page's statement joined every lot of the queue, slower)."""
    authorize(session, who, Action.VIEW_BATCH_RECORD)
    statement = (
        select(Lot, Subject.code)
        .join(Subject, col(Subject.id) == col(Lot.subject_id))
        .where(_in_review_queue())
        .order_by(col(Lot.formulated_at).is_(None), col(Lot.formulated_at), col(Lot.id))
    )
    if limit is not None:
        statement = statement.limit(limit)
    rows = session.exec(statement).all()
    total = len(rows)
    if limit is not None:
        total = int(
            session.exec(select(func.count()).select_from(Lot).where(_in_review_queue())).one()
        )
    queued: Select[Any] | list[int] = sa_select(col(Lot.id)).where(_in_review_queue())
    lot_ids: Select[Any] | list[int] = _lot_ids(*REVIEW_STATES)
    if limit is not None:  # the page's lots by id: reads as long as the page
        queued = [lot.id for lot, _ in rows if lot.id]
        lot_ids = [lot.id for lot, _ in rows if lot.id and lot.status in REVIEW_STATES]
    # Investigations and deviations once for every lot listed: those in process are
    # named by them, the others judged with them too.
    standing = investigations.standing(session, queued)
    deviating = deviations.open_by_lot(session, queued)
    ready = qc.readiness_of(
        session,
        [lot for lot, _ in rows if lot.status in REVIEW_STATES],
        lot_ids=lot_ids,
        open_records=(standing, deviating),
    )
    counts = _final_counts(session, lot_ids) if rows else {}
    under_investigation = standing.open_by_lot
    out = []
    for lot, code in rows:
        assert lot.id is not None
        if lot.status not in REVIEW_STATES:
            out.append(
                ReviewItem(
                    lot.id,
                    lot.lot_number,
                    code,
                    lot.status,
                    None,
                    (),
                    (),
                    False,
                    under_investigation.get(lot.id, ()) + deviating.get(lot.id, ()),
                )
            )
            continue
        latest = counts.get(lot.id)
        out.append(
            ReviewItem(
                lot.id,
                lot.lot_number,
                code,
                lot.status,
                lot.formulated_at,
                ready[lot.id].missing,
                ready[lot.id].out_of_spec,
                bool(latest and latest[0].recount_required),
                ready[lot.id].open_records,
            )
        )
    return out, total
