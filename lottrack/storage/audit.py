"""The audit trail (design §6.1), captured in one place: ORM session events.

Every insert and update of a table marked :class:`~lottrack.storage.models.base.Audited` writes an
:class:`~lottrack.storage.models.records.AuditEvent` in the same transaction, whatever code path
made the change. Updates need a reason (``with reason(session, "...")``), deletes and ORM
bulk statements on audited tables are refused, and every event is hash-chained to the one
before it. Appends are serialised: on SQLite by the write lock (write sessions begin
``IMMEDIATE``), on PostgreSQL by a transaction-scoped advisory lock.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Table, event, select
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction
from sqlmodel import SQLModel

from lottrack.kernel.errors import LotTrackError, ValidationError

# The hashes and the verification live beside this module; they are read here too.
from lottrack.storage.audit_hash import EVENT_TABLE as EVENT_TABLE
from lottrack.storage.audit_hash import GENESIS_HASH as GENESIS_HASH
from lottrack.storage.audit_hash import audited_tables as audited_tables
from lottrack.storage.audit_hash import canonical_json as canonical_json
from lottrack.storage.audit_hash import canonical_value as canonical_value
from lottrack.storage.audit_hash import event_hash as event_hash
from lottrack.storage.audit_hash import is_audited as is_audited
from lottrack.storage.audit_hash import row_content as row_content
from lottrack.storage.audit_hash import row_hash as row_hash
from lottrack.storage.audit_hash import sha256_of as sha256_of
from lottrack.storage.audit_verify import VerifyReport as VerifyReport
from lottrack.storage.audit_verify import verify as verify
from lottrack.storage.models.base import utcnow
from lottrack.storage.models.records import AuditEvent

_PG_LOCK_KEY = 0x4C4F54545241  # "LOTTRA": the audit-append advisory lock
_ACTOR = "lottrack_actor"
_REASON = "lottrack_reason"
CHECKPOINT_REQUEST = "lottrack_checkpoint"
CHECKPOINT_INTERVAL = 1000
"""A checkpoint of the chain head is taken at least every this many events (§6.9)."""
_MASKED_FIELDS = frozenset({"password_hash", "password_history"})


# --------------------------------------------------------------------------- context


def set_actor(session: Session, user_id: int | None, username: str) -> None:
    """Name the person (or ``system:…`` process) responsible for the session's writes."""
    session.info[_ACTOR] = (user_id, username)


def actor(session: Session) -> tuple[int | None, str]:
    """The actor set on the session; a write without one is a programming error."""
    try:
        value: tuple[int | None, str] = session.info[_ACTOR]
    except KeyError:
        raise LotTrackError(
            "No user is attached to this change, so it cannot be audited; nothing was saved.",
            title="Unattributed change",
        ) from None
    return value


@contextmanager
def reason(session: Session, text: str) -> Iterator[None]:
    """Give the reason for the changes flushed inside the block."""
    text = (text or "").strip()
    if not text:
        raise ValidationError("A reason is required to change a saved record.", field="reason")
    previous = session.info.get(_REASON)
    session.info[_REASON] = text
    try:
        yield
        session.flush()
    finally:
        if previous is None:
            session.info.pop(_REASON, None)
        else:
            session.info[_REASON] = previous


# ------------------------------------------------------------------------- appending


def _lock_chain(conn: Connection) -> None:
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_PG_LOCK_KEY})")


def request_checkpoint(session: Session, trigger: str) -> None:
    """Ask for a signed checkpoint of the chain head when the session commits
    (:mod:`lottrack.storage.anchors` takes it)."""
    triggers: list[str] = session.info.setdefault(CHECKPOINT_REQUEST, [])
    if trigger not in triggers:
        triggers.append(trigger)


