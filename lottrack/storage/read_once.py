"""A read session sends each query once (issue #18: nothing is read twice per key press).

A screen's data is read in one read session (:meth:`lottrack.storage.db.Database.reader`), by
several services that each authorise and read what they need: the batch record asks for
the account, the lot, its passages and its results once per service. A read session sees
one moment of the database (SQLite's read transaction, PostgreSQL's repeatable read), so
the same statement with the same parameters returns the same rows for as long as it
lasts; this module keeps each SELECT's rows the first time and answers a repeat from
them (the ORM objects are the session's own, so the identity map then also answers
``session.get`` of anything already read).

Only read sessions do this: write sessions change rows between their statements. Nothing
is kept past the read's transaction, nor for streamed results (``yield_per``,
``stream_results``), row locks or ``populate_existing``, nor results of more than
:data:`MAX_ROWS` rows (a bulk read, such as the audit trail verified whole).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import FrozenResult, Result
from sqlalchemy.orm import ORMExecuteState, Session, SessionTransaction, sessionmaker

MAX_ROWS = 2_000
"""Larger results are not kept (their memory would outlive their use)."""

_KEPT = "lottrack_read_once"
_UNSAFE_OPTIONS = ("yield_per", "stream_results", "populate_existing", "max_row_buffer")


def install(makes_readers: sessionmaker[Any]) -> None:
    """Make every session of ``makes_readers`` (read-only sessions) read each query once."""
    event.listen(makes_readers, "do_orm_execute", _once)
    event.listen(makes_readers, "after_transaction_end", _forget)


def statements_kept(session: Session) -> int:
    """How many distinct statements the session has kept (for tests)."""
    return len(session.info.get(_KEPT, {}))


def _once(state: ORMExecuteState) -> Result[Any] | None:
    if not state.is_select or state.is_from_statement:
        return None
    options = state.execution_options
    if any(options.get(name) for name in _UNSAFE_OPTIONS):
        return None
    statement = state.statement
    if getattr(statement, "_for_update_arg", None) is not None:
        return None
    key = _key(statement, state.parameters)
    if key is None:
        return None
    kept: dict[Any, FrozenResult[Any]] = state.session.info.setdefault(_KEPT, {})
    frozen = kept.get(key)
    if frozen is None:
        frozen = state.invoke_statement().freeze()
        if len(frozen.data) <= MAX_ROWS:
            kept[key] = frozen
    return frozen()


def _key(statement: Any, parameters: Any) -> Any:
    cache_key = statement._generate_cache_key()
    if cache_key is None:  # a statement SQLAlchemy itself cannot cache
        return None
    values = tuple(_hashable(b.effective_value) for b in cache_key.bindparams)
    key = (cache_key.key, values, _hashable(parameters))
    try:
        hash(key)
    except TypeError:  # a parameter of a type that cannot be compared cheaply: read it
        return None
    return key


def _hashable(value: Any) -> Any:
    if isinstance(value, dict):
        return tuple(sorted((k, _hashable(v)) for k, v in value.items()))
    if isinstance(value, (list, tuple, set, frozenset)):
        return (type(value).__name__, *(_hashable(v) for v in value))
    return value


def _forget(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # the read's transaction ended: its moment is over
        session.info.pop(_KEPT, None)
