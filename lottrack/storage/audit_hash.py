"""The canonical content of audited rows and events, and the SHA-256 hashes over it.

Every hash in lottrack is taken over :func:`canonical_json` of a row's :func:`row_content`
(a value reads the same whether it came from the ORM object or from the stored row); an
audit event's hash chains it to the one before (:func:`event_hash`).
:mod:`lottrack.storage.audit` writes these hashes and :mod:`lottrack.storage.audit_verify`
recomputes them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import Boolean, Column, Date, Float, Integer, Table
from sqlmodel import SQLModel

from lottrack.storage.models.base import UTCDateTime
from lottrack.storage.models.records import AuditEvent

GENESIS_HASH = "0" * 64
"""The ``prev_hash`` of the first event."""
STAMP = "%Y-%m-%dT%H:%M:%S.%fZ"
"""How a timestamp reads in canonical content (UTC)."""

EVENT_TABLE: Table = AuditEvent.__table__  # type: ignore[attr-defined]


def canonical_value(column: Column[Any], value: Any) -> Any:
    """A JSON-safe value that is the same whether read from the ORM object or the row."""
    if value is None:
        return None
    ctype = column.type
    if isinstance(ctype, UTCDateTime) or isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC).strftime(STAMP)
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


# The json decoder's scanner (its C one): typeshed leaves the attribute out.
_scan: Callable[[str, int], tuple[Any, int]] = json.JSONDecoder().scan_once  # type: ignore[attr-defined]


def stored_changes(text: str | None) -> dict[str, list[Any]]:
    """An audit event's changes as stored (``{field: [old, new]}``, as
    :func:`canonical_json` writes them).

    Read by the json module's own C scanner (a trail decodes dozens of these a key
    press: ``json.loads`` checks its argument and searches for spaces before and after,
    a third of the cost); text that is not one compact JSON value, such as spaces or
    anything after it, goes to ``json.loads``, which reads it or says what is wrong."""
    if not text:
        return {}
    try:
        changes, end = _scan(text, 0)
    except StopIteration:
        end = -1
    if end != len(text):
        changes = json.loads(text)
    return changes  # type: ignore[no-any-return]


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
