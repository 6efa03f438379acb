"""Where the database is: the default and demo files, the URL a person gave, and how a
URL is named on screen.

Nothing here imports SQLAlchemy: the CLI and the terminal UI name the database before
the database layer has loaded (:mod:`lottrack.storage.db` re-exports these functions).
"""

from __future__ import annotations

from pathlib import Path

from platformdirs import user_data_dir

from lottrack.kernel import environment
from lottrack.kernel.config_file import configured_url

ENV_URL = environment.DATABASE_URL


def default_data_dir() -> Path:
    """Folder that holds the default database and the demo database."""
    return Path(user_data_dir("lottrack", appauthor=False))


def default_url() -> str:
    """``LOTTRACK_DATABASE_URL`` if set, else the ``database_url`` of the config file
    ``LOTTRACK_CONFIG`` names (a deployment's way: docs/deployment.md), else a SQLite
    file in the user data directory."""
    env = environment.read().database_url
    if env:
        return normalise_url(env)
    configured = configured_url()
    if configured:
        return normalise_url(configured)
    return f"sqlite:///{default_data_dir() / 'lottrack.db'}"


def demo_url() -> str:
    """The demo database that ``lottrack demo`` builds and ``lottrack --demo`` opens."""
    return f"sqlite:///{default_data_dir() / 'demo.db'}"


def normalise_url(url: str) -> str:
    """Accept ``postgresql://`` and plain file paths; always use psycopg 3 for PostgreSQL."""
    if "://" not in url:
        return f"sqlite:///{Path(url).expanduser().resolve()}"
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def database_label(url: str) -> str:
    """How the header names a database, short enough for an 80-column terminal: the SQLite
    file's name or ``PostgreSQL db@host``; never user or password.

    Read from the URL's text as SQLAlchemy reads it (``dialect+driver://user:password@host:
    port/database?query``), without loading SQLAlchemy.
    """
    scheme, _, rest = url.partition("://")
    rest = rest.partition("?")[0]
    authority, _, database = rest.partition("/")
    if scheme.partition("+")[0] == "sqlite":
        return f"SQLite {Path(database).name if database else ':memory:'}"
    host = authority.rpartition("@")[2]
    host = host[1:].partition("]")[0] if host.startswith("[") else host.partition(":")[0]
    return f"PostgreSQL {database}@{host or 'localhost'}"
