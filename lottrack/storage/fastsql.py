"""Compiled statements run on the bare driver, for the reads a person repeats on every key
press (the lot list, a DIN lookup).

A read through an ORM session pays about 0.2 ms before the first row (session, pooled
connection events, ``BEGIN`` through the engine, result objects), which is several times
what SQLite needs to answer a lookup through an index (bench/RESULTS.md). Here the same
statements are built with SQLAlchemy, compiled once per dialect, and sent by the driver
in a read transaction of their own on a pooled connection (:meth:`Database.driver_reader`);
each column's values go through the type's own result processor, so rows read here are
the values an ORM session would return.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Dialect, Select
from sqlalchemy.orm import Session
from sqlalchemy.types import TypeEngine

from lottrack.storage.models.base import UTCDateTime

Processor = Callable[[Any], Any] | None
AnySelect = Select[*tuple[Any, ...]]
"""A select of any columns."""


@dataclass(frozen=True)
class Prepared:
    """A statement compiled for one dialect: its SQL, how its parameters are passed and
    how each result column is converted."""

    sql: str
    positional: tuple[str, ...] | None
    """Parameter names in order (qmark drivers); None when the driver takes names."""
    processors: tuple[Processor, ...]
    constants: Mapping[str, Any] = field(default_factory=dict)
    """Values written in the statement itself (``entity == "lot"``), by parameter name."""

    @classmethod
    def of(cls, statement: AnySelect, dialect: Dialect) -> Prepared:
        """Compile ``statement`` (parameters given as ``bindparam(name)``; values written
        in the statement are sent as its constants)."""
        compiled = statement.compile(dialect=dialect)
        positional = tuple(compiled.positiontup or ()) if compiled.positional else None
        processors = tuple(_processor(c.type, dialect) for c in statement.selected_columns)
        constants = {name: value for name, value in compiled.params.items() if value is not None}
        return cls(compiled.string, positional, processors, constants)

    def parameters(self, values: Mapping[str, Any]) -> Sequence[Any] | Mapping[str, Any]:
        """The parameters as the driver takes them."""
        if self.constants:
            values = {**self.constants, **values}
        if self.positional is None:
            return values
        return [values[name] for name in self.positional]


def _processor(column_type: TypeEngine[Any], dialect: Dialect) -> Processor:
    """How the driver's value of a column becomes lottrack's: the type's own result
    processor, except for UTC timestamps on SQLite, stored as ISO text, which
    :meth:`datetime.fromisoformat` reads several times faster (same values; tested)."""
    if isinstance(column_type, UTCDateTime) and dialect.name == "sqlite":
        return _sqlite_utc
    return column_type.dialect_impl(dialect).result_processor(dialect, None)


def _sqlite_utc(value: str | None) -> dt.datetime | None:
    # "+00:00" read by fromisoformat gives datetime.UTC itself, far faster than replace()
    return None if value is None else dt.datetime.fromisoformat(value + "+00:00")


@dataclass
class Statements:
    """Prepared statements by (dialect, key), built on first use."""

    _prepared: dict[tuple[str, Hashable], Prepared] = field(default_factory=dict)

    def get(self, dialect: Dialect, key: Hashable, build: Callable[[], AnySelect]) -> Prepared:
        """The statement ``key`` for ``dialect`` (``build`` makes it the first time)."""
        found = self._prepared.get((dialect.name, key))
        if found is None:
            found = self._prepared[(dialect.name, key)] = Prepared.of(build(), dialect)
        return found


@dataclass
class DriverReader:
    """A driver cursor in a read transaction (see :meth:`Database.driver_reader`)."""

    cursor: Any
    dialect: Dialect
    trace: list[tuple[str, Any]] | None = None

    def rows(self, prepared: Prepared, values: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        """Every row of ``prepared`` with ``values``, converted as the ORM would."""
        params = prepared.parameters(values)
        if self.trace is not None:
            self.trace.append((prepared.sql, params))
        self.cursor.execute(prepared.sql, params)
        return converted(prepared, self.cursor.fetchall())


def converted(prepared: Prepared, fetched: Iterable[Sequence[Any]]) -> list[tuple[Any, ...]]:
    """The driver's rows of ``prepared`` with each column's values converted as the ORM
    would."""
    convert = [(i, p) for i, p in enumerate(prepared.processors) if p is not None]
    if not convert:
        return [tuple(row) for row in fetched]
    out = []
    for row in fetched:
        cells = list(row)
        for i, p in convert:
            cells[i] = p(cells[i])
        out.append(tuple(cells))
    return out


def session_rows(
    session: Session, prepared: Prepared, values: Mapping[str, Any]
) -> list[tuple[Any, ...]]:
    """Every row of ``prepared`` read in ``session``'s transaction (the same snapshot as the
    session's other reads) as the driver's SQL: nothing compiled or cached per call (for a
    statement of many subqueries that costs more than running it), the engine's events
    still see it."""
    params = prepared.parameters(values)
    result = session.connection().exec_driver_sql(
        prepared.sql, params if isinstance(params, Mapping) else tuple(params)
    )
    try:  # the driver's own rows: SQLAlchemy's Row objects would be made only to be unpacked
        return converted(prepared, result.cursor.fetchall())
    finally:
        result.close()


@contextmanager
def tracing(readers: list[list[tuple[str, Any]] | None]) -> Iterator[list[tuple[str, Any]]]:
    """Collect the statements of every driver read in the block (benchmarks replay them);
    ``readers`` is the database's trace slot."""
    statements: list[tuple[str, Any]] = []
    readers.append(statements)
    try:
        yield statements
    finally:
        readers.remove(statements)
