"""Pages of lots (searched, filtered, sorted, paged in SQL) and the work lists of the
lab and of QA.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from sqlalchemy import Select, String, bindparam, func, or_
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from lottrack.kernel.errors import NotFound, ValidationError
from lottrack.kernel.inputs import like_pattern
from lottrack.kernel.isbt128 import parse_din
from lottrack.manufacturing import deviations, investigations, lots, qc
from lottrack.manufacturing.counts import FINAL_PRODUCT
from lottrack.records.permissions import Action, CurrentUser, authorize, authorize_read
from lottrack.storage import fastsql
from lottrack.storage.db import Database
from lottrack.storage.fastsql import DriverReader
from lottrack.storage.models import (
    CellCount,
    Deviation,
    Harvest,
    Investigation,
    Lot,
    Passage,
    Specification,
    Subject,
)
from lottrack.views.listings.choices import LotFormContext

MAX_PAGE = 500
MAX_SEARCH = 64
SORTS: dict[str, tuple[Any, ...]] = {
    "newest": (col(Lot.created_at).desc(), col(Lot.id).desc()),
    "oldest": (col(Lot.created_at), col(Lot.id)),
    "lot": (col(Lot.lot_number),),
    "subject": (col(Subject.code), col(Lot.created_at).desc(), col(Lot.id).desc()),
    "status": (col(Lot.status), col(Lot.created_at).desc(), col(Lot.id).desc()),
}
"""Orders :func:`lot_page` offers, by name (newest first is the default)."""
REVIEW_STATES = (lots.AWAITING_RELEASE, lots.QUARANTINED)


# ------------------------------------------------------------------------ lot pages


class LotRow(NamedTuple):
    """One line of the lot list (a named tuple: a page of them is made per key press)."""

    id: int
    lot_number: str
    din: str
    subject_code: str
    status: str
    created_at: dt.datetime
    formulated_at: dt.datetime | None
    open_investigations: int = 0
    """OOS investigations of the lot not yet closed by QA (each blocks release)."""
    open_deviations: int = 0
    """Deviations of the lot not yet closed by QA (each blocks a normal release)."""

    @property
    def open_note(self) -> str:
        """``investigation open``, ``2 deviations open``, … or empty (design §6.6–§6.7)."""
        return open_note(self.open_investigations, self.open_deviations)


def open_note(investigation_count: int, deviation_count: int) -> str:
    """How many investigations and deviations of a lot are open, in words, or empty."""
    parts = [
        f"{n if n > 1 else ''} {what}{'s' if n > 1 else ''}".strip()
        for n, what in ((investigation_count, "investigation"), (deviation_count, "deviation"))
        if n
    ]
    return f"{' and '.join(parts)} open" if parts else ""


@dataclass(frozen=True)
class LotPage:
    """One page of lots and how many match in all."""

    rows: list[LotRow]
    total: int
    offset: int
    limit: int


@functools.lru_cache(maxsize=256)  # a scanned DIN is looked up again and again
def _whole_din(search: str, needle: str) -> str | None:
    """The DIN when the search is a whole one: typed, printed (with its check character)
    or scanned (barcode data); else None."""
    if not (needle.startswith("=") or len(needle) in (13, 14)):
        return None
    try:
        return parse_din(search).code
    except ValidationError:
        return None  # not a DIN after all: search for the text as typed


def lot_page(
    db: Database,
    who: CurrentUser,
    *,
    search: str = "",
    status: str | None = None,
    offset: int = 0,
    limit: int = 50,
    sort: str = "newest",
) -> LotPage:
    """Lots whose lot number, DIN or subject code contains ``search`` (case and spaces
    ignored; a scanned DIN barcode or a DIN with its check character is read as the DIN),
    optionally only those in ``status``; ``limit`` rows from ``offset`` in the
    order ``sort`` (a key of :data:`SORTS`), with the total that match.

    The list is read again on every key press, so it is read on the bare driver in a read
    transaction of its own (:mod:`lottrack.storage.fastsql`), authorisation included."""
    if status is not None and status not in lots.STATUSES:
        raise ValidationError(
            f'Status: "{str(status)[:40]}" is not a lot status; expected '
            f"one of {', '.join(lots.STATUSES)}.",
            field="Status",
        )
    if sort not in SORTS:
        raise ValidationError(
            f'Sort: "{str(sort)[:40]}" is not an order; expected one of {", ".join(SORTS)}.',
            field="Sort",
        )
    if not 1 <= limit <= MAX_PAGE or offset < 0:
        raise ValidationError(
            f"Page: {limit} rows from {offset} is not a page; expected 1 "
            f"to {MAX_PAGE} rows from 0 or more.",
            field="Page",
        )
    needle = "".join(str(search).split()).upper()
    if len(needle) > MAX_SEARCH:
        raise ValidationError(f"Search: at most {MAX_SEARCH} characters.", field="Search")
    din = _whole_din(str(search), needle)
    match = "din" if din is not None else "text" if needle else ""
    values: dict[str, Any] = {
        "status": status,
        "offset": offset,
        "limit": limit,
        "din": din,
        "pattern": like_pattern(needle),
    }
    shape = (status is not None, match)

    def read(reader: DriverReader) -> LotPage:
        authorize_read(reader, who, Action.VIEW_BATCH_RECORD)
        page = _STATEMENTS.get(
            reader.dialect, ("page", *shape, sort), lambda: _page_statement(*shape, sort)
        )
        count = _STATEMENTS.get(reader.dialect, ("count", *shape), lambda: _count_statement(*shape))
        rows = reader.rows(page, values)
        total = int(reader.rows(count, values)[0][0])
        return LotPage(list(map(LotRow._make, rows)), total, offset, limit)

    return db.driver_read(read)


_STATEMENTS = fastsql.Statements()


def _conditions(by_status: bool, match: str) -> list[Any]:
    conditions: list[Any] = []
    if by_status:
        conditions.append(col(Lot.status) == bindparam("status"))
    if match == "din":  # one lot, found through the unique index on harvest.din
        conditions.append(col(Harvest.din) == bindparam("din"))
    elif match == "text":
        pattern = bindparam("pattern", type_=String())
        conditions.append(
            or_(
                col(Lot.lot_number).like(pattern, escape="\\"),
                col(Harvest.din).like(pattern, escape="\\"),
                col(Subject.code).like(pattern, escape="\\"),
            )
        )
    return conditions


def _page_statement(by_status: bool, match: str, sort: str) -> fastsql.AnySelect:
    open_investigations = (
        sa_select(func.count())
        .select_from(Investigation)
        .where(col(Investigation.lot_id) == col(Lot.id), col(Investigation.conclusion).is_(None))
        .scalar_subquery()
    )
    open_deviations = (
        sa_select(func.count())
        .select_from(Deviation)
        .where(col(Deviation.lot_id) == col(Lot.id), col(Deviation.closed_at).is_(None))
        .scalar_subquery()
    )
    return (
        sa_select(
            col(Lot.id),
            col(Lot.lot_number),
            col(Harvest.din),
            col(Subject.code),
            col(Lot.status),
            col(Lot.created_at),
            col(Lot.formulated_at),
            open_investigations,
            open_deviations,
        )
        .join(Harvest, col(Harvest.id) == col(Lot.harvest_id))
        .join(Subject, col(Subject.id) == col(Lot.subject_id))
        .where(*_conditions(by_status, match))
        .order_by(*SORTS[sort])
        .offset(bindparam("offset"))
        .limit(bindparam("limit"))
    )


def _count_statement(by_status: bool, match: str) -> fastsql.AnySelect:
    counted = sa_select(func.count()).select_from(Lot)
    if match:
        counted = counted.join(Harvest, col(Harvest.id) == col(Lot.harvest_id)).join(
            Subject, col(Subject.id) == col(Lot.subject_id)
        )
    return counted.where(*_conditions(by_status, match))


# ------------------------------------------------------------------------ work lists


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


def _next_steps(
    session: Session, in_process: Sequence[Lot], lot_ids: Select[Any] | list[int]
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
    lot: Lot,
    last: tuple[int, dt.datetime, dt.datetime | None] | None,
    counts: list[_Count],
    max_passage: int,
) -> NextStep:
    """The next step of a lot in process from its last passage (number, seeded, harvested)
    and its valid final-product counts, latest first."""
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


def technician_worklist(session: Session, who: CurrentUser) -> list[WorkItem]:
    """Lots in process with their next step (seed, harvest, recount, count, formulate), and
    formulated or held lots still missing required QC results; longest waiting first.

    Read in a fixed number of queries whatever the number of lots (the lots; their
    passages, final-product counts and specifications; their QC tests and results)."""
    authorize(session, who, Action.VIEW_BATCH_RECORD)
    rows = session.exec(
        select(Lot, Subject.code)
        .join(Subject, col(Subject.id) == col(Lot.subject_id))
        .where(col(Lot.status).in_((lots.IN_PROCESS, *REVIEW_STATES)))
    ).all()
    steps = _next_steps(
        session,
        [lot for lot, _ in rows if lot.status == lots.IN_PROCESS],
        _lot_ids(lots.IN_PROCESS),
    )
    ready = qc.readiness_of(
        session,
        [lot for lot, _ in rows if lot.status in REVIEW_STATES],
        lot_ids=_lot_ids(*REVIEW_STATES),
    )
    among = _lot_ids(lots.IN_PROCESS, *REVIEW_STATES)
    under_investigation = investigations.standing(session, among).open_by_lot
    deviating = deviations.open_by_lot(session, among)
    items: list[WorkItem] = []
    for lot, code in rows:
        assert lot.id is not None
        inv_open = under_investigation.get(lot.id, ())
        if lot.status == lots.IN_PROCESS:
            due, since = steps[lot.id].text, steps[lot.id].since
        else:
            missing = ready[lot.id].missing
            since = lot.formulated_at or lot.created_at
            if missing:
                due = (
                    f"QC result missing: {missing[0]}"
                    if len(missing) == 1
                    else f"QC results missing: {len(missing)}"
                )
            elif inv_open:  # the lab retests against it
                due = f"Retest: {inv_open[0][0].upper()}{inv_open[0][1:]}"
                items.append(WorkItem(lot.id, lot.lot_number, code, lot.status, due, since))
                continue
            else:
                continue
        note = open_note(len(inv_open), len(deviating.get(lot.id, ())))
        if note:
            due = f"{note.upper()} · {due}"
        items.append(WorkItem(lot.id, lot.lot_number, code, lot.status, due, since))
    return sorted(items, key=lambda item: (item.since, item.lot_id))


def lot_next_step(session: Session, who: CurrentUser, lot_id: int) -> NextStep | None:
    """What the lab does next for the lot (as :func:`technician_worklist` says), or None
    when nothing is due from the lab."""
    authorize(session, who, Action.VIEW_BATCH_RECORD)
    lot = lots.get_lot(session, lot_id)
    if lot.status == lots.IN_PROCESS:
        return _next_steps(session, [lot], [lot_id])[lot_id]
    if lot.status in REVIEW_STATES:
        missing = qc.readiness(session, lot).missing
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
            col(Lot.id).in_(
                sa_select(col(Investigation.lot_id)).where(col(Investigation.conclusion).is_(None))
            ),
            col(Lot.id).in_(
                sa_select(col(Deviation.lot_id)).where(col(Deviation.closed_at).is_(None))
            ),
        ),
    )


def review_queue(session: Session, who: CurrentUser) -> list[ReviewItem]:
    """Lots awaiting release or quarantined, oldest formulation first, each with its
    missing and out-of-specification results and whether its final product awaits a
    recount; then lots still in process with an open investigation or deviation for QA to
    close (named, nothing else judged yet). Read in a fixed number of queries whatever the
    number of lots."""
    authorize(session, who, Action.VIEW_BATCH_RECORD)
    growing = _with_open_records()
    rows = session.exec(
        select(Lot, Subject.code)
        .join(Subject, col(Subject.id) == col(Lot.subject_id))
        .where(or_(col(Lot.status).in_(REVIEW_STATES), col(Lot.id).in_(growing)))
        .order_by(col(Lot.formulated_at).is_(None), col(Lot.formulated_at), col(Lot.id))
    ).all()
    lot_ids = _lot_ids(*REVIEW_STATES)
    ready = qc.readiness_of(
        session, [lot for lot, _ in rows if lot.status in REVIEW_STATES], lot_ids=lot_ids
    )
    counts = _final_counts(session, lot_ids) if rows else {}
    under_investigation = investigations.standing(session, growing).open_by_lot
    deviating = deviations.open_by_lot(session, growing)
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
    return out
