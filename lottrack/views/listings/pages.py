"""Pages of lots: the lot list searched, filtered, sorted and paged in SQL (the work lists
of the lab and of QA are in :mod:`lottrack.views.listings.worklists`).
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from typing import Any, NamedTuple

from sqlalchemy import String, bindparam, func, or_
from sqlalchemy import select as sa_select
from sqlmodel import col

from lottrack.kernel.errors import ValidationError
from lottrack.kernel.inputs import like_pattern, like_scattered, search_needle
from lottrack.kernel.isbt128 import parse_din
from lottrack.manufacturing import lots
from lottrack.records.permissions import Action, CurrentUser, authorize_read
from lottrack.storage import fastsql
from lottrack.storage.db import Database
from lottrack.storage.fastsql import DriverReader
from lottrack.storage.models import (
    Deviation,
    Harvest,
    Investigation,
    Lot,
    Subject,
)
from lottrack.storage.search import undashed_contains

MAX_PAGE = 500
MAX_SEARCH = 64
"""Longest search, spaces and dashes not counted."""
SORTS: dict[str, tuple[Any, ...]] = {
    "newest": (col(Lot.created_at).desc(), col(Lot.id).desc()),
    "oldest": (col(Lot.created_at), col(Lot.id)),
    "lot": (col(Lot.lot_number),),
    "subject": (col(Subject.code), col(Lot.created_at).desc(), col(Lot.id).desc()),
    "status": (col(Lot.status), col(Lot.created_at).desc(), col(Lot.id).desc()),
}
"""Orders :func:`lot_page` offers, by name (newest first is the default)."""


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
def _whole_din(search: str) -> str | None:
    """The DIN when the search is a whole one: typed, printed (with its check character)
    or scanned (barcode data); else None. (Dashes count here: ``L-`` and a DIN is a lot
    number, not a DIN with a check character.)"""
    compact = "".join(search.split())
    if not (compact.startswith("=") or len(compact) in (13, 14)):
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
    """Lots whose lot number, DIN or subject code contains ``search`` (case, spaces and
    dashes ignored, ``%`` and ``_`` searched for literally: :func:`search_needle`; a
    scanned DIN barcode or a DIN with its check character is read as the DIN),
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
    needle = search_needle(search, max_length=MAX_SEARCH)
    din = _whole_din(search) if needle else None
    match = "din" if din is not None else "text" if needle else ""
    values: dict[str, Any] = {
        "status": status,
        "offset": offset,
        "limit": limit,
        "din": din,
        "pattern": like_pattern(needle),
        "scattered": like_scattered(needle),
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
        scattered = bindparam("scattered", type_=String())
        conditions.append(
            or_(
                undashed_contains(col(Lot.lot_number), pattern, scattered),
                col(Harvest.din).like(pattern, escape="\\"),  # a DIN has no dashes
                undashed_contains(col(Subject.code), pattern, scattered),
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
