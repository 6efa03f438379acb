"""The audit trail (design §6.1), captured in one place: ORM session events.

Every insert and update of a table marked :class:`~lottrack.models.base.Audited` writes an
:class:`~lottrack.models.records.AuditEvent` in the same transaction, whatever code path
made the change. Updates need a reason (``with reason(session, "...")``), deletes and ORM
bulk statements on audited tables are refused, and every event is hash-chained to the one
before it. Appends are serialised: on SQLite by the write lock (write sessions begin
``IMMEDIATE``), on PostgreSQL by a transaction-scoped advisory lock.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Boolean, Column, Connection, Date, Float, Integer, Table, event, select
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.exc import InvalidRequestError
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction
from sqlmodel import SQLModel

from lottrack.errors import LotTrackError, ValidationError
from lottrack.models.base import UTCDateTime, utcnow
from lottrack.models.records import AuditEvent

GENESIS_HASH = "0" * 64
_PG_LOCK_KEY = 0x4C4F54545241  # "LOTTRA": the audit-append advisory lock
_ACTOR = "lottrack_actor"
_REASON = "lottrack_reason"
CHECKPOINT_REQUEST = "lottrack_checkpoint"
CHECKPOINT_INTERVAL = 1000
"""A checkpoint of the chain head is taken at least every this many events (§6.9)."""
_MASKED_FIELDS = frozenset({"password_hash", "password_history"})
_STAMP = "%Y-%m-%dT%H:%M:%S.%fZ"  # canonical UTC timestamps

EVENT_TABLE: Table = AuditEvent.__table__  # type: ignore[attr-defined]


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


# ------------------------------------------------------------------ canonical content


def canonical_value(column: Column[Any], value: Any) -> Any:
    """A JSON-safe value that is the same whether read from the ORM object or the row."""
    if value is None:
        return None
    ctype = column.type
    if isinstance(ctype, UTCDateTime) or isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC).strftime(_STAMP)
    if isinstance(ctype, Date) or isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(ctype, Boolean):
        return bool(value)
    if isinstance(ctype, Float):
        return float(value)
    if isinstance(ctype, Integer):
        return int(value)
    return value


def canonical_json(data: Mapping[str, Any]) -> str:
    """Sorted-key, compact JSON: the byte form every hash in lottrack is taken over."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def row_content(table: Table, values: Mapping[str, Any]) -> dict[str, Any]:
    """The canonical content of one row, by column name."""
    return {c.name: canonical_value(c, values.get(c.name)) for c in table.columns}


def row_hash(table: Table, values: Mapping[str, Any]) -> str:
    """SHA-256 of a row's canonical content."""
    return hashlib.sha256(canonical_json(row_content(table, values)).encode()).hexdigest()


def sha256_of(data: Mapping[str, Any]) -> str:
    """SHA-256 of any canonical JSON content (signatures use it)."""
    return hashlib.sha256(canonical_json(data).encode()).hexdigest()


def event_hash(prev_hash: str, ev: Mapping[str, Any]) -> str:
    """hash = SHA-256(previous hash ‖ canonical JSON of the event)."""
    body = {
        "seq": ev["seq"],
        "at": canonical_value(EVENT_TABLE.c.at, ev["at"]),
        "user_id": ev["user_id"],
        "username": ev["username"],
        "action": ev["action"],
        "entity": ev["entity"],
        "entity_id": ev["entity_id"],
        "changes": ev["changes"],
        "reason": ev["reason"],
        "row_hash": ev["row_hash"],
        "prev_hash": prev_hash,
    }
    return hashlib.sha256((prev_hash + canonical_json(body)).encode()).hexdigest()


def is_audited(obj_or_cls: Any) -> bool:
    """True for rows of GMP tables."""
    return bool(getattr(obj_or_cls, "__audited__", False))


def audited_tables() -> list[Table]:
    """Every audited table, parents before children."""
    mapped = {
        m.class_.__tablename__
        for m in SQLModel._sa_registry.mappers  # noqa: SLF001
        if is_audited(m.class_)
    }
    return [t for t in SQLModel.metadata.sorted_tables if t.name in mapped]


