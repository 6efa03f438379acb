"""``lottrack doctor``: the deployment checks of design §6.9, each finding with its fix.

It checks what the program can see from where it runs: the config file and where the
database URL comes from, the modes of the SQLite file and of the key, checkpoint and log
folders, and on PostgreSQL whether the role it connects as is a superuser, owns the
audit trail or may change or delete its events. It changes nothing.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from lottrack.kernel import environment
from lottrack.kernel.config_file import CONFIG_ENV, config_path
from lottrack.kernel.errors import LotTrackError
from lottrack.storage.anchors import default_checkpoint_dir as default_checkpoint_dir
from lottrack.storage.db import ENV_URL, Database, normalise_url, shown_url

AUDIT_TABLES = ("audit_event", "audit_checkpoint")
"""The tables no terminal's role may change or empty (the second once it exists)."""


@dataclass(frozen=True)
class Finding:
    """Something that leaves the records less protected than the deployment intends."""

    problem: str
    fix: str


@dataclass(frozen=True)
class Where:
    """What the doctor looks at: the database URL and where it came from, and folders."""

    url: str
    source: str
    """``--db``, ``$LOTTRACK_DATABASE_URL``, ``the config file`` or ``the default``."""
    key_dir: Path
    checkpoint_dir: Path | None
    """Where the signed audit checkpoints are appended (:mod:`lottrack.storage.anchors`)."""
    log_dir: Path | None


def _private(path: Path, what: str) -> Iterator[Finding]:
    """A file or folder that another account owns, or that group or others may use."""
    try:
        info = path.stat()
    except OSError:
        return
    if info.st_uid != os.geteuid():
        yield Finding(
            f"{what} {path} belongs to another account (uid {info.st_uid}), not "
            "to the one running lottrack.",
            f"chown <service account> {path}",
        )
    mode = stat.S_IMODE(info.st_mode)
    if mode & 0o077:
        wanted = "700" if stat.S_ISDIR(info.st_mode) else "600"
        yield Finding(
            f"{what} {path} is open to other accounts (mode {mode:o}).", f"chmod {wanted} {path}"
        )


def check_source(where: Where) -> Iterator[Finding]:
    """A password given where other processes or the shell history keep it."""
    config = config_path()
    if config is not None:
        if not config.is_file():
            yield Finding(
                f"${CONFIG_ENV} names {config}, which does not exist.",
                f'create it (database_url = "…") readable by the service '
                f"account only: chmod 600 {config}",
            )
        else:
            yield from _private(config, "The config file")
    password = make_url(normalise_url(where.url)).password
    if password and where.source in ("--db", f"${ENV_URL}"):
        yield Finding(
            f"The database password is given in {where.source}, where the shell "
            "history or other processes of the account can read it.",
            f"put database_url in a file only the service account reads, name it "
            f"in ${CONFIG_ENV}, and give no --db or ${ENV_URL} (docs/deployment.md)",
        )


def check_sqlite(database: str) -> Iterator[Finding]:
    """The SQLite file, its WAL and shared-memory files, and their folder."""
    path = Path(database)
    if not path.exists():
        yield Finding(f"There is no database at {path}.", "lottrack init")
        return
    for suffix in ("", "-wal", "-shm"):
        yield from _private(Path(f"{path}{suffix}"), "The database file")
    yield from _private(path.parent, "The database folder")


_ROLE = text("SELECT current_user, rolsuper FROM pg_roles WHERE rolname = current_user")
_TABLE = text(
    "SELECT pg_get_userbyid(c.relowner) FROM pg_class c WHERE c.oid = to_regclass(:table)"
)
_MAY = text("SELECT has_table_privilege(to_regclass(:table), :privilege)")