def chain_head(conn: Connection) -> tuple[int, str]:
    """The last event's sequence number and hash ((0, GENESIS_HASH) for an empty trail),
    read under the append lock so that no other terminal appends meanwhile."""
    _lock_chain(conn)
    last = conn.execute(
        select(EVENT_TABLE.c.seq, EVENT_TABLE.c.hash).order_by(EVENT_TABLE.c.seq.desc()).limit(1)
    ).first()
    return (int(last[0]), str(last[1])) if last else (0, GENESIS_HASH)


def _append(session: Session, events: Sequence[dict[str, Any]]) -> None:
    """append_events for a session; asks for a checkpoint each time the trail passes a
    multiple of CHECKPOINT_INTERVAL events."""
    last = append_events(session.connection(), events)
    if last // CHECKPOINT_INTERVAL > (last - len(events)) // CHECKPOINT_INTERVAL:
        request_checkpoint(session, f"{CHECKPOINT_INTERVAL} events")


def append_events(conn: Connection, events: Sequence[dict[str, Any]]) -> int:
    """Chain and insert events (dicts without seq/hash) at the end of the trail; returns
    the new last sequence number."""
    if not events:
        return 0
    _lock_chain(conn)
    last = conn.execute(
        select(EVENT_TABLE.c.seq, EVENT_TABLE.c.hash).order_by(EVENT_TABLE.c.seq.desc()).limit(1)
    ).first()
    seq, prev = (last[0], last[1]) if last else (0, GENESIS_HASH)
    rows = []
    for ev in events:
        seq += 1
        row = dict(ev, seq=seq, prev_hash=prev)
        row["hash"] = event_hash(prev, row)
        prev = row["hash"]
        rows.append(row)
    conn.execute(EVENT_TABLE.insert(), rows)
    return seq


def log_event(
    session: Session,
    action: str,
    entity: str,
    entity_id: str | int = "",
    *,
    reason: str = "",
    changes: Mapping[str, Any] | None = None,
) -> None:
    """Append an event that is not a row change (a failed login, a reprint, …)."""
    user_id, username = actor(session)
    _append(
        session,
        [
            {
                "at": utcnow(),
                "user_id": user_id,
                "username": username,
                "action": action,
                "entity": entity,
                "entity_id": str(entity_id),
                "changes": canonical_json(changes or {}),
                "reason": reason,
                "row_hash": None,
            }
        ],
    )


def record_schema_change(conn: Connection, table: Table, added: Sequence[str], reason: str) -> int:
    """After a migration added columns to an audited table: one ``migrate`` event per row
    with the added columns' values and the row's new hash, so that ``verify`` keeps
    comparing every row with its audited state (a row's hash covers every column).
    ``table`` is the model's table (the schema the migration reaches). Returns the number
    of rows recorded."""
    names = [c.name for c in table.columns]
    events = []
    for raw in conn.execute(select(*[table.c[n] for n in names])).mappings():
        values = dict(raw)
        events.append(
            {
                "at": utcnow(),
                "user_id": None,
                "username": "lottrack (schema upgrade)",
                "action": "migrate",
                "entity": table.name,
                "entity_id": _pk(table, values),
                "changes": canonical_json(
                    {a: [None, canonical_value(table.c[a], values[a])] for a in added}
                ),
                "reason": reason,
                "row_hash": row_hash(table, values),
            }
        )
    append_events(conn, events)
    return len(events)


# ----------------------------------------------------------------- session listeners


def _object_values(obj: Any) -> tuple[Table, dict[str, Any]]:
    state = sa_inspect(obj)
    mapper = state.mapper
    table: Table = mapper.local_table
    values = {}
    for prop in mapper.column_attrs:
        values[prop.columns[0].name] = getattr(obj, prop.key)
    return table, values


def _pk(table: Table, values: Mapping[str, Any]) -> str:
    return ",".join(str(values[c.name]) for c in table.primary_key.columns)