# ------------------------------------------------------------------------- appending


def _lock_chain(conn: Connection) -> None:
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_PG_LOCK_KEY})")


def request_checkpoint(session: Session, trigger: str) -> None:
    """Ask for a signed checkpoint of the chain head when the session commits
    (:mod:`lottrack.anchors` takes it)."""
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


def record_schema_change(conn: Connection, table: Table, added: Sequence[str],
                         reason: str) -> int:
    """After a migration added columns to an audited table: one ``migrate`` event per row
    with the added columns' values and the row's new hash, so that ``verify`` keeps
    comparing every row with its audited state (a row's hash covers every column).
    ``table`` is the model's table (the schema the migration reaches). Returns the number
    of rows recorded."""
    names = [c.name for c in table.columns]
    events = []
    for raw in conn.execute(select(*[table.c[n] for n in names])).mappings():
        values = dict(raw)
        events.append({
            "at": utcnow(), "user_id": None, "username": "lottrack (schema upgrade)",
            "action": "migrate", "entity": table.name, "entity_id": _pk(table, values),
            "changes": canonical_json({a: [None, canonical_value(table.c[a], values[a])]
                                       for a in added}),
            "reason": reason, "row_hash": row_hash(table, values),
        })
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
            action = "void" if "voided_reason" in changes and values.get("voided_reason") else (
                "update"
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
    ("before_flush", _before_flush), ("after_flush", _after_flush),
    ("do_orm_execute", _refuse_bulk),
)


def install() -> None:
    """Capture the audit trail in every ORM session from now on (idempotent).

    :class:`~lottrack.db.Database` calls this when it is made, so no session of a program
    that opened a database can write a GMP record without its event, whatever it imported.
    """
    for name, listener in _LISTENERS:
        if not event.contains(Session, name, listener):
            event.listen(Session, name, listener)


def installed() -> bool:
    """Whether ORM sessions capture the audit trail (:func:`install` ran)."""
    return all(event.contains(Session, name, listener) for name, listener in _LISTENERS)


# --------------------------------------------------------------------------- verify
# Verify reads every event and row, so it keeps per-value Python work small: the driver's
# cursor streams rows, only columns whose stored form is not canonical are converted, and
# the JSON is built with json's C string escaper. The bytes hashed are exactly those of
# event_hash and canonical_json(row_content(...)), which stay the definition (a value of
# an unexpected type falls back to canonical_json; tests/storage/test_scale.py verifies a
# bulk database whose hashes those functions wrote).

_FETCH = 5000
_SQLITE_STAMP = 26  # len("YYYY-MM-DD HH:MM:SS.ffffff"): how SQLAlchemy stores DateTime
_escape = json.encoder.encode_basestring  # what json.dumps(ensure_ascii=False) uses


def _json_object(prefixes: Sequence[str], values: Sequence[Any]) -> str:
    """canonical_json of ``{name: value}`` given ``'"name":'`` prefixes in sorted order."""
    return "{" + ",".join([
        key + (_escape(v) if v.__class__ is str else "null" if v is None
               else "true" if v is True else "false" if v is False
               else repr(v) if v.__class__ is int or (v.__class__ is float and v - v == 0)
               else canonical_json(v))
        for key, v in zip(prefixes, values, strict=True)]) + "}"


