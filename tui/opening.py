"""Opening the database behind the login screen.

The login screen is drawn from Textual alone; the database layer (SQLAlchemy, SQLModel,
the models), the units (pint), the accounts service and the screens a person opens after
logging in are imported by :func:`open_database` in a worker thread that starts once the
login screen is on the terminal, while the person types. A login submitted before the
database is open waits for it, on screen (``LoginScreen``).

Nothing heavy is imported at the top of this module: the app imports it at start.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from tui.workers import first_line

if TYPE_CHECKING:
    from lottrack.facility.sites import ClockSite
    from lottrack.storage.db import Database

StateKind = Literal["ready", "empty", "outdated", "unavailable"]

SCREENS_AFTER_LOGIN = (
    "tui.manufacturing.lots",
    "tui.manufacturing.lot_detail",
    "tui.qa.review",
    "tui.pharmacy.visit",
    "tui.ward.visit",
    "tui.qa.audit",
    "tui.admin.users",
)
"""Screens imported after the database is open, so that the first key press that opens
one does not wait for its modules (the home screen is imported before)."""


@dataclass(frozen=True)
class DatabaseState:
    """What the check of the database found."""

    kind: StateKind
    detail: str = ""
    is_demo: bool = False
    clock_site: ClockSite | None = None
    """The site whose time zone the screens show (read once the database is ready)."""


def check_database(db: Database) -> DatabaseState:
    """Whether ``db`` can be logged into (runs in a worker thread)."""
    from sqlalchemy.exc import SQLAlchemyError

    from lottrack.demo import database as demo
    from lottrack.facility import sites
    from lottrack.install import bootstrap
    from lottrack.storage import schema

    try:
        current = schema.current_revision(db.engine)
        head = schema.head_revision()
        if current is None:
            return DatabaseState("empty", "It has no lottrack schema yet.")
        if current != head:
            return DatabaseState(
                "outdated",
                f"Its schema is at revision {current}; this version of lottrack uses {head}.",
            )
        if bootstrap.needs_admin(db):
            return DatabaseState("empty", "It has the lottrack schema but no accounts.")
        with db.reader() as session:
            site = sites.clock_site(session)
        return DatabaseState("ready", is_demo=demo.is_demo(db) is True, clock_site=site)
    except SQLAlchemyError as exc:
        return DatabaseState("unavailable", first_line(exc))


def open_database(url: str, db: Database | None) -> tuple[Database | None, DatabaseState]:
    """Load the database layer, open the database at ``url`` (unless ``db`` is already
    open) and check it; also load what a login and the home screen need (runs in a worker
    thread). The database is None when ``url`` cannot be used at all."""
    from sqlalchemy.exc import ArgumentError

    from lottrack.storage.db import Database

    if db is None:
        try:
            db = Database(url)
        except ArgumentError as exc:
            return None, DatabaseState("unavailable", f"Cannot use {url!r} ({first_line(exc)}).")
    state = check_database(db)
    importlib.import_module("lottrack.records.accounts")  # the login's check (argon2)
    importlib.import_module("lottrack.kernel.units")  # pint's definitions
    importlib.import_module("tui.home")  # the home screen and its panes' services
    return db, state


def load_screens_after_login() -> None:
    """Import the main screens of every role (runs in a worker thread)."""
    for module in SCREENS_AFTER_LOGIN:
        importlib.import_module(module)
