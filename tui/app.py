"""The Textual app: one factory (:func:`make_app`) used by the CLI and by every test."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual import events, work
from textual.app import App
from textual.binding import Binding
from textual.logging import TextualHandler
from textual.screen import Screen
from textual.worker import Worker, WorkerState
from typing_extensions import override

from lottrack.kernel.errors import LotTrackError
from tui.commands import PaletteCommand, RoleCommands
from tui.common.collector import RestingCollector
from tui.common.login import LoginScreen
from tui.common.screen import AppScreen
from tui.context import IDLE_SETTING, AppContext, Clock, SessionStart, local_clock
from tui.widgets.session_header import SessionHeader
from tui.workers import first_line

if TYPE_CHECKING:  # loaded behind the login screen (tui/opening.py): start-up stays light
    from lottrack.facility.sites import ClockSite
    from lottrack.records.permissions import CurrentUser
    from lottrack.storage.db import Database
    from tui.opening import DatabaseState

logger = logging.getLogger(__name__)

IDLE_CHECK_SECONDS = 15
"""How often the idle check runs (the logout comes at most this late)."""
COLLECT_CHECK_SECONDS = 1.0
"""How often a pending full garbage collection is looked at (tui/common/collector.py)."""
SCREENS_CSS = Path(__file__).with_name("screens.tcss")
"""The rules of the screens after the login screen, read once it is drawn (app.tcss holds
what it needs): parsed before it, they delayed it by about 10 ms (#18)."""


class LotTrackApp(App[None]):
    """lottrack's terminal UI. Build it with :func:`make_app`."""

    CSS_PATH = "app.tcss"
    TITLE = "lottrack"
    COMMANDS = {RoleCommands}
    BINDINGS = [
        Binding("f1", "help", "Help"),
        Binding("ctrl+l", "logout", "Log out", show=False),
        Binding("ctrl+q", "quit", "Quit", show=False, priority=True),
    ]

    def __init__(self, ctx: AppContext) -> None:
        super().__init__()
        self.ctx = ctx
        self.last_activity = time.monotonic()
        """When the person last pressed a key or used the mouse (``time.monotonic``)."""
        self.idle_logout_minutes = 0.0
        """Minutes without activity before the app logs the person out (set at login: the
        default, then the setting once read)."""
        self._opening = False
        self._screens_css_read = False
        self.collector = RestingCollector()
        """Python's full garbage collections, run while the person rests (#18)."""

    def on_mount(self) -> None:
        """The login screen at once (it opens the database once painted); watch for a
        terminal left unattended; collect garbage while the person rests."""
        self.push_screen(LoginScreen())
        self.set_interval(IDLE_CHECK_SECONDS, self.check_inactivity)
        self.collector.start()
        self.set_interval(COLLECT_CHECK_SECONDS, self.collect_at_rest)

    # ---------------------------------------------------------------- the database

    def login_drawn(self) -> None:
        """The login screen is on the terminal: read the other screens' style rules, and
        open the database in a worker unless it is open."""
        self.read_screens_css()
        if not self.ctx.ready:
            self.open_database()

    def read_screens_css(self) -> None:
        """Add the other screens' rules (:data:`SCREENS_CSS`) to the style sheet, once;
        the screens mounted next are styled with them."""
        if not self._screens_css_read:
            self._screens_css_read = True
            self.stylesheet.read(SCREENS_CSS)

    def open_database(self) -> None:
        """Load the database layer and check the database in a worker (the first time it
        is asked; the login screen asks once it is on the terminal)."""
        if not self._opening:
            self._opening = True
            self._open(self.ctx.url, self.ctx.db if self.ctx.db_open else None)

    @work(thread=True, exclusive=True, exit_on_error=False, group="open")
    def _open(self, url: str, db: Database | None) -> None:
        from tui.opening import load_screens_after_login, open_database

        opened, state = open_database(url, db)
        self.call_from_thread(self._opened, opened, state)
        load_screens_after_login()
        self.collector.freeze()  # what is loaded now lives on (nothing to wait for)

    def _opened(self, db: Database | None, state: DatabaseState) -> None:
        if db is not None and not self.ctx.db_open:
            self.ctx.db = db
        if state.kind == "ready":
            self.database_ready(state)
        else:
            self._show_start(state)

    def _show_start(self, state: DatabaseState) -> None:
        from tui.common.start import StartScreen

        self._replace_stack(StartScreen(state))

    def database_ready(self, state: DatabaseState) -> None:
        """The database can be logged into: remember what its check read (demo, site) and
        let a login waiting for it go on."""
        self.ctx.is_demo = state.is_demo
        self.ctx.ready = True
        self._show_site(state.clock_site)
        for screen in self.screen_stack:
            if isinstance(screen, LoginScreen):
                screen.database_ready()

    # ------------------------------------------------------------------ the session

    def session_start(self, db: Database, user: CurrentUser) -> SessionStart:
        """Runs in the worker that logged ``user`` in, once the login is committed: their
        site's clock, the idle limit and the lists of their home
        (:func:`tui.home.first_lists`), in one read-only transaction."""
        from lottrack.facility import sites
        from lottrack.storage import settings
        from tui.home import first_lists

        with db.reader() as session:
            return SessionStart(
                user,
                sites.clock_site(session, user.id),
                settings.get_float(session, IDLE_SETTING),
                first_lists(session, user),
            )

    def start_session(self, start: SessionStart) -> None:
        """Remember who logged in and show their home (in their site's time)."""
        from lottrack.storage import settings
        from tui.home import HomeScreen

        self.ctx.user = start.user
        self.idle_logout_minutes = float(settings.DEFAULTS[IDLE_SETTING])
        self._set_idle_limit(start.idle_minutes)
        self.note_activity()
        self.ctx.show_site(start.site)
        self._replace_stack(HomeScreen(start.home))

    def show_login(self, notice: str = "", *, idle_minutes: float | None = None) -> None:
        """Forget the person (their logout audited; ``idle_minutes`` when the terminal
        logged them out) and show an empty login screen."""
        user = self.ctx.user
        self.ctx.user = None
        self._replace_stack(LoginScreen(notice))
        if user is not None:
            self._record_logout(self.ctx.db, user, idle_minutes)
            self.read_site_clock()

    @work(thread=True, exit_on_error=False, group="logout")
    def _record_logout(self, db: Database, user: CurrentUser, idle_minutes: float | None) -> None:
        from lottrack.records import accounts

        with db.session() as session:
            accounts.record_logout(
                session, user, "logged out" if idle_minutes is None else "idle", idle_minutes
            )

    # ------------------------------------------------------------- the site's clock

    def read_site_clock(self) -> None:
        """Read which site's zone the clock shows: the person's site when there are several
        (the start screen read the database's site before anyone logged in)."""
        user = self.ctx.user
        self._read_site_clock(self.ctx.db, user.id if user is not None else None)

    @work(thread=True, exclusive=True, exit_on_error=False, group="site-clock")
    def _read_site_clock(self, db: Database, user_id: int | None) -> None:
        from lottrack.facility import sites

        with db.reader() as session:
            site = sites.clock_site(session, user_id)
        self.call_from_thread(self._show_site, site)

    def _show_site(self, site: ClockSite | None) -> None:
        self.ctx.show_site(site)
        for screen in self.screen_stack:
            for header in screen.query(SessionHeader):
                header.refresh_clock()

    # ------------------------------------------------ idle logout (EU GMP Annex 11)

    async def on_event(self, event: events.Event) -> None:
        """Every key press, mouse event or paste counts as activity."""
        if isinstance(event, events.InputEvent | events.Paste):
            self.note_activity()
        await super().on_event(event)

    def collect_at_rest(self, now: float | None = None) -> bool:
        """Run a pending full garbage collection if nothing was pressed for a moment (or
        it waited long); True if it ran (``now``: a ``time.monotonic`` value)."""
        now = time.monotonic() if now is None else now
        return self.collector.tick(now - self.last_activity)

    def note_activity(self, now: float | None = None) -> None:
        """Remember that the person did something (``now``: a ``time.monotonic`` value)."""
        self.last_activity = time.monotonic() if now is None else now

    def check_inactivity(self, now: float | None = None) -> bool:
        """Log the person out when nothing was pressed for the idle limit; True if so.

        The timer calls this every few seconds; tests call it with a ``time.monotonic``
        value of their choosing. Unsaved input on the screens closed is discarded.
        """
        if self.ctx.user is None:
            return False
        now = time.monotonic() if now is None else now
        minutes = self.idle_logout_minutes
        if now - self.last_activity < minutes * 60:
            return False
        unit = "minute" if minutes == 1 else "minutes"
        self.show_login(
            f"Logged out after {minutes:g} {unit} without activity; unsaved input was discarded.",
            idle_minutes=minutes,
        )
        return True

    def _set_idle_limit(self, minutes: float) -> None:
        # A limit that is not positive would log out at once or never: keep the default.
        if minutes > 0:
            self.idle_logout_minutes = minutes

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """The app's own workers report their errors like the screens' do; when opening
        the database failed, the start screen says so (a login waiting for it stops)."""
        if (
            event.state is WorkerState.ERROR
            and event.worker.node is self
            and event.worker.error is not None
        ):
            self.show_error(event.worker.error)
            if event.worker.group == "open" and not self.ctx.ready:
                from tui.opening import DatabaseState

                self._show_start(DatabaseState("unavailable", first_line(event.worker.error)))

    def use_database(self, db: Database) -> None:
        """Switch to another database (the demo was built in its own file)."""
        if self.ctx.db_open:
            self.ctx.db.dispose()
        self.ctx.db = db

    def _replace_stack(self, screen: Screen[None]) -> None:
        while len(self.screen_stack) > 1:
            self.pop_screen()
        self.push_screen(screen)

    # ---------------------------------------------------------------------- actions

    @override
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Hide what the person's roles do not allow (the services check again)."""
        if action == "open":
            if self.ctx.user is None:
                return False
            from tui.destinations import BY_NAME

            dest = BY_NAME.get(str(parameters[0])) if parameters else None
            return dest is not None and self.ctx.can(dest.action)
        if action == "logout":
            return self.ctx.user is not None
        return True

    def open_destination(self, name: str) -> None:
        """Open a screen of :mod:`tui.destinations` if the person's roles allow it."""
        from tui.destinations import BY_NAME

        dest = BY_NAME.get(name)
        if dest is None or not self.ctx.can(dest.action):
            self.notify("Your roles do not allow this.", title="Not permitted", severity="warning")
            return
        if getattr(self.screen, "DESTINATION", None) == name:
            return
        self.push_screen(dest.screen())

    def action_open(self, name: str) -> None:
        """Binding target: ``app.open('users')``."""
        self.open_destination(name)

    def action_logout(self) -> None:
        """Back to the login screen (asking first when typed input would be lost)."""
        if self.ctx.user is not None:
            self._unless_input_kept("Log out", lambda: self.show_login("You have logged out."))

    async def action_quit(self) -> None:
        """Leave lottrack (asking first when typed input would be lost)."""
        self._unless_input_kept("Quit", self.exit)

    def _unless_input_kept(self, doing: str, then: Callable[[], object]) -> None:
        """Run ``then`` at once, or after the person agrees to lose what they typed."""
        from tui.dialogs.confirm import ConfirmModal
        from tui.unsaved import KeepsTypedInput

        unsaved = [
            s for s in self.screen_stack if isinstance(s, KeepsTypedInput) and s.has_unsaved_input()
        ]
        if not unsaved or isinstance(self.screen, ConfirmModal):
            then()
            return
        where = unsaved[-1].input_title()

        def answered(discard: bool | None) -> None:
            if discard:
                then()

        self.push_screen(
            ConfirmModal(
                f"{doing} and discard what you typed?",
                f"{where}: nothing has been saved. {doing} anyway and throw away what you typed?",
                yes=doing,
                no="Keep editing",
            ),
            answered,
        )

    def on_unmount(self) -> None:
        """Leaving lottrack (however the app ends) logs out whoever is still logged in."""
        self.collector.stop()
        user, self.ctx.user = self.ctx.user, None
        if user is not None:
            from lottrack.records import accounts

            try:
                with self.ctx.db.session() as session:
                    accounts.record_logout(session, user, "logged out")
            except LotTrackError as error:  # leaving must not fail; say why it went unrecorded
                logger.warning("logout of %s not recorded: %s", user.username, error)

    def action_home(self) -> None:
        """Close every screen above the home screen."""
        if self.ctx.user is not None:
            from tui.home import HomeScreen

            self._replace_stack(HomeScreen())

    def action_help(self) -> None:
        """Help for the current screen (F1 again closes it)."""
        from tui.common.help import HelpScreen  # Markdown: loaded when first asked for

        screen = self.screen
        if isinstance(screen, HelpScreen):
            screen.dismiss()
            return
        markdown = (
            screen.help_markdown()
            if isinstance(screen, AppScreen)
            else (screen.HELP or "No help for this screen.")
        )
        keys = [
            (
                active.binding.key_display or self.get_key_display(active.binding),
                active.binding.description,
            )
            for active in screen.active_bindings.values()
            if active.enabled
            and active.binding.description
            and (active.binding.show or _declared_here(active.node, active.binding))
        ]
        self.push_screen(HelpScreen(markdown, keys))

    # ------------------------------------------------------------ command palette

    def palette_commands(self, screen: Screen[Any]) -> list[PaletteCommand]:
        """What the command palette offers over ``screen``: what the person's roles allow."""
        commands: list[PaletteCommand] = []
        if self.ctx.user is not None:
            from tui.destinations import DESTINATIONS
            from tui.home import HomeScreen

            if not isinstance(screen, HomeScreen):
                commands.append(
                    PaletteCommand("Home", "Back to your home screen", self.action_home)
                )
            for dest in DESTINATIONS:
                here = getattr(screen, "DESTINATION", None) == dest.name
                if self.ctx.can(dest.action) and not here:
                    commands.append(
                        PaletteCommand(
                            dest.title,
                            dest.description,
                            partial(self.open_destination, dest.name),
                        )
                    )
            commands.extend(self._screen_commands(screen))
            commands.append(
                PaletteCommand("Log out", "Back to the login screen", self.action_logout)
            )
        commands.append(PaletteCommand("Help", "Help for this screen (F1)", self.action_help))
        commands.append(PaletteCommand("Quit", "Leave lottrack", self.action_quit))
        return commands

    def _screen_commands(self, screen: Screen[object]) -> list[PaletteCommand]:
        """The keys of ``screen`` shown in its footer, each as a palette entry that does
        what the key does (also what a key that is not open says about why)."""
        out: list[PaletteCommand] = []
        seen: set[str] = set()
        for cls in type(screen).__mro__:
            if not cls.__module__.startswith("tui."):
                continue
            for binding in cls.__dict__.get("BINDINGS", ()):
                if (
                    not isinstance(binding, Binding)
                    or not binding.show
                    or not binding.description
                    or binding.action.startswith("app.")
                    or binding.key in seen
                    or binding.key == "escape"
                ):
                    continue
                seen.add(binding.key)
                out.append(
                    PaletteCommand(
                        binding.description,
                        f"This screen's key {self.get_key_display(binding)}",
                        partial(self._press_screen_key, screen, binding.key),
                    )
                )
        return out

    async def _press_screen_key(self, screen: Screen[object], key: str) -> None:
        """Run the first binding of ``key`` on ``screen`` that is enabled (as a key press
        would)."""
        for cls in type(screen).__mro__:
            for binding in cls.__dict__.get("BINDINGS", ()):
                if (
                    isinstance(binding, Binding)
                    and binding.key == key
                    and await self.run_action(binding.action, screen)
                ):
                    return

    # --------------------------------------------------------------------- errors

    def show_error(self, error: BaseException) -> None:
        """The one place where a worker's failure becomes visible (never a traceback) and
        reaches the log (with its traceback when it was unexpected)."""
        from lottrack.kernel.logs import log_failure  # not before the login screen (#18)

        log_failure(logger, f"an action on {type(self.screen).__name__}", error)
        if isinstance(error, LotTrackError):
            self.notify(
                error.message, title=error.title, severity="error", timeout=10, markup=False
            )
            return
        self.notify(
            f"The action did not complete ({type(error).__name__}: {first_line(error)}). "
            "Check the result before trying again; if this happens again, tell your "
            "administrator.",
            title="Unexpected error",
            severity="error",
            timeout=15,
            markup=False,
        )


def _declared_here(node: object, binding: Binding) -> bool:
    """True for a binding lottrack declares (not one Textual adds to every screen)."""
    return any(
        cls.__module__.startswith("tui.") and binding in cls.__dict__.get("BINDINGS", ())
        for cls in type(node).__mro__
    )


def make_app(db: Database | str, *, clock: Clock | None = None) -> LotTrackApp:
    """Build the app from its dependencies (the CLI and every test call this): an open
    database, or the URL of one, which the app opens behind its login screen."""
    ctx = AppContext(url=db if isinstance(db, str) else db.url, clock=clock or local_clock)
    if not isinstance(db, str):
        ctx.db = db
    return LotTrackApp(ctx)


def run_app(url: str) -> None:
    """Run the terminal UI on the database at ``url`` until the person quits."""
    app = make_app(url)
    console = TextualHandler()  # log records also reach the Textual devtools console
    logging.getLogger().addHandler(console)
    try:
        app.run()
    finally:
        logging.getLogger().removeHandler(console)
        if app.ctx.db_open:
            app.ctx.db.dispose()