def _canonicaliser(column: Column[Any], dialect: Any) -> Callable[[Any], Any] | None:
    """A function from a column's value as the driver returns it to its canonical value
    (the same as canonical_value of the value SQLAlchemy would return), or None when the
    stored value is already canonical."""
    try:
        processor = column.type.dialect_impl(dialect).result_processor(dialect, None)
    except (TypeError, InvalidRequestError):
        processor = None  # psycopg's numerics need the column's type code; it returns floats

    def slow(value: Any) -> Any:
        return canonical_value(column, processor(value) if processor else value)

    ctype = column.type
    if isinstance(ctype, UTCDateTime):
        def stamp(value: Any) -> Any:
            if (value.__class__ is str and len(value) == _SQLITE_STAMP and value[10] == " "
                    and value[19] == "."):
                return f"{value[:10]}T{value[11:]}Z"
            if value.__class__ is dt.datetime and value.tzinfo is not None:  # PostgreSQL
                utc = value.astimezone(dt.UTC)
                if utc.year >= 1000:  # isoformat: _STAMP's text, faster than strftime
                    return f"{utc.isoformat(timespec='microseconds')[:-6]}Z"
            return None if value is None else slow(value)
        return stamp
    if isinstance(ctype, Date):
        def day(value: Any) -> Any:
            if value.__class__ is str and len(value) == 10 and value[4] == value[7] == "-":
                return value
            if value.__class__ is dt.date:  # PostgreSQL
                return value.isoformat()
            return None if value is None else slow(value)
        return day
    if isinstance(ctype, Boolean):
        def flag(value: Any) -> Any:
            if value is None or value.__class__ is bool:
                return value
            if value.__class__ is int and value in (0, 1):  # SQLite stores 0 / 1
                return value == 1
            return slow(value)
        return flag
    if isinstance(ctype, Float):
        return lambda value: value if value.__class__ is float or value is None else slow(value)
    if isinstance(ctype, Integer):
        return lambda value: value if value.__class__ is int or value is None else slow(value)
    return None  # strings: canonical_value leaves every other value as it is


def _stream(conn: Connection, sql: str) -> Iterator[tuple[Any, ...]]:
    """Rows of ``sql`` from the driver's cursor, in the connection's transaction, a few
    thousand at a time (a server-side cursor on PostgreSQL, so memory stays flat)."""
    raw = conn.connection.driver_connection
    assert raw is not None
    postgresql = conn.dialect.name == "postgresql"
    cursor = raw.cursor(name=f"lottrack_verify_{id(sql)}") if postgresql else raw.cursor()
    try:
        cursor.execute(sql)
        while rows := cursor.fetchmany(_FETCH):
            yield from rows
    finally:
        cursor.close()


@dataclass
class VerifyReport:
    """What ``lottrack audit verify`` found."""

    events: int = 0
    rows: int = 0
    problems: list[str] = field(default_factory=list)
    last_seq: int = 0
    """The sequence number of the trail's last event (0 when empty)."""
    heads: dict[int, str] = field(default_factory=dict)
    """The stored hash of each event asked for (``verify(heads=…)``) that exists."""
    notes: list[str] = field(default_factory=list)
    """What was checked besides the chain and the rows (checkpoints, documents)."""

    @property
    def ok(self) -> bool:
        """True when the chain and every audited row are intact."""
        return not self.problems


_EVENT_COLUMNS = ("seq", "at", "user_id", "username", "action", "entity", "entity_id",
                  "changes", "reason", "row_hash", "prev_hash", "hash")


