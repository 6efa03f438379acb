"""Creating and upgrading the schema, only through Alembic migrations."""

from __future__ import annotations

import re
from importlib.resources import files

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect, text

from lottrack.kernel.errors import ValidationError


def alembic_config(url: str = "") -> Config:
    """An Alembic config pointing at the migrations shipped in the package."""
    cfg = Config()
    cfg.set_main_option("script_location", str(files("lottrack.storage") / "migrations"))
    if url:
        cfg.set_main_option("sqlalchemy.url", url)
    return cfg


def head_revision() -> str:
    """The newest migration shipped with this version of lottrack."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at (None for an empty database)."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine) -> tuple[str | None, str]:
    """Bring the database to the newest schema, keeping every row.

    Returns (revision before, revision after).
    """
    before = current_revision(engine)
    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
    return before, head_revision()


APPEND_ONLY_TABLES = ("audit_event", "audit_checkpoint")
"""Tables the application role may only read and add to (design §6.9)."""
_ROLE_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")


def grant_app_role(engine: Engine, role: str) -> list[str]:
    """Create or update the PostgreSQL role the terminals connect as, with exactly the
    rights the program needs (design §6.9): SELECT, INSERT and UPDATE on every GMP table,
    only SELECT and INSERT on the audit trail and its checkpoints, SELECT on the schema
    version; no DELETE or TRUNCATE anywhere, no DDL. Run with the owner's URL after the
    migrations (and again after an upgrade that adds tables). Returns the grants made,
    one line per kind of table."""
    if engine.dialect.name != "postgresql":
        raise ValidationError(
            "App role: a least-privilege role is for PostgreSQL; a SQLite "
            "file is protected by its file mode.",
            field="app-role",
        )
    if not _ROLE_NAME.fullmatch(role):
        raise ValidationError(
            f"App role: {role!r} is not a role name (lower-case letters, "
            "digits and _, at most 63).",
            field="app-role",
        )
    with engine.begin() as conn:
        exists = conn.execute(
            text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}
        ).first()
        conn.execute(
            text(
                f'{"ALTER" if exists else "CREATE"} ROLE "{role}" LOGIN '
                "NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS"
            )
        )
        schema = conn.execute(text("SELECT current_schema()")).scalar_one()
        database = conn.execute(text("SELECT current_database()")).scalar_one()
        tables = sorted(inspect(conn).get_table_names(schema=schema))
        conn.execute(text(f'GRANT CONNECT ON DATABASE "{database}" TO "{role}"'))
        conn.execute(text(f'GRANT USAGE ON SCHEMA "{schema}" TO "{role}"'))
        conn.execute(text(f'REVOKE ALL ON ALL TABLES IN SCHEMA "{schema}" FROM "{role}"'))
        conn.execute(text(f'REVOKE ALL ON ALL SEQUENCES IN SCHEMA "{schema}" FROM "{role}"'))
        rights: dict[str, list[str]] = {}
        for table in tables:
            grant = (
                "SELECT, INSERT"
                if table in APPEND_ONLY_TABLES
                else "SELECT"
                if table == "alembic_version"
                else "SELECT, INSERT, UPDATE"
            )
            conn.execute(text(f'GRANT {grant} ON "{schema}"."{table}" TO "{role}"'))
            rights.setdefault(grant, []).append(table)
        conn.execute(text(f'GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA "{schema}" TO "{role}"'))
    return [f"{grant} on {', '.join(names)}" for grant, names in rights.items()]
