"""The whole audit trail as people search it: events by record, person, action and date,
newest first, each record named in words (:mod:`lottrack.views.listings.record_names`).

Blinding (design §7): QA and administrators read the trail but are blinded. For them the
values of the records that carry the arm (allocations, bags, dispensings and their
checks, unblindings), which of their fields changed, and the reasons of refused
dispensings are replaced by :data:`BLINDED`; the event itself (who, when, what kind of
record) stays listed, except what the pharmacy recorded of bags and their moves
(:data:`PHARMACY_BAG_RECORDS`): there the arm shows in the events themselves.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from typing import Any

from sqlmodel import Session, col, func, select

from lottrack.kernel.inputs import clean_text
from lottrack.manufacturing import thaws
from lottrack.records.permissions import Action, CurrentUser, allowed, authorize
from lottrack.storage.audit_hash import stored_changes
from lottrack.storage.models import AuditEvent, Lot, Subject
from lottrack.views.listings.record_names import (
    record_names,
    reference_keys,
    with_references_named,
)

BLINDED = "(blinded)"
ARM_RECORDS = frozenset(
    {"allocation", "product_unit", "dispensing", "dispensing_check", "unblinding"}
)
"""Tables whose values can tell the arm."""
PHARMACY_BAG_RECORDS = frozenset({"product_unit", "custody_event"})
"""Tables whose events recorded by an unblinded person blinded readers do not see at all:
around a visit's dispensing the pharmacy inserts a placebo bag, or takes the subject's
MSC bag out of the store, thaws it and marks it dispensed; which of these happened, not
only their values, would tell the arm (:mod:`lottrack.manufacturing.thaws`)."""
MAX_FILTER = 100
"""Longest text of a filter (a record's name is shorter)."""
SCAN_BATCH = 2000
MAX_SCANNED = 100_000
"""A search by record name reads the newest events in batches, at most this many."""


@dataclass(frozen=True)
class AuditQuery:
    """What to look for; empty fields match everything."""

    record: str = ""
    """Part of the record's name, any case: ``P3``, ``L-A9999``, ``TLS-003``, ``Bag``; a
    subject's code finds its lots' records too."""
    person: str = ""
    """Part of the username."""
    action: str = ""
    """Part of the action: ``update``, ``void``, ``login``, ``refused`` …"""
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    """Events at or after ``since`` and before ``until`` (aware datetimes)."""


@dataclass(frozen=True)
class AuditLogRow:
    """One audit event as the audit screen lists it."""

    seq: int
    at: dt.datetime
    username: str
    action: str
    record: str
    reason: str
    changes: dict[str, list[Any]]


@dataclass(frozen=True)
class AuditLogPage:
    """The newest matching events (at most ``limit``) and whether there are more."""

    rows: tuple[AuditLogRow, ...]
    more: bool


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped.casefold()}%"


def audit_log(
    session: Session,
    who: CurrentUser,
    query: AuditQuery,
    *,
    limit: int = 200,
    before_seq: int | None = None,
) -> AuditLogPage:
    """The newest events matching ``query`` (older than ``before_seq`` to page on). Its
    texts are refused, with what is wrong, when they hold control or invisible
    characters or are longer than any name: the same answer on every database (a NUL
    made PostgreSQL raise)."""
    query = replace(
        query,
        record=clean_text(query.record, "Record", max_length=MAX_FILTER, required=False),
        person=clean_text(query.person, "Person", max_length=MAX_FILTER, required=False),
        action=clean_text(query.action, "Action", max_length=MAX_FILTER, required=False),
    )
    authorize(session, who, Action.VIEW_AUDIT)
    unblinded = allowed(who.roles, Action.VIEW_ALLOCATION)
    stmt = select(AuditEvent).order_by(col(AuditEvent.seq).desc())
    if query.person.strip():
        stmt = stmt.where(
            func.lower(AuditEvent.username).like(_like(query.person.strip()), escape="\\")
        )
    if query.action.strip():
        stmt = stmt.where(
            func.lower(AuditEvent.action).like(_like(query.action.strip()), escape="\\")
        )
    if query.since is not None:
        stmt = stmt.where(col(AuditEvent.at) >= query.since)
    if query.until is not None:
        stmt = stmt.where(col(AuditEvent.at) < query.until)
    if before_seq is not None:
        stmt = stmt.where(col(AuditEvent.seq) < before_seq)
    wanted = query.record.strip().casefold()
    lots_of_subject = _lots_of_subjects(session, wanted) if wanted else ()
    pharmacy = set() if unblinded else thaws.unblinded_people(session)
    rows: list[tuple[str, AuditLogRow]] = []
    scanned = 0
    batch = limit + 1 if not wanted else SCAN_BATCH
    last_seq = None
    while len(rows) <= limit and scanned < MAX_SCANNED:
        page_stmt = stmt if last_seq is None else stmt.where(col(AuditEvent.seq) < last_seq)
        events = session.exec(page_stmt.limit(batch)).all()
        if not events:
            break
        scanned += len(events)
        last_seq = events[-1].seq
        names = record_names(
            session, ((e.entity, e.entity_id) for e in events), blinded=not unblinded
        )
        for e in events:
            if e.entity in PHARMACY_BAG_RECORDS and e.user_id in pharmacy:
                continue
            name = names[(e.entity, e.entity_id)]
            folded = name.casefold()
            if wanted and wanted not in folded and not any(n in folded for n in lots_of_subject):
                continue
            rows.append((e.entity, _row(e, name, unblinded)))
            if len(rows) > limit:
                break
        if len(events) < batch:
            break
    kept = rows[:limit]
    names = record_names(
        session, reference_keys((e, r.changes) for e, r in kept), blinded=not unblinded
    )
    return AuditLogPage(
        tuple(replace(r, changes=with_references_named(e, r.changes, names)) for e, r in kept),
        len(rows) > limit,
    )


def _lots_of_subjects(session: Session, wanted: str) -> tuple[str, ...]:
    """The lot numbers (folded) of the subjects whose code holds ``wanted``: a search for
    ``TLS-003`` finds the subject's lot and its records (``Passage P3 of L-…``) too."""
    numbers = session.exec(
        select(Lot.lot_number)
        .join(Subject, col(Subject.id) == col(Lot.subject_id))
        .where(func.lower(Subject.code).like(_like(wanted), escape="\\"))
    ).all()
    return tuple(n.casefold() for n in numbers)


def _row(event: AuditEvent, name: str, unblinded: bool) -> AuditLogRow:
    changes = stored_changes(event.changes)
    reason = event.reason
    if not unblinded:
        if event.entity in ARM_RECORDS:
            # Not even which fields: a dispensing of an MSC bag records a dose, a
            # placebo's none, so the names of the fields set would tell the arm.
            changes = {"values": [BLINDED, BLINDED]} if changes else {}
            reason = BLINDED if reason else ""
        elif event.action.endswith("-refused") and reason:
            reason = BLINDED
    return AuditLogRow(event.seq, event.at, event.username, event.action, name, reason, changes)
