"""Fixtures shared by every test: a real database per test, on SQLite and PostgreSQL.

PostgreSQL tests run when ``LOTTRACK_TEST_POSTGRES_URL`` is set (CI sets it) and fail
loudly when that server cannot be reached. Each run creates its own PostgreSQL database
and each test its own schema in it; both are dropped afterwards.
"""

from __future__ import annotations

import os
import secrets
import tempfile
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

os.environ.setdefault("LOTTRACK_INSECURE_FAST_PASSWORD_HASHING", "1")
# Never write test keys into the user's data directory.
os.environ.setdefault("LOTTRACK_KEY_DIR", tempfile.mkdtemp(prefix="lottrack-test-keys-"))

from lottrack import accounts, audit, bootstrap  # noqa: E402
from lottrack.db import Database, normalise_url
from lottrack.permissions import CurrentUser

PG_ENV = "LOTTRACK_TEST_POSTGRES_URL"
BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture(scope="session")
def pg_server_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test run (dropped at the end)."""
    raw = os.environ.get(PG_ENV)
    if not raw:
        pytest.skip(f"PostgreSQL tests need {PG_ENV} (CI sets it)")
    url = make_url(normalise_url(raw))
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - any failure here must fail the run loudly
        pytest.fail(f"{PG_ENV}={raw} is set but the server cannot be reached: {exc}")
    name = f"lottrack_test_{os.getpid()}_{secrets.token_hex(3)}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


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


@pytest.fixture
def db(empty_db: Database) -> Database:
    """A database migrated to head with its defaults seeded (as ``lottrack init`` does)."""
    bootstrap.initialise(empty_db)
    return empty_db


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

    def _make(*roles: str, username: str | None = None, full_name: str | None = None
              ) -> CurrentUser:
        n = next(counter)
        name = username or f"{roles[0] if roles else 'user'}{n}"
        with db.session() as session:
            return accounts.create_user(
                session, admin, username=name, full_name=full_name or f"Person {name.title()}",
                roles=roles, password=PASSWORD,
            )

    return _make


def verify_ok(db: Database) -> audit.VerifyReport:
    """Run the audit check and fail the test with its findings when broken."""
    with db.engine.connect() as conn:
        report = audit.verify(conn)
    assert report.ok, report.problems
    return report


def load(n: int) -> int:
    """A count for the concurrency suite: small in CI, 20× with ``LOTTRACK_LONG=1``."""
    return n * 20 if os.environ.get("LOTTRACK_LONG") == "1" else n
