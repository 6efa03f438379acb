"""A lot's records as the batch record shows them: counts with replicates, custody,
timeline and audit trail.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, NamedTuple

from sqlalchemy import String, and_, bindparam, cast, func, or_, union_all
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from lottrack.kernel.isbt128 import parse_din
from lottrack.manufacturing import lots, qc, thaws
from lottrack.manufacturing.bag_codes import bag_name
from lottrack.records.permissions import (
    MASKED,
    Action,
    CurrentUser,
    authorize,
    authorize_session_read,
)
from lottrack.release.batch_record import BAG_LIFECYCLE, LOT_LIFECYCLE, record_rows
from lottrack.release.disposition import disposition_rows
from lottrack.storage import fastsql
from lottrack.storage.audit_hash import stored_changes
from lottrack.storage.models import (
    AuditEvent,
    CellCount,
    CountReplicate,
    CustodyEvent,
    Deviation,
    DeviationLink,
    Dispensing,
    Disposition,
    Harvest,
    Investigation,
    InvestigationRetest,
    ProductUnit,
    QCResult,
    Signature,
    User,
)
from lottrack.views.listings.record_names import (
    record_names,
    reference_keys,
    with_references_named,
)

# ------------------------------------------------------------------- a lot's records


@dataclass(frozen=True)
class ReplicateRow:
    """One replicate of a count as entered, with its viable concentration."""

    position: int
    entered_text: str
    viable_per_ml: float
    viability_pct: float


@dataclass(frozen=True)
class CountRow:
    """A count set with its replicates (void ones too, marked)."""

    id: int
    target: str
    passage_label: str | None
    method: str
    counted_at: dt.datetime
    counted_by: str
    mean_viable_per_ml: float
    viability_pct: float
    cv_pct: float
    recount_required: bool
    voided_reason: str | None
    replicates: tuple[ReplicateRow, ...]


def _names(session: Session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return dict(session.exec(select(User.id, User.username).where(col(User.id).in_(ids))).all())  # type: ignore[arg-type]


def lot_counts(session: Session, who: CurrentUser, lot_id: int) -> list[CountRow]:
    """Every count of the lot in the order counted, replicates included; blinded readers do
    not see the counts made after a thaw the pharmacy recorded (:mod:`lottrack.
    manufacturing.thaws`)."""
    authorize(session, who, Action.VIEW_BATCH_RECORD)
    lots.get_lot(session, lot_id)
    counts = thaws.visible_counts(
        session,
        who,
        session.exec(
            select(CellCount)
            .where(CellCount.lot_id == lot_id)
            .order_by(col(CellCount.counted_at), col(CellCount.id))
        ).all(),
    )
    ids = [c.id for c in counts]
    reps: dict[int, list[ReplicateRow]] = {}
    for r in (
        session.exec(
            select(CountReplicate)
            .where(col(CountReplicate.count_id).in_(ids))
            .order_by(col(CountReplicate.position))
        ).all()
        if ids
        else ()
    ):
        reps.setdefault(r.count_id, []).append(
            ReplicateRow(r.position, r.entered_text, r.viable_per_ml, r.viability_pct)
        )
    labels = {p.id: p.number for p in lots.passages_of(session, lot_id)}
    names = _names(session, {c.counted_by for c in counts})
    return [
        CountRow(
            c.id or 0,
            c.target,
            f"P{labels[c.passage_id]}" if c.passage_id in labels else None,
            c.method,
            c.counted_at,
            names.get(c.counted_by, "?"),
            c.mean_viable_per_ml,
            c.viability_pct,
            c.cv_pct,
            c.recount_required,
            c.voided_reason,
            tuple(reps.get(c.id or 0, ())),
        )
        for c in counts
    ]


@dataclass(frozen=True)
class CustodyRow:
    """A move of a bag of the lot."""

    unit_id: int
    kit_code: str
    """The kit code (pharmacy), or ``bag A0`` for blinded readers (:func:`bag_name`)."""
    from_location: str
    to_location: str
    at: dt.datetime
    temperature_text: str
    by: str


def _dispensed_at(session: Session, unit_ids: list[int]) -> dict[int, dt.datetime]:
    """When each of these bags was dispensed (bags not dispensed are absent)."""
    if not unit_ids:
        return {}
    return dict(
        session.exec(
            select(Dispensing.unit_id, Dispensing.prepared_at).where(
                col(Dispensing.unit_id).in_(unit_ids)
            )
        ).all()
    )


def lot_custody(session: Session, who: CurrentUser, lot_id: int) -> list[CustodyRow]:
    """The chain of custody of every bag of the lot, oldest move first.

    Blinded readers see each bag by its division and its moves up to its dispensing only:
    where and when a dispensed bag went would tell which visit it served (design §7); and
    not the moves the pharmacy recorded, which it makes to take a frozen MSC bag out of
    the store for a visit of the MSC arm (:mod:`lottrack.manufacturing.thaws`).
    """
    authorize(session, who, Action.VIEW_BATCH_RECORD)
    rows = session.exec(
        select(CustodyEvent, ProductUnit)
        .join(ProductUnit, col(ProductUnit.id) == col(CustodyEvent.unit_id))
        .where(ProductUnit.lot_id == lot_id)
        .order_by(col(CustodyEvent.at), col(CustodyEvent.id))
    ).all()
    if not who.unblinded and rows:
        dispensed = _dispensed_at(session, list({u.id for _, u in rows if u.id is not None}))
        pharmacy = thaws.unblinded_people(session)
        rows = [
            (e, u)
            for e, u in rows
            if e.by_id not in pharmacy and (u.id not in dispensed or e.at < dispensed[u.id])
        ]
    names = _names(session, {e.by_id for e, _ in rows})
    return [
        CustodyRow(
            e.unit_id,
            bag_name(u, who),
            e.from_location,
            e.to_location,
            e.at,
            e.temperature_text,
            names.get(e.by_id, "?"),
        )
        for e, u in rows
    ]


@dataclass(frozen=True)
class TimelineEntry:
    """Something that happened to the lot."""

    at: dt.datetime
    what: str
    by: str


def lot_timeline(session: Session, who: CurrentUser, lot_id: int) -> list[TimelineEntry]:
    """The lot's history in time order: collection, start, passages, counts, QC (one line
    per test session), formulation, custody and QA decisions."""
    authorize(session, who, Action.VIEW_BATCH_RECORD)
    lot = lots.get_lot(session, lot_id)
    harvest = session.get(Harvest, lot.harvest_id)
    assert harvest is not None
    # The statements the batch record's other parts send (a read session sends each once).
    passages = lots.passages_of(session, lot_id)
    counts = lot_counts(session, who, lot_id)
    results = qc.result_rows(session, lot_id)
    decisions = disposition_rows(session, lot_id)
    people = {harvest.operator_id, lot.created_by} | {p.recorded_by for p in passages}
    people |= {p.harvest_recorded_by for p in passages if p.harvest_recorded_by}
    people |= {r.tester_id for r in results} | {d.decided_by for d in decisions}
    bags, formulated_by = 0, None
    if lot.formulated_at is not None:  # the bags and who made them (formulate records both)
        bags, formulated_by = session.exec(
            select(func.count(), func.min(ProductUnit.created_by)).where(
                ProductUnit.lot_id == lot_id
            )
        ).one()
        people |= {formulated_by} if formulated_by is not None else set()
    names = _names(session, people)
    entries = [
        TimelineEntry(
            harvest.collected_at,
            f"Bone marrow collected, {harvest.volume_text} "
            f"(DIN {parse_din(harvest.din).eye_readable()})",
            names.get(harvest.operator_id, "?"),
        ),
        TimelineEntry(
            lot.created_at, f"Lot {lot.lot_number} started", names.get(lot.created_by, "?")
        ),
    ]
    for p in passages:
        entries.append(
            TimelineEntry(
                p.seeded_at,
                f"P{p.number} seeded, {p.cells_seeded_text}",
                names.get(p.recorded_by, "?"),
            )
        )
        if p.harvested_at is not None:
            entries.append(
                TimelineEntry(
                    p.harvested_at,
                    f"P{p.number} harvested, {p.cells_harvested_text}",
                    names.get(p.harvest_recorded_by or 0, "?"),
                )
            )
    for c in counts:
        what = f"{c.passage_label} harvest" if c.passage_label else c.target.replace("-", " ")
        flag = " — RECOUNT" if c.recount_required else ""
        void = " (void)" if c.voided_reason else ""
        entries.append(TimelineEntry(c.counted_at, f"Count of {what}{flag}{void}", c.counted_by))
    sessions: dict[tuple[dt.datetime, int], list[QCResult]] = {}
    for r in results:
        sessions.setdefault((r.tested_at, r.tester_id), []).append(r)
    for (at, tester), group in sessions.items():
        failed = sum(1 for r in group if r.conforms is False)
        tail = f", {failed} out of specification" if failed else ""
        entries.append(
            TimelineEntry(at, f"QC: {len(group)} result(s){tail}", names.get(tester, "?"))
        )
    if lot.formulated_at is not None:
        entries.append(
            TimelineEntry(
                lot.formulated_at,
                f"Formulated into {bags} bag{'' if bags == 1 else 's'}",
                names.get(formulated_by, "?") if formulated_by is not None else "",
            )
        )
    for e in lot_custody(session, who, lot_id):
        entries.append(
            TimelineEntry(
                e.at,
                f"{e.kit_code[:1].upper()}{e.kit_code[1:]}: {e.from_location} → {e.to_location}",
                e.by,
            )
        )
    for d in decisions:
        entries.append(
            TimelineEntry(d.decided_at, f"QA: {d.decision}", names.get(d.decided_by, "?"))
        )
    return sorted(entries, key=lambda e: e.at)


# -------------------------------------------------------------------- audit trail


class AuditRow(NamedTuple):
    """An audit event of the lot or one of its records (a named tuple: as immutable as a
    frozen dataclass and four times quicker to make, a trail's dozens a key press)."""

    seq: int
    at: dt.datetime
    username: str
    action: str
    entity: str
    entity_id: str
    changes: dict[str, list[Any]]
    reason: str
    changed_after_entry: bool
    """True for an update or void that replaced a value already recorded (a correction),
    as opposed to filling in a value for the first time or moving the lot's status."""
    record: str = ""
    """The record as people name it: ``Passage P3 of L-…`` (never the table's name), filled
    by :func:`named` (the trail itself is read in a fixed number of statements)."""


def _trail_statement() -> fastsql.AnySelect:
    """Every audit event of the lot ``:lot_id`` and of its records, in order: one
    statement whatever the number of records, compiled once per dialect and sent as the
    driver's SQL (:func:`lottrack.storage.fastsql.session_rows`).

    One branch per kind of record (its ids, as the trail writes them, are a subquery),
    joined by ``UNION ALL`` and then ordered: each branch is a lookup in the
    ``(entity, entity_id)`` index on both backends. (A single ``OR`` of the kinds reads
    the same rows, but PostgreSQL answered it by walking every event in ``seq`` order:
    about a second at a million events; bench/RESULTS.md.) An event has one entity, so
    the branches never repeat a row."""
    lot_id: Any = bindparam("lot_id")

    def ids(column: Any, *where: Any) -> Any:
        return sa_select(cast(column, String)).where(*where)

    units = sa_select(col(ProductUnit.id)).where(col(ProductUnit.lot_id) == lot_id)
    investigations = sa_select(col(Investigation.id)).where(col(Investigation.lot_id) == lot_id)
    deviations = sa_select(col(Deviation.id)).where(col(Deviation.lot_id) == lot_id)
    records = {
        **{entity: ids(column, *where) for entity, (column, where) in record_rows(lot_id).items()},
        "custody_event": ids(CustodyEvent.id, col(CustodyEvent.unit_id).in_(units)),
        "disposition": ids(Disposition.id, col(Disposition.lot_id) == lot_id),
        # The investigations and deviations QA weighs before releasing, with their retests
        # and links, and the signatures that closed them.
        "investigation": ids(Investigation.id, col(Investigation.lot_id) == lot_id),
        "investigation_retest": ids(
            InvestigationRetest.id, col(InvestigationRetest.investigation_id).in_(investigations)
        ),
        "deviation": ids(Deviation.id, col(Deviation.lot_id) == lot_id),
        "deviation_link": ids(DeviationLink.id, col(DeviationLink.deviation_id).in_(deviations)),
        "signature": ids(
            Signature.id,
            or_(
                and_(col(Signature.record_type) == "lot", col(Signature.record_id) == lot_id),
                and_(
                    col(Signature.record_type) == "investigation",
                    col(Signature.record_id).in_(investigations),
                ),
                and_(
                    col(Signature.record_type) == "deviation",
                    col(Signature.record_id).in_(deviations),
                ),
            ),
        ),
    }
    columns = [
        col(c)
        for c in (
            AuditEvent.seq,
            AuditEvent.at,
            AuditEvent.username,
            AuditEvent.action,
            AuditEvent.entity,
            AuditEvent.entity_id,
            AuditEvent.changes,
            AuditEvent.reason,
        )
    ]
    events = union_all(
        *(
            sa_select(*columns).where(
                col(AuditEvent.entity) == entity, col(AuditEvent.entity_id).in_(ids)
            )
            for entity, ids in records.items()
        )
    ).subquery("trail")
    return sa_select(*events.c).order_by(events.c.seq)


_STATEMENTS = fastsql.Statements()


def _is_correction(action: str, changes: dict[str, list[Any]]) -> bool:
    if action == "void":
        return True
    return action == "update" and any(
        old not in (None, "") and field not in LOT_LIFECYCLE
        for field, (old, _new) in changes.items()
    )


def lot_audit_trail(session: Session, who: CurrentUser, lot_id: int) -> list[AuditRow]:
    """Every audit event of the lot, its harvest, passages, reagents used, counts and
    replicates, QC results, bags and their custody, decisions, investigations (with their
    retests) and deviations (with their links), and the signatures on the lot and on its
    investigations and deviations, in order.

    Blinded readers (QA and admins: the pharmacy does not read audit trails) do not see
    which visit a bag served: a bag's kit code, status, status reason and thaw are masked,
    an event that changed nothing else is left out, and so are moves of a bag from its
    dispensing on and moves the pharmacy recorded (:func:`_masked`, :func:`_hidden_moves`).
    """
    authorize_session_read(session, who, Action.VIEW_AUDIT)
    prepared = _STATEMENTS.get(session.get_bind().dialect, "trail", _trail_statement)
    events = fastsql.session_rows(session, prepared, {"lot_id": lot_id})
    if not events:  # a lot has at least the event of its creation
        lots.get_lot(session, lot_id)  # NotFound for a lot that does not exist
    blinded = not who.unblinded
    hidden_moves = _hidden_moves(session, lot_id) if blinded else set()
    out = []
    for seq, at, username, action, entity, entity_id, changes_text, reason in events:
        changes = stored_changes(changes_text)
        if blinded:
            if entity == "custody_event" and int(entity_id) in hidden_moves:
                continue
            if entity == "product_unit":
                masked = _masked(changes)
                if masked is None:
                    continue
                if masked != changes:
                    changes, reason = masked, MASKED if action == "update" else reason
        out.append(
            AuditRow(
                seq,
                at,
                username,
                action,
                entity,
                entity_id,
                changes,
                reason,
                _is_correction(action, changes),
            )
        )
    return out


def _masked(changes: dict[str, list[Any]]) -> dict[str, list[Any]] | None:
    """A bag event's changes as a blinded reader sees them: kit code masked, lifecycle
    fields dropped; None when nothing else changed (the event is left out)."""
    kept = {k: v for k, v in changes.items() if k not in BAG_LIFECYCLE}
    if not kept:
        return None
    if "kit_code" in kept:
        kept["kit_code"] = [MASKED if value else value for value in kept["kit_code"]]
    return kept


def _hidden_moves(session: Session, lot_id: int) -> set[int]:
    """Custody events of the lot's bags that blinded readers do not see: those made at or
    after each bag's dispensing and those the pharmacy recorded (one statement, so the
    trail's cost stays fixed; sent as the driver's SQL, like the trail)."""
    prepared = _STATEMENTS.get(session.get_bind().dialect, "moves", _moves_statement)
    return {
        int(i)
        for (i,) in fastsql.session_rows(session, prepared, {"lot_id": lot_id})
        if i is not None
    }


def _moves_statement() -> fastsql.AnySelect:
    by_pharmacy = thaws.holds_unblinded_role()
    after_dispensing = (
        sa_select(col(Dispensing.id))
        .where(
            col(Dispensing.unit_id) == col(CustodyEvent.unit_id),
            col(CustodyEvent.at) >= col(Dispensing.prepared_at),
        )
        .exists()
    )
    return (
        sa_select(col(CustodyEvent.id))
        .join(ProductUnit, col(ProductUnit.id) == col(CustodyEvent.unit_id))
        .join(User, col(User.id) == col(CustodyEvent.by_id))
        .where(col(ProductUnit.lot_id) == bindparam("lot_id"), or_(after_dispensing, by_pharmacy))
    )


def named(session: Session, who: CurrentUser, rows: list[AuditRow]) -> list[AuditRow]:
    """``rows`` with each record named as people name it (one statement per kind of
    record in the rows); a bag's kit code only for an unblinded reader."""
    keys = {(r.entity, r.entity_id) for r in rows}
    keys |= reference_keys((r.entity, r.changes) for r in rows)
    names = record_names(session, keys, blinded=not who.unblinded)
    return [
        r._replace(
            record=names[(r.entity, r.entity_id)],
            changes=with_references_named(r.entity, r.changes, names),
        )
        for r in rows
    ]
