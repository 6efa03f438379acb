"""``lottrack audit verify``: recompute the audit chain and every audited row's hash.

A broken link, an event whose content does not match its hash, a row changed, inserted or
deleted behind the application's back: each is reported in words (design §6.1).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Boolean, Column, Connection, Date, Float, Integer, Table
from sqlalchemy.exc import InvalidRequestError

from lottrack.storage.audit_hash import (
    EVENT_TABLE,
    GENESIS_HASH,
    audited_tables,
    canonical_json,
    canonical_value,
)
from lottrack.storage.models.base import UTCDateTime

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
    return (
        "{"
        + ",".join(
            [
                key
                + (
                    _escape(v)
                    if v.__class__ is str
                    else "null"
                    if v is None
                    else "true"
                    if v is True
                    else "false"
                    if v is False
                    else repr(v)
                    if v.__class__ is int or (v.__class__ is float and v - v == 0)
                    else canonical_json(v)
                )
                for key, v in zip(prefixes, values, strict=True)
            ]
        )
        + "}"
    )


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
            if (
                value.__class__ is str
                and len(value) == _SQLITE_STAMP
                and value[10] == " "
                and value[19] == "."
            ):
                return f"{value[:10]}T{value[11:]}Z"
            if value.__class__ is dt.datetime and value.tzinfo is not None:  # PostgreSQL
                utc = value.astimezone(dt.UTC)
                if utc.year >= 1000:  # isoformat: STAMP's text, faster than strftime
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


EVENT_COLUMNS = (
    "seq",
    "at",
    "user_id",
    "username",
    "action",
    "entity",
    "entity_id",
    "changes",
    "reason",
    "row_hash",
    "prev_hash",
    "hash",
)
"""The columns of an audit event that verifying reads, in the order it reads them."""


def _check_chain(
    conn: Connection, report: VerifyReport, wanted: Collection[int] = ()
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
    sql = (
        f"SELECT {', '.join(q(c) for c in EVENT_COLUMNS)} FROM {q(EVENT_TABLE.name)} "
        f"ORDER BY {q('seq')}"
    )
    escape, sha256 = _escape, hashlib.sha256
    for (
        seq,
        at,
        user_id,
        username,
        action,
        entity,
        entity_id,
        changes,
        reason,
        row_hash,
        prev_hash,
        stored,
    ) in _stream(conn, sql):
        report.events += 1
        report.last_seq = seq
        if seq in wanted:
            report.heads[seq] = stored
        if not chain_broken:
            problem = None
            if seq != expected_seq:
                problem = (
                    f"audit event #{seq}: expected sequence number {expected_seq} "
                    "(an event was deleted or reordered)"
                )
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
                        f'"username":{escape(username)}}}'
                    )
                except TypeError:  # a value of an unexpected type: the general encoder
                    body = canonical_json(
                        {
                            "seq": seq,
                            "at": at,
                            "user_id": user_id,
                            "username": username,
                            "action": action,
                            "entity": entity,
                            "entity_id": entity_id,
                            "changes": changes,
                            "reason": reason,
                            "row_hash": row_hash,
                            "prev_hash": prev,
                        }
                    )
                if sha256((prev + body).encode()).hexdigest() != stored:
                    problem = (
                        f"audit event #{seq}: content does not match its hash "
                        f"({entity} {entity_id}, {action})"
                    )
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


def _check_rows(
    conn: Connection, table: Table, audited: dict[str, str], report: VerifyReport, max_problems: int
) -> bool:
    """Compare every row of ``table`` with its last audited hash; False once
    ``max_problems`` are reported."""
    columns = sorted(table.columns, key=lambda c: c.name)
    names = [c.name for c in columns]
    prefixes = [f"{_escape(n)}:" for n in names]
    convert = [
        (i, f) for i, c in enumerate(columns) if (f := _canonicaliser(c, conn.dialect)) is not None
    ]
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
                "the application's back)"
            )
        elif expected != sha256(_json_object(prefixes, values).encode()).hexdigest():
            report.problems.append(
                f"{table.name} id {pk}: current values differ from the last audited values "
                "(changed behind the application's back)"
            )
        if len(report.problems) >= max_problems:
            return False
    for pk in audited:
        if pk not in seen:
            report.problems.append(f"{table.name} id {pk}: audited row has been deleted")
    return True


def verify(
    conn: Connection, *, max_problems: int = 50, rows: bool = True, heads: Collection[int] = ()
) -> VerifyReport:
    """Recompute the chain and compare every audited row with its last audited state
    (``rows=False`` checks the chain only); ``heads``: sequence numbers whose stored hash
    the report keeps (the checkpoints of :mod:`lottrack.storage.anchors` are held against them)."""
    report = VerifyReport()
    conn.exec_driver_sql("SELECT 1")  # begin: both passes read one snapshot (SQLite)
    latest = _check_chain(conn, report, frozenset(heads))
    if rows:
        for table in audited_tables():
            if not _check_rows(conn, table, latest.get(table.name, {}), report, max_problems):
                break
    return report