def _check_chain(conn: Connection, report: VerifyReport, wanted: Collection[int] = ()
                 ) -> dict[str, dict[str, str]]:
    """Recompute the chain (first break reported), keeping the stored hash of the
    ``wanted`` events in ``report.heads``; return the last audited row hash of every row,
    by table and primary key."""
    latest: dict[str, dict[str, str]] = {}
    expected_seq = 1
    prev = GENESIS_HASH
    chain_broken = False
    at_canonical = _canonicaliser(EVENT_TABLE.c.at, conn.dialect)
    assert at_canonical is not None
    q = conn.dialect.identifier_preparer.quote
    sql = (f"SELECT {', '.join(q(c) for c in _EVENT_COLUMNS)} FROM {q(EVENT_TABLE.name)} "
           f"ORDER BY {q('seq')}")
    escape, sha256 = _escape, hashlib.sha256
    for seq, at, user_id, username, action, entity, entity_id, changes, reason, row_hash, \
            prev_hash, stored in _stream(conn, sql):
        report.events += 1
        report.last_seq = seq
        if seq in wanted:
            report.heads[seq] = stored
        if not chain_broken:
            problem = None
            if seq != expected_seq:
                problem = (f"audit event #{seq}: expected sequence number {expected_seq} "
                           "(an event was deleted or reordered)")
            elif prev_hash != prev:
                problem = f"audit event #{seq}: does not link to the event before it"
            else:
                at = at_canonical(at)
                try:  # event_hash's body, keys sorted; prev is a hex digest already matched
                    if seq.__class__ is not int or user_id.__class__ not in (int, type(None)):
                        raise TypeError
                    body = (
                        f'{{"action":{escape(action)},"at":{escape(at)},'
                        f'"changes":{escape(changes)},"entity":{escape(entity)},'
                        f'"entity_id":{escape(entity_id)},"prev_hash":"{prev}",'
                        f'"reason":{escape(reason)},'
                        f'"row_hash":{"null" if row_hash is None else escape(row_hash)},'
                        f'"seq":{seq},"user_id":{"null" if user_id is None else user_id},'
                        f'"username":{escape(username)}}}')
                except TypeError:  # a value of an unexpected type: the general encoder
                    body = canonical_json({
                        "seq": seq, "at": at, "user_id": user_id, "username": username,
                        "action": action, "entity": entity, "entity_id": entity_id,
                        "changes": changes, "reason": reason, "row_hash": row_hash,
                        "prev_hash": prev})
                if sha256((prev + body).encode()).hexdigest() != stored:
                    problem = (f"audit event #{seq}: content does not match its hash "
                               f"({entity} {entity_id}, {action})")
            if problem:
                report.problems.append(problem)
                chain_broken = True
            prev = stored
            expected_seq += 1
        if row_hash is not None:
            if (table_rows := latest.get(entity)) is None:
                table_rows = latest[entity] = {}
            table_rows[entity_id] = row_hash
    return latest


def _check_rows(conn: Connection, table: Table, audited: dict[str, str],
                report: VerifyReport, max_problems: int) -> bool:
    """Compare every row of ``table`` with its last audited hash; False once
    ``max_problems`` are reported."""
    columns = sorted(table.columns, key=lambda c: c.name)
    names = [c.name for c in columns]
    prefixes = [f"{_escape(n)}:" for n in names]
    convert = [(i, f) for i, c in enumerate(columns)
               if (f := _canonicaliser(c, conn.dialect)) is not None]
    key_at = [names.index(c.name) for c in table.primary_key.columns]
    q = conn.dialect.identifier_preparer.quote
    sql = f"SELECT {', '.join(q(n) for n in names)} FROM {q(table.name)}"
    sha256 = hashlib.sha256
    seen: set[str] = set()
    for raw in _stream(conn, sql):
        report.rows += 1
        values = list(raw)
        for i, canonical in convert:
            values[i] = canonical(values[i])
        pk = ",".join([str(raw[i]) for i in key_at])
        seen.add(pk)
        expected = audited.get(pk)
        if expected is None:
            report.problems.append(
                f"{table.name} id {pk}: row is not in the audit trail (inserted behind "
                "the application's back)")
        elif expected != sha256(_json_object(prefixes, values).encode()).hexdigest():
            report.problems.append(
                f"{table.name} id {pk}: current values differ from the last audited values "
                "(changed behind the application's back)")
        if len(report.problems) >= max_problems:
            return False
    for pk in audited:
        if pk not in seen:
            report.problems.append(f"{table.name} id {pk}: audited row has been deleted")
    return True


def verify(conn: Connection, *, max_problems: int = 50, rows: bool = True,
           heads: Collection[int] = ()) -> VerifyReport:
    """Recompute the chain and compare every audited row with its last audited state
    (``rows=False`` checks the chain only); ``heads``: sequence numbers whose stored hash
    the report keeps (the checkpoints of :mod:`lottrack.anchors` are held against them)."""
    report = VerifyReport()
    conn.exec_driver_sql("SELECT 1")  # begin: both passes read one snapshot (SQLite)
    latest = _check_chain(conn, report, frozenset(heads))
    if rows:
        for table in audited_tables():
            if not _check_rows(conn, table, latest.get(table.name, {}), report, max_problems):
                break
    return report

