"""Engines and sessions.

SQLite (the default, a file in the user data directory) runs in WAL mode with foreign
keys on and a busy timeout; write sessions begin with ``BEGIN IMMEDIATE`` so that two
terminals never interleave writes (the audit chain relies on it). PostgreSQL is reached
through psycopg 3; its write serialisation for the audit chain is a transaction-scoped
advisory lock taken in :mod:`lottrack.storage.audit`.
"""

from __future__ import annotations

import contextlib
import select
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Engine, event, exc, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session, create_engine

from lottrack.kernel.errors import Conflict, LotTrackError, NotInitialised
from lottrack.kernel.locations import (
    ENV_URL,
    default_data_dir,
    default_url,
    demo_url,
    normalise_url,
)
from lottrack.kernel.private_files import create_private, private_dir
from lottrack.storage import anchors, audit, fastsql, read_once
from lottrack.storage.fastsql import DriverReader

__all__ = [  # where the database is (lottrack.kernel.locations), and the database itself
    "ENV_URL",
    "default_data_dir",
    "default_url",
    "demo_url",
    "normalise_url",
    "BUSY_TIMEOUT_MS",
    "READ_ISOLATION",
    "Database",
    "StorageError",
    "is_sqlite",
    "make_engine",
    "open_initialised",
    "sqlite_file",
]

BUSY_TIMEOUT_MS = 30_000


def _sqlite_has_schema(path: str) -> bool:
    """True when the SQLite file at ``path`` holds the migrations' version table; read
    without creating the file or changing it (no WAL switch, no journal)."""
    import sqlite3

    if not Path(path).is_file():
        return False
    try:
        connection = sqlite3.connect(f"{Path(path).resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error:
        return False
    try:
        row = connection.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'alembic_version'"
        ).fetchone()
        return (
            row is not None
            and connection.execute("SELECT 1 FROM alembic_version").fetchone() is not None
        )
    except sqlite3.Error:  # not a database at all: it holds no schema either
        return False
    finally:
        connection.close()


def open_initialised(url: str) -> Database:
    """The database at ``url``, refused with :class:`NotInitialised` when ``lottrack init``
    never ran on it. Nothing is created: a missing SQLite file stays missing (a plain
    connection would leave an empty one behind)."""
    url = normalise_url(url)
    parsed = make_url(url)
    shown = parsed.render_as_string(hide_password=True)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        shown = str(parsed.database)
        if not _sqlite_has_schema(str(parsed.database)):
            raise _not_initialised(shown)
    db = Database(url)
    if db.dialect != "sqlite":
        try:
            with db.engine.connect() as conn:
                initialised = (
                    inspect(conn).has_table("alembic_version")
                    and conn.exec_driver_sql("SELECT 1 FROM alembic_version").first() is not None
                )
        except exc.DBAPIError as error:
            db.dispose()
            raise StorageError(f"The database could not be read ({_first_line(error)}).") from error
        if not initialised:
            db.dispose()
            raise _not_initialised(shown)
    return db


def _not_initialised(shown: str) -> NotInitialised:
    return NotInitialised(
        f"{shown} holds no lottrack database (it was never initialised); "
        "run `lottrack init` first to create it, or choose another with "
        "--db or LOTTRACK_DATABASE_URL."
    )


READ_ISOLATION = "REPEATABLE READ"
"""PostgreSQL isolation of read sessions: every statement of a read sees the same
snapshot (a read-only transaction is never refused for it)."""


def _read_snapshot(connection: Any) -> None:
    """Make a PostgreSQL driver connection read one snapshot per transaction."""
    from psycopg import IsolationLevel

    connection.rollback()  # the isolation is set between transactions
    connection.isolation_level = IsolationLevel.REPEATABLE_READ


def sqlite_file(database: str) -> Path:
    """Make sure the SQLite file exists owner-only (0600; SQLite gives its WAL and
    shared-memory files the same mode) in a folder that is the owner's (created 0700;
    lottrack's own data folder is made 0700 when it was not)."""
    path = Path(database).expanduser()
    folder = path.parent
    private_dir(folder, tighten=folder == default_data_dir())
    if not path.exists():
        with contextlib.suppress(OSError):  # SQLite then reports why it cannot open it
            create_private(path)
    return path