def check_postgres(db: Database) -> Iterator[Finding]:
    """The role the terminals connect as: not a superuser, not the owner of the audit
    trail, no UPDATE, DELETE or TRUNCATE on it."""
    fix = (
        "connect the terminals as the application role: `lottrack init --app-role NAME` "
        "with the owner's URL, then that role's URL in the config file"
    )
    try:
        with db.engine.connect() as conn:
            role, superuser = conn.execute(_ROLE).one()
            if superuser:
                yield Finding(
                    f"The program connects as {role}, a superuser: it can do "
                    "anything to the records and their audit trail.",
                    fix,
                )
            for table in AUDIT_TABLES:
                owner = conn.execute(_TABLE, {"table": table}).scalar()
                if owner is None:
                    continue
                if owner == role:
                    yield Finding(
                        f"The program connects as {role}, which owns {table}: it "
                        "may drop its triggers and rewrite it.",
                        fix,
                    )
                may = [
                    p
                    for p in ("UPDATE", "DELETE", "TRUNCATE")
                    if conn.execute(_MAY, {"table": table, "privilege": p}).scalar()
                ]
                if may:
                    yield Finding(
                        f"The role {role} may {', '.join(may)} {table} (the audit "
                        "trail must only grow).",
                        fix,
                    )
    except SQLAlchemyError as exc:
        first = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        yield Finding(
            f"The database at {shown_url(db.url)} cannot be reached "
            f"({first[0][:200] if first else type(exc).__name__}).",
            "check the URL in the config file and that the server is running",
        )


def check_folders(where: Where) -> Iterator[Finding]:
    """The facility key, the checkpoints and the log: private, and the key present."""
    from lottrack.views.documents.signing import KEY_FILE, key_paths

    key_path, cert_path = key_paths(where.key_dir)
    if not key_path.is_file():
        yield Finding(
            f"There is no facility key ({KEY_FILE}) in {where.key_dir}.",
            "lottrack init (or set $LOTTRACK_KEY_DIR to the facility's key folder)",
        )
    elif where.key_dir.is_dir():
        yield from _private(where.key_dir, "The key folder")
        yield from _private(key_path, "The facility key")
        yield from _private(cert_path, "The facility certificate")
    if where.checkpoint_dir is not None and where.checkpoint_dir.is_dir():
        if where.checkpoint_dir != where.key_dir:
            yield from _private(where.checkpoint_dir, "The checkpoint folder")
        for path in sorted(where.checkpoint_dir.glob("*checkpoint*")):
            yield from _private(path, "The checkpoint file")
    if where.log_dir is not None and where.log_dir.is_dir():
        yield from _private(where.log_dir, "The log folder")
        for path in sorted(where.log_dir.glob("lottrack.log*")):
            yield from _private(path, "The log file")


def examine(where: Where) -> list[Finding]:
    """Every finding, in the order a person fixes them: where the URL comes from, the
    database, then the folders."""
    findings = list(check_source(where))
    parsed = make_url(normalise_url(where.url))
    if parsed.get_backend_name() == "sqlite":
        findings += check_sqlite(parsed.database or "")
    else:
        try:
            db = Database(where.url)
        except (LotTrackError, SQLAlchemyError) as exc:
            findings.append(
                Finding(
                    f"The database URL cannot be used ({exc}).",
                    "correct database_url in the config file",
                )
            )
        else:
            try:
                findings += check_postgres(db)
            finally:
                db.dispose()
    findings += check_folders(where)
    return findings


def locate(db_option: str | None, demo: bool) -> tuple[Where | None, list[Finding]]:
    """The database URL lottrack would use and where it comes from (``--db``, the
    environment, the config file, the default), with the folders it writes to; a config
    file that cannot be used is a finding."""
    from lottrack.kernel.logs import log_dir
    from lottrack.storage.db import default_url, demo_url
    from lottrack.views.documents.signing import default_key_dir

    try:
        if db_option:
            url, source = normalise_url(db_option), "--db"
        elif demo:
            url, source = demo_url(), "--demo"
        elif environment.read().database_url:
            url, source = default_url(), f"${ENV_URL}"
        elif config_path() is not None:
            url, source = default_url(), "the config file"
        else:
            url, source = default_url(), "the default"
    except LotTrackError as exc:
        return None, [
            Finding(exc.message, f"correct the file ${CONFIG_ENV} names, or unset ${CONFIG_ENV}")
        ]
    return Where(url, source, default_key_dir(), default_checkpoint_dir(), log_dir()), []
