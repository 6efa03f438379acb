"""``lottrack backup FILE``: a consistent online copy while others keep working.

SQLite: the online backup API copies a consistent snapshot page by page while writers
carry on (WAL). PostgreSQL: ``pg_dump`` in custom format (one snapshot transaction).
The copy is owner-only, written under an exclusive temporary name and renamed, so a crash
never leaves a half-written file under the name asked for. ``pg_dump`` gets the password
through its environment (``PGPASSWORD``), never on its command line, where every local
user could read it.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import URL, make_url

from lottrack.kernel.errors import LotTrackError, ValidationError
from lottrack.kernel.private_files import replacing, temporary_path
from lottrack.storage.db import normalise_url


@dataclass(frozen=True)
class BackupResult:
    """Where the copy went and how big it is."""

    path: Path
    bytes: int
    method: str


def backup(url: str, target: Path) -> BackupResult:
    """Copy the database at ``url`` to ``target`` (refuses to overwrite an existing file).
    The copy is owner-only (0600), written through an exclusive temporary file."""
    target = Path(target).expanduser()
    if target.exists() or target.is_symlink():
        raise ValidationError(
            f"Backup file: {target} already exists; choose a new name.", field="file"
        )
    if not target.parent.is_dir():
        raise ValidationError(
            f"Backup file: the folder {target.parent} does not exist.", field="file"
        )
    parsed = make_url(normalise_url(url))
    try:
        with replacing(target, overwrite=False) as handle:
            if parsed.get_backend_name() == "sqlite":
                method = "sqlite online backup"
                _sqlite_backup(parsed.database or "", temporary_path(handle))
            else:
                method = "pg_dump (custom format)"
                _pg_dump(parsed, temporary_path(handle))
    except OSError as exc:
        raise LotTrackError(
            f"Backup failed: {exc.strerror or exc}; nothing was written to {target}.",
            title="Backup failed",
        ) from None
    return BackupResult(target, target.stat().st_size, method)


def _sqlite_backup(source: str, tmp: Path) -> None:
    if not source or not Path(source).exists():
        raise ValidationError(f"Database: no SQLite file at {source!r}.", field="db")
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30)
    dst = sqlite3.connect(tmp)
    try:
        with dst:
            src.backup(dst, pages=1024)
        dst.execute("PRAGMA journal_mode=DELETE")  # a single self-contained file
    finally:
        dst.close()
        src.close()


def libpq_url(parsed: URL) -> str:
    """The URL for a PostgreSQL client tool, without its password (an argument is
    readable by every local user in ``/proc``)."""
    bare = parsed._replace(password=None)  # URL.set() keeps a password given None
    return bare.set(drivername="postgresql", query={}).render_as_string(hide_password=False)


def libpq_environment(parsed: URL) -> dict[str, str]:
    """The environment of a PostgreSQL client tool: the password, if the URL holds one,
    in ``PGPASSWORD`` (readable by the same account only); else a pass file
    (``PGPASSFILE``, ``~/.pgpass``) or the server's trust rules apply."""
    env = dict(os.environ)
    if parsed.password:
        env["PGPASSWORD"] = str(parsed.password)
    return env


def _pg_dump(parsed: object, tmp: Path) -> None:
    assert isinstance(parsed, URL)
    exe = shutil.which("pg_dump")
    if exe is None:
        raise LotTrackError(
            "Backup needs pg_dump (PostgreSQL client tools) on the PATH.", title="pg_dump missing"
        )
    options = parsed.query.get("options", "")
    schema = ""
    if isinstance(options, str) and "search_path=" in options:
        schema = options.split("search_path=", 1)[1].split()[0]
    cmd = [exe, "--format=custom", "--no-owner", f"--file={tmp}", "--dbname", libpq_url(parsed)]
    if schema:
        cmd += ["--schema", schema]
    done = subprocess.run(
        cmd,
        capture_output=True,
        text=True,
        check=False,
        timeout=3600,
        env=libpq_environment(parsed),
    )
    if done.returncode != 0:
        raise LotTrackError(f"pg_dump failed: {done.stderr.strip()[:500]}", title="Backup failed")