def shown_url(url: str) -> str:
    """``url`` as it may be printed or logged: any password replaced by ``***``."""
    url = normalise_url(url)
    if url.startswith("sqlite"):
        return url  # a file: no password, and its path printed as given
    return make_url(url).render_as_string(hide_password=True)


def is_sqlite(engine: Engine) -> bool:
    """True when the engine talks to SQLite."""
    return engine.dialect.name == "sqlite"


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Build an engine for ``url`` with the settings lottrack relies on."""
    url = normalise_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        # A ``file:`` URI (``?uri=true``, e.g. ``mode=ro``) is SQLite's to open as asked:
        # read-only must create nothing, and its path is not a folder name.
        if parsed.database and parsed.database != ":memory:" and not parsed.query.get("uri"):
            sqlite_file(parsed.database)
        engine = create_engine(
            url,
            connect_args={"timeout": BUSY_TIMEOUT_MS / 1000, "check_same_thread": False},
            **kwargs,
        )
        _configure_sqlite(engine)
        return engine
    engine = create_engine(url, pool_pre_ping=True, **kwargs)
    if parsed.get_backend_name() == "postgresql":
        _configure_postgresql(engine)
    return engine


def _configure_postgresql(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # No JIT compilation: lottrack's statements are short, and the planner's cost of
        # the technician's work list (correlated counts over thousands of lots) is above
        # jit_above_cost, so PostgreSQL spent 430 ms compiling a 46 ms statement (#18).
        if dbapi_connection.info.server_version < 110000:
            return  # no JIT before PostgreSQL 11 (nor the setting)
        with dbapi_connection.cursor() as cursor:
            cursor.execute("SET jit = off")
        dbapi_connection.commit()  # a SET rolled back would be undone


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event below issue BEGIN itself.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        immediate = conn.get_execution_options().get("lottrack_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


T = TypeVar("T")


class StorageError(LotTrackError):
    """The database refused a write for a reason outside the application."""

    title = "Database error"


class ConnectionLost(StorageError):
    """A kept read connection was found dropped by the server only once a read was sent on
    it (a restart: the server's goodbye had not reached the socket yet)."""


def _first_line(error: exc.DBAPIError) -> str:
    return str(error.orig).strip().splitlines()[0][:200] if error.orig else type(error).__name__


@dataclass(repr=False)
class Database:
    """One database: its engine and the two kinds of session a user action opens."""

    url: str
    engine: Engine = field(init=False)
    _writer: sessionmaker[Session] = field(init=False, repr=False)
    _reader: sessionmaker[Session] = field(init=False, repr=False)
    _traces: list[list[tuple[str, Any]] | None] = field(
        init=False, repr=False, default_factory=list
    )
    _spare: list[Any] = field(init=False, repr=False, default_factory=list)
    """Driver connections of :meth:`driver_reader` not in use (list.pop and append are
    atomic, so threads share it without a lock)."""

    def __post_init__(self) -> None:
        audit.install()  # every session writes its audit events (design §6.1)
        anchors.install()  # and signs the chain head when asked (§6.9)
        self.url = normalise_url(self.url)
        self.engine = make_engine(self.url)
        write_bind = self.engine.execution_options(lottrack_write=True)
        self._writer = sessionmaker(bind=write_bind, class_=Session, expire_on_commit=False)
        # A read sees one moment of the database, however many statements it takes (a
        # batch record, a certificate, a page and its count): SQLite's read transaction
        # does; PostgreSQL's default (READ COMMITTED) would give each statement its own.
        read_bind = (
            self.engine
            if self.dialect == "sqlite"
            else self.engine.execution_options(isolation_level=READ_ISOLATION)
        )
        self._reader = sessionmaker(bind=read_bind, class_=Session, expire_on_commit=False)
        read_once.install(self._reader)  # that one moment is read once per statement

    def __repr__(self) -> str:
        return f"Database({shown_url(self.url)!r})"  # a test report prints it: no password

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self.engine.dialect.name

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A write session: commits when the block ends, rolls back on any error.

        Storage failures (disk full, read-only file, lost connection) and constraint
        races become errors a person can read; in every case nothing was saved.
        """
        with self._writer() as session:
            try:
                yield session
                session.commit()
            except exc.IntegrityError as error:
                session.rollback()
                raise Conflict(
                    "Another terminal saved a conflicting record at the same moment "
                    f"({_first_line(error)}); nothing was saved. Reload and try again."
                ) from error
            except (exc.OperationalError, exc.DatabaseError) as error:
                session.rollback()
                raise StorageError(
                    f"The database could not be written ({_first_line(error)}); nothing was saved."
                ) from error
            except BaseException:
                session.rollback()
                raise

    @contextmanager
    def reader(self) -> Iterator[Session]:
        """A read-only session (never commits; closing it ends the transaction and leaves
        loaded rows readable)."""
        with self._reader() as session:
            yield session

    @contextmanager
    def driver_reader(self) -> Iterator[DriverReader]:
        """A driver cursor in a read transaction, for the reads a person repeats on every
        key press (:mod:`lottrack.storage.fastsql`); the transaction ends with the block. A
        database that cannot be read raises :class:`StorageError`.

        The connections are the engine's (made by its connect events: WAL, foreign keys,
        busy timeout), kept on a stack of their own: taking one from the engine's pool and
        giving it back costs about 20 µs, as much as the lookup itself. A connection that
        failed is closed, not reused."""
        dbapi_error = self.engine.dialect.loaded_dbapi.Error
        try:
            proxy = self._spare.pop()
            while not self._still_open(proxy.dbapi_connection):
                proxy.close()  # the server went away meanwhile (a restart): use a fresh one
                proxy = self._spare.pop()
        except IndexError:
            try:
                proxy = self.engine.raw_connection()
            except exc.DBAPIError as error:
                raise StorageError(
                    f"The database could not be read ({_first_line(error)})."
                ) from error
            proxy.detach()  # ours from now on: closing it closes the connection
            if self.dialect != "sqlite":
                _read_snapshot(proxy.dbapi_connection)
        connection = proxy.dbapi_connection
        try:
            cursor = connection.cursor()
            try:
                if self.dialect == "sqlite":
                    cursor.execute("BEGIN")  # one snapshot for every statement of the read
                yield DriverReader(
                    cursor, self.engine.dialect, self._traces[-1] if self._traces else None
                )
            finally:
                cursor.close()
                connection.rollback()
        except dbapi_error as error:
            lost = bool(
                getattr(connection, "closed", False) or getattr(connection, "broken", False)
            )
            proxy.close()
            raise (ConnectionLost if lost else StorageError)(
                f"The database could not be read ({str(error).strip()[:200]})."
            ) from error
        except BaseException:
            proxy.close()
            raise
        self._spare.append(proxy)

    def driver_read(self, read: Callable[[DriverReader], T]) -> T:
        """``read`` in a :meth:`driver_reader`. A read whose kept connection the server had
        dropped (a restart) is run once more, on a fresh connection, before any error is
        shown: the server's goodbye can reach the socket only after the read was sent. Only
        reads go through here, so running one twice changes nothing; a write is never
        retried."""
        try:
            with self.driver_reader() as reader:
                return read(reader)
        except ConnectionLost:
            while self._spare:  # kept from before the restart: none of them is trusted now
                self._spare.pop().close()
            with self.driver_reader() as reader:
                return read(reader)

    def _still_open(self, connection: Any) -> bool:
        """False when the server closed a waiting PostgreSQL connection (a restart, an
        administrator's pg_terminate_backend): the server's goodbye or the end of the
        stream is waiting on its socket, where an idle connection has nothing to read.
        Checked without a round trip, so the read that follows is the first one sent;
        what the engine's pool hands out, pool_pre_ping checks (a ping per checkout)."""
        if self.dialect == "sqlite":
            return True
        if connection.closed or connection.broken:
            return False
        try:
            readable, _, _ = select.select([connection.fileno()], [], [], 0)
        except (OSError, ValueError):
            return False
        return not readable

    @contextmanager
    def tracing(self) -> Iterator[list[tuple[str, Any]]]:
        """The statements every :meth:`driver_reader` sends in the block (benchmarks)."""
        with fastsql.tracing(self._traces) as statements:
            yield statements

    def dispose(self) -> None:
        """Close every pooled connection."""
        while self._spare:
            self._spare.pop().close()
        self.engine.dispose()
