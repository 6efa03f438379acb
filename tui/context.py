"""What every screen and pane of a running app shares: the database, the clock, the user."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol
from zoneinfo import ZoneInfo

from textual.dom import DOMNode

from lottrack.kernel.locations import database_label

if TYPE_CHECKING:  # the database layer loads behind the login screen (tui/opening.py)
    from lottrack.facility.sites import ClockSite
    from lottrack.records.permissions import Action, CurrentUser
    from lottrack.storage.db import Database
    from tui.opening import DatabaseState

IDLE_SETTING = "idle_logout_minutes"
"""The setting that says after how many idle minutes a terminal logs its person out."""


@dataclass(frozen=True)
class SessionStart:
    """Who logged in and what their session starts with, read by the worker that checked
    the password, right after it (:meth:`HasContext.session_start`), so that the home
    appears with its lists: #18, read once it was drawn, by three workers of their own,
    the home's lists came 60 ms later, after a frame that only said they were loading."""

    user: CurrentUser
    site: ClockSite | None
    """The site whose zone the clock shows for this person."""
    idle_minutes: float
    """The idle logout limit (a limit that is not positive keeps the default)."""
    home: Mapping[str, Any] = field(default_factory=dict)
    """What each pane of their home shows, by pane (class name); a pane missing here
    reads its list itself once shown."""


Clock = Callable[[], dt.datetime]
"""Returns the current time, timezone-aware; the zone it carries is the zone shown."""


def local_clock() -> dt.datetime:
    """The current time in the terminal's local time zone."""
    return dt.datetime.now(dt.UTC).astimezone()


class SiteClock:
    """The app's clock: the time of ``source`` shown in the site's zone.

    Screens and documents show local time with its zone (design §2), and the site's zone is
    not the terminal's (a terminal over SSH, a laptop set to UTC). Until the database has
    been read, and when it holds no site yet, the source's own zone is used.
    """

    def __init__(self, source: Clock) -> None:
        self.source = source
        self.zone: dt.tzinfo | None = None

    def __call__(self) -> dt.datetime:
        """Now, in the site's zone."""
        now = self.source()
        return now if self.zone is None else now.astimezone(self.zone)


@dataclass
class AppContext:
    """The app's dependencies and who is logged in (``user`` is None at the login screen).

    ``url`` names the database from the start; ``db`` exists once the database layer has
    loaded (a worker opens it behind the login screen, :mod:`tui.opening`), or at once when
    the app was built with an open :class:`~lottrack.storage.db.Database`.
    """

    url: str
    clock: Clock = local_clock
    user: CurrentUser | None = None
    ready: bool = False
    """True once the database was checked and can be logged into."""
    is_demo: bool = False
    """True when the database is a demo database (the login screen then names the accounts)."""
    clock_site: ClockSite | None = None
    """The site whose time zone the clock shows (None: no site read yet, or none exists)."""
    _site_clock: SiteClock = field(init=False, repr=False)
    _db: Database | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self._site_clock = (
            self.clock if isinstance(self.clock, SiteClock) else SiteClock(self.clock)
        )
        self.clock = self._site_clock

    @property
    def db(self) -> Database:
        """The open database (only once it is open: nothing before the login uses it)."""
        if self._db is None:
            raise RuntimeError("the database is not open yet")
        return self._db

    @db.setter
    def db(self, db: Database) -> None:
        self._db = db
        self.url = db.url

    @property
    def db_open(self) -> bool:
        """Whether the database layer has loaded and the database is open."""
        return self._db is not None

    def show_site(self, site: ClockSite | None) -> None:
        """Show times in ``site``'s zone from now on (every screen reads ``clock``)."""
        self.clock_site = site
        self._site_clock.zone = ZoneInfo(site.timezone) if site is not None else None

    def can(self, action: Action) -> bool:
        """Whether the logged-in person's roles allow ``action`` (for hiding, not security)."""
        if self.user is None:
            return False
        from lottrack.records.permissions import allowed

        return allowed(self.user.roles, action)

    @property
    def database_label(self) -> str:
        """A short name for the database: the SQLite file name or ``db@host``; no password."""
        return database_label(self.url)


def database_location(url: str) -> str:
    """The full location of a database, for help text (passwords hidden)."""
    from sqlalchemy.engine import make_url

    from lottrack.storage.db import shown_url

    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return parsed.database or ":memory:"
    return shown_url(url)


class HasContext(Protocol):
    """An app that carries an :class:`AppContext` (``LotTrackApp``)."""

    ctx: AppContext

    def show_error(self, error: BaseException) -> None:
        """Make a worker's error visible."""

    def open_destination(self, name: str) -> None:
        """Open a screen of :mod:`tui.destinations` if the person may."""

    def use_database(self, db: Database) -> None:
        """Switch to another database (after building the demo elsewhere)."""

    def login_drawn(self) -> None:
        """The login screen is on the terminal: read the other screens' style, open the
        database (once)."""

    def database_ready(self, state: DatabaseState) -> None:
        """The database can be logged into (what its check read)."""

    def show_login(self, notice: str = "") -> None:
        """Forget the person and show the login screen."""

    def session_start(self, db: Database, user: CurrentUser) -> SessionStart:
        """Runs in the worker that logged ``user`` in, once the login is committed: what
        their session starts with."""

    def start_session(self, start: SessionStart) -> None:
        """Remember the person and show their home screen."""

    def read_site_clock(self) -> None:
        """Read again which site's zone the clock shows (after a site was changed)."""


def app_of(node: DOMNode) -> HasContext:
    """The running lottrack app of a screen or widget."""
    app = node.app
    if not isinstance(getattr(app, "ctx", None), AppContext):
        raise RuntimeError("this widget runs outside a LotTrackApp")
    return app  # type: ignore[return-value]


def context_of(node: DOMNode) -> AppContext:
    """The :class:`AppContext` of the app a screen or widget belongs to."""
    return app_of(node).ctx