def _changes(obj: Any) -> dict[str, list[Any]]:
    state = sa_inspect(obj)
    out: dict[str, list[Any]] = {}
    for prop in state.mapper.column_attrs:
        hist = state.attrs[prop.key].history
        if not hist.has_changes():
            continue
        column = prop.columns[0]
        old = hist.deleted[0] if hist.deleted else None
        new = hist.added[0] if hist.added else None
        old_c, new_c = canonical_value(column, old), canonical_value(column, new)
        if old_c == new_c and hist.deleted:
            continue
        if column.name in _MASKED_FIELDS:
            old_c, new_c = "***", "***"
        out[column.name] = [old_c, new_c]
    return out


def _before_flush(session: Session, _ctx: UOWTransaction, _instances: Any) -> None:
    for obj in session.deleted:
        if is_audited(obj) or isinstance(obj, AuditEvent):
            raise ValidationError(
                f"{type(obj).__name__} records are never deleted; void or correct them "
                "with a reason instead. Nothing was saved.",
                title="Deletion refused",
            )
    for obj in session.dirty:
        if isinstance(obj, AuditEvent) and session.is_modified(obj):
            raise ValidationError("The audit trail is append-only.", title="Change refused")
        if is_audited(obj) and session.is_modified(obj) and _changes(obj):
            if not session.info.get(_REASON):
                raise ValidationError(
                    f"A reason is required to change a saved {type(obj).__name__} record; "
                    "nothing was saved.",
                    field="reason",
                    title="Reason required",
                )


def _after_flush(session: Session, _ctx: UOWTransaction) -> None:
    order = {t.name: i for i, t in enumerate(SQLModel.metadata.sorted_tables)}
    pending: list[tuple[int, str, str, dict[str, Any]]] = []
    user_id: int | None = None
    username = ""
    for obj in list(session.new) + list(session.dirty):
        if not is_audited(obj):
            continue
        is_new = obj in session.new
        if is_new:
            table, values = _object_values(obj)
            changes = {
                k: [None, "***" if k in _MASKED_FIELDS else canonical_value(table.c[k], v)]
                for k, v in values.items()
                if v is not None
            }
            action = "insert"
        else:
            changes = _changes(obj)
            if not changes:
                continue
            table, values = _object_values(obj)
            action = (
                "void" if "voided_reason" in changes and values.get("voided_reason") else ("update")
            )
        if not username:
            user_id, username = actor(session)
        pk = _pk(table, values)
        pending.append(
            (
                order[table.name],
                pk,
                action,
                {
                    "at": utcnow(),
                    "user_id": user_id,
                    "username": username,
                    "action": action,
                    "entity": table.name,
                    "entity_id": pk,
                    "changes": canonical_json(changes),
                    "reason": "" if is_new else session.info.get(_REASON, ""),
                    "row_hash": row_hash(table, values),
                },
            )
        )
    if not pending:
        return
    pending.sort(key=lambda p: (p[0], p[1].zfill(20)))
    _append(session, [p[3] for p in pending])


def _refuse_bulk(state: ORMExecuteState) -> None:
    if not (state.is_update or state.is_delete):
        return
    for mapper in state.all_mappers:
        if is_audited(mapper.class_) or mapper.class_ is AuditEvent:
            raise LotTrackError(
                f"Bulk changes to {mapper.class_.__name__} would bypass the audit trail; "
                "change each record through its service.",
                title="Bulk change refused",
            )


_LISTENERS: tuple[tuple[str, Callable[..., None]], ...] = (
    ("before_flush", _before_flush),
    ("after_flush", _after_flush),
    ("do_orm_execute", _refuse_bulk),
)


def install() -> None:
    """Capture the audit trail in every ORM session from now on (idempotent).

    :class:`~lottrack.storage.db.Database` calls this when it is made, so no session of a program
    that opened a database can write a GMP record without its event, whatever it imported.
    """
    for name, listener in _LISTENERS:
        if not event.contains(Session, name, listener):
            event.listen(Session, name, listener)


def installed() -> bool:
    """Whether ORM sessions capture the audit trail (:func:`install` ran)."""
    return all(event.contains(Session, name, listener) for name, listener in _LISTENERS)
