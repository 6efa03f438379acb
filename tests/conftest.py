"""Fixtures shared by every test: a real database per test, on SQLite and PostgreSQL.

PostgreSQL tests run when ``LOTTRACK_TEST_POSTGRES_URL`` is set (CI sets it) and fail
loudly when that server cannot be reached. Each run creates its own PostgreSQL database
and each test its own schema in it (or, for an initialised database, its own copy of a
template database); all are dropped afterwards.
"""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlmodel import Session, col, select

# Never write test keys into the user's data directory; one folder per test process:
# xdist's workers inherit the controller's environment, and two workers creating the
# facility key in one shared folder at once made one of them fail ("already exists").
os.environ["LOTTRACK_KEY_DIR"] = tempfile.mkdtemp(
    prefix=f"lottrack-test-keys-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}-"
)

from lottrack.install import bootstrap  # noqa: E402
from lottrack.records import accounts  # noqa: E402
from lottrack.records.permissions import CurrentUser
from lottrack.storage import anchors, audit  # noqa: E402
from lottrack.storage.db import Database, normalise_url
from lottrack.storage.models import AuditEvent, User

accounts.use_cheap_hashing_in_the_test_suite()  # thousands of logins; never in a real run

PG_ENV = "LOTTRACK_TEST_POSTGRES_URL"
NO_COMMIT_FLUSH = 'ALTER DATABASE "{name}" SET synchronous_commit = off'
"""Test databases do not wait for the server's WAL flush at each commit: the suite's
thousands of commits would wait on the disk for a durability no test checks (a server
crash); the transactions, locks and isolation tested are unchanged."""
BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture(autouse=True)
def checkpoint_dir(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """Each test's audit checkpoints go to a folder of its own: the databases copied from
    one template share a database id, so a shared file would mix their checkpoints. The
    session's facility key (in ``LOTTRACK_KEY_DIR``) signs them."""
    from lottrack.views.documents.signing import default_key_dir, ensure_facility_key

    ensure_facility_key(default_key_dir())
    directory = tmp_path_factory.mktemp("checkpoints")
    monkeypatch.setenv(anchors.CHECKPOINT_DIR_ENV, str(directory))
    return directory


@pytest.fixture(scope="session")
def pg_admin() -> Iterator[Engine]:
    """An AUTOCOMMIT engine on the PostgreSQL server of ``LOTTRACK_TEST_POSTGRES_URL``,
    for creating and dropping the run's databases."""
    raw = os.environ.get(PG_ENV)
    if not raw:
        pytest.skip(f"PostgreSQL tests need {PG_ENV} (CI sets it)")
    admin = create_engine(make_url(normalise_url(raw)), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - any failure here must fail the run loudly
        pytest.fail(f"{PG_ENV}={raw} is set but the server cannot be reached: {exc}")
    yield admin
    admin.dispose()


@contextmanager
def _pg_database(admin: Engine, name: str, *, template: str | None = None) -> Iterator[str]:
    """A database ``name`` (a copy of ``template``, else empty) for the block, dropped at
    its end; yields its URL."""
    copy = f' TEMPLATE "{template}"' if template else ""
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"{copy}'))
        conn.execute(text(NO_COMMIT_FLUSH.format(name=name)))
    try:
        yield admin.url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def pg_server_url(pg_admin: Engine) -> Iterator[str]:
    """A fresh PostgreSQL database for this test run (dropped at the end)."""
    with _pg_database(pg_admin, f"lottrack_test_{os.getpid()}_{secrets.token_hex(3)}") as url:
        yield url


def _pg_schema_url(base: str, schema: str) -> str:
    url = make_url(base)
    return url.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
        hide_password=False
    )


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[str]:
    """A URL to an empty database of each backend, private to the test."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'lottrack.db'}"
        return
    base: str = request.getfixturevalue("pg_server_url")
    schema = f"t_{secrets.token_hex(6)}"
    engine = create_engine(base, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield _pg_schema_url(base, schema)
    finally:
        with engine.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()


@pytest.fixture
def empty_db(db_url: str) -> Iterator[Database]:
    """A Database with no schema yet."""
    db = Database(db_url)
    yield db
    db.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file initialised once for the session (as ``lottrack init`` does)."""
    path = tmp_path_factory.mktemp("db-template") / "template.db"
    template = Database(f"sqlite:///{path}")
    bootstrap.initialise(template)
    template.dispose()  # the last connection closed: the WAL is checkpointed into the file
    return path


@pytest.fixture(scope="session")
def pg_template(pg_admin: Engine, pg_server_url: str) -> Iterator[str]:
    """The name of a PostgreSQL database initialised once for the session, to copy."""
    name = f"{make_url(pg_server_url).database}_template"
    with _pg_database(pg_admin, name) as url:
        template = Database(url)
        bootstrap.initialise(template)
        template.dispose()  # CREATE DATABASE … TEMPLATE needs it without connections
        yield name


@pytest.fixture
def db(request: pytest.FixtureRequest, db_url: str) -> Iterator[Database]:
    """A database migrated to head with its defaults seeded (as ``lottrack init`` does).

    Each test gets a copy of a database initialised once per session (the file copied on
    SQLite, ``CREATE DATABASE … TEMPLATE`` on PostgreSQL): migrating takes longer than
    most tests. ``tests/storage/test_schema.py`` runs ``init`` itself on empty databases.
    """
    url = make_url(db_url)
    if url.get_backend_name() == "sqlite":
        assert url.database is not None
        shutil.copy(request.getfixturevalue("sqlite_template"), url.database)
        database = Database(db_url)
        yield database
        database.dispose()
        return
    template: str = request.getfixturevalue("pg_template")
    admin: Engine = request.getfixturevalue("pg_admin")
    name = f"{make_url(request.getfixturevalue('pg_server_url')).database}_{secrets.token_hex(4)}"
    with _pg_database(admin, name, template=template) as copy_url:
        database = Database(copy_url)
        try:
            yield database
        finally:
            database.dispose()


@pytest.fixture
def admin(db: Database) -> CurrentUser:
    """The first administrator."""
    with db.session() as session:
        user = accounts.create_first_admin(session, "root", "Root Admin", "root-password-1")
        return CurrentUser.of(user)


PASSWORD = "correct-horse-1"


@pytest.fixture
def make_user(db: Database, admin: CurrentUser) -> Callable[..., CurrentUser]:
    """Create a person with the given roles; their password is ``PASSWORD``."""
    counter = iter(range(1, 10_000))

    def _make(
        *roles: str, username: str | None = None, full_name: str | None = None
    ) -> CurrentUser:
        n = next(counter)
        name = username or f"{roles[0] if roles else 'user'}{n}"
        with db.session() as session:
            return add_account(
                session,
                admin,
                username=name,
                full_name=full_name or f"Person {name.title()}",
                roles=roles,
                password=PASSWORD,
            )

    return _make


def add_account(
    session: Session,
    admin: CurrentUser,
    *,
    username: str,
    full_name: str,
    roles: Iterable[str],
    password: str,
) -> CurrentUser:
    """An account an administrator created, as if its owner had already chosen
    ``password`` at the first login (tests that check that first change make their
    accounts with :func:`accounts.create_user` itself)."""
    who = accounts.create_user(
        session, admin, username=username, full_name=full_name, roles=roles, password=password
    )
    user = session.get(User, who.id)
    assert user is not None
    with audit.reason(session, "test account: its owner chose this password"):
        user.must_change_password = False
    return who


def verify_ok(db: Database) -> audit.VerifyReport:
    """Run the audit check and fail the test with its findings when broken."""
    with db.engine.connect() as conn:
        report = audit.verify(conn)
    assert report.ok, report.problems
    return report


def sessions(db: Database, username: str) -> list[tuple[str, str]]:
    """The person's logins and logouts in the audit trail, oldest first (action, reason)."""
    with db.reader() as s:
        events = s.exec(
            select(AuditEvent)
            .where(
                col(AuditEvent.action).in_(("login", "logout")),
                AuditEvent.username == username,
            )
            .order_by(col(AuditEvent.id))
        ).all()
    return [(e.action, e.reason) for e in events]


def load(n: int) -> int:
    """A count for the concurrency suite: small in CI, 20× with ``LOTTRACK_LONG=1``."""
    return n * 20 if os.environ.get("LOTTRACK_LONG") == "1" else n
