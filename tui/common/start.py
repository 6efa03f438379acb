"""When the database cannot be logged into: empty (offer the demo or ``lottrack init``),
outdated or unavailable; the app shows it instead of the login screen."""

from __future__ import annotations

from dataclasses import dataclass

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Center, Horizontal, Vertical
from textual.content import Content
from textual.message import Message
from textual.widgets import Button, LoadingIndicator, Static
from textual.worker import Worker, WorkerState
from typing_extensions import override

from lottrack.demo import database as demo
from lottrack.kernel import environment
from lottrack.kernel.errors import LotTrackError
from lottrack.kernel.locations import default_url, demo_url
from lottrack.storage.db import Database
from tui.common.screen import AppScreen
from tui.context import database_location
from tui.opening import DatabaseState, open_database
from tui.widgets.key_footer import KeyFooter
from tui.widgets.session_header import SessionHeader
from tui.workers import post_if_current


def init_command(url: str) -> str:
    """The ``lottrack init`` command line for this database (password never shown)."""
    if not environment.read().database_url and url == default_url():
        return "lottrack init"
    return f"lottrack --db {database_location(url)} init"


def facility_key_problem() -> str:
    """Create the facility's document-signing key as ``lottrack demo`` and ``init`` do (runs
    in a worker thread); returns why it could not be created, or "" when it exists."""
    from lottrack.views.documents.signing import default_key_dir, ensure_facility_key

    directory = default_key_dir()
    try:
        ensure_facility_key(directory)
    except LotTrackError as exc:
        return exc.message
    except OSError as exc:
        return (
            f"The facility signing key could not be created in {directory} "
            f"({exc.strerror or exc}); labels and certificates cannot be printed until "
            "it exists."
        )
    return ""


def demo_target_url(url: str) -> str:
    """Where "create the demo" writes, mirroring ``lottrack demo``.

    A database the person chose (``--db`` or ``$LOTTRACK_DATABASE_URL``) gets the demo
    itself; the default database is left alone and the separate demo file is used.
    """
    if not environment.read().database_url and url == default_url():
        return demo_url()
    return url


class StartScreen(AppScreen):
    """Says what the check of the database found and what can be done; checks again (in
    a worker) after a retry or once the demo is built, then hands over to the login."""

    HELP = """\
# Opening the database

lottrack checks that the database has its schema and at least one account.

* **Empty database**: press **d** to create a demo database (demo people and data, for
  trying lottrack out; never for real records), or quit and run `lottrack init` to
  create the real database and its first administrator.
* **Outdated schema**: quit and run `lottrack init`; it upgrades the schema and keeps
  every row.
"""

    BINDINGS = [
        Binding("d", "create_demo", "Create demo"),
        Binding("r", "check", "Retry"),
        Binding("q", "app.quit", "Quit"),
    ]

    @dataclass
    class Checked(Message):
        """The database check finished (``db`` is None when the URL cannot be used)."""

        state: DatabaseState
        db: Database | None

    @dataclass
    class DemoBuilt(Message):
        """The demo database was built into ``db``."""

        db: Database
        key_problem: str = ""
        """Why the facility signing key could not be created ("" when it exists)."""

    @dataclass
    class DemoRefused(Message):
        """The demo could not be built here (the core said why)."""

        title: str
        message: str

    def __init__(self, found: DatabaseState | None = None) -> None:
        super().__init__()
        self.state: DatabaseState | None = None
        self.busy = True
        self._found = found
        """What the app's check found (shown at once), or None to check on mount."""

    def compose(self) -> ComposeResult:
        """A box that says what was found and offers what can be done."""
        yield SessionHeader()
        with Center(), Vertical(id="start-box", classes="dialog"):
            yield Static("Opening the database", id="start-title", classes="dialog-title")
            yield Static(Content(database_location(self.ctx.url)), id="start-location")
            yield LoadingIndicator(id="start-loading")
            yield Static("", id="start-message")
            yield Static("", id="start-hint", classes="hint")
            with Horizontal(id="start-buttons", classes="buttons"):
                yield Button("Create demo database", id="demo", variant="primary")
                yield Button("Retry", id="retry")
                yield Button("Quit", id="quit", variant="error")
        yield KeyFooter()

    def on_mount(self) -> None:
        """Show what the app found, or start checking at once."""
        self._show_buttons()
        if self._found is None:
            self.action_check()
        else:
            self._show_state(self._found)

    @override
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Offer "create demo" only for an empty database, "retry" only after a problem."""
        if action == "create_demo":
            return not self.busy and self.state is not None and self.state.kind == "empty"
        if action == "check":
            return (
                not self.busy
                and self.state is not None
                and self.state.kind in ("outdated", "unavailable")
            )
        return True

    def action_check(self) -> None:
        """Look at the database (again)."""
        self._set_busy("Opening the database")
        self._check(self.ctx.url, self.ctx.db if self.ctx.db_open else None)

    def action_create_demo(self) -> None:
        """Build the demo (asks nothing: the target is named on screen)."""
        if not self.check_action("create_demo", ()):
            return
        self._set_busy("Creating the demo database")
        self._build(self.ctx.db, demo_target_url(self.ctx.url))

    @work(thread=True, exclusive=True, exit_on_error=False)
    def _check(self, url: str, db: Database | None) -> None:
        opened, state = open_database(url, db)
        post_if_current(self, self.Checked(state, opened))

    @work(thread=True, exclusive=True, exit_on_error=False)
    def _build(self, current: Database, url: str) -> None:
        target = current if url == current.url else Database(url)
        try:
            if target is current or demo.is_demo(target) is not True:
                demo.build(target)
        except LotTrackError as exc:
            self.post_message(self.DemoRefused(exc.title, exc.message))
            return
        self.post_message(self.DemoBuilt(target, facility_key_problem()))

    @on(Checked)
    def _checked(self, message: Checked) -> None:
        if message.db is not None and not self.ctx.db_open:
            self.lottrack.use_database(message.db)
        if message.state.kind == "ready":
            self.lottrack.database_ready(message.state)
            self.lottrack.show_login()
            return
        self._show_state(message.state)

    def _show_state(self, state: DatabaseState) -> None:
        self.state = state
        self.busy = False
        target_url = demo_target_url(self.ctx.url)
        title, text, hint = {
            "empty": (
                "This database is empty",
                state.detail,
                "Create a demo database to try lottrack out"
                + (
                    ""
                    if target_url == self.ctx.url
                    else f" (it goes to {database_location(target_url)})"
                )
                + f", or quit and run `{init_command(self.ctx.url)}` to set up the real "
                "database and its first administrator.",
            ),
            "outdated": (
                "This database needs an upgrade",
                state.detail,
                f"Quit and run `{init_command(self.ctx.url)}`: it upgrades the schema and "
                "keeps every row.",
            ),
            "unavailable": (
                "The database cannot be opened",
                state.detail,
                "Check the --db option or $LOTTRACK_DATABASE_URL (and that the server is "
                "running), then press r to retry.",
            ),
        }[state.kind]
        self._show(title, text, hint)

    @on(DemoBuilt)
    def _demo_built(self, message: DemoBuilt) -> None:
        if message.db is not self.ctx.db:
            self.lottrack.use_database(message.db)
        self.query_one("#start-location", Static).update(Content(database_location(message.db.url)))
        self.app.notify("Demo database created.", title="Demo")
        if message.key_problem:
            self.app.notify(
                message.key_problem,
                title="No signing key",
                severity="warning",
                timeout=15,
                markup=False,
            )
        self.action_check()

    @on(DemoRefused)
    def _demo_refused(self, message: DemoRefused) -> None:
        self.busy = False
        self._show(message.title, message.message, "Quit and choose another --db.")

    @on(Worker.StateChanged)
    def _worker_done(self, event: Worker.StateChanged) -> None:
        if event.state in (WorkerState.ERROR, WorkerState.CANCELLED):
            self.busy = False
            self._show("Something went wrong", "See the notification.", "")

    @on(Button.Pressed, "#demo")
    def _demo_pressed(self) -> None:
        self.action_create_demo()

    @on(Button.Pressed, "#retry")
    def _retry_pressed(self) -> None:
        self.action_check()

    @on(Button.Pressed, "#quit")
    def _quit_pressed(self) -> None:
        self.app.exit()

    def _set_busy(self, title: str) -> None:
        self.busy = True
        self.state = None
        self.query_one("#start-title", Static).update(title)
        self.query_one("#start-loading").display = True
        self.query_one("#start-message", Static).update("")
        self.query_one("#start-hint", Static).update("")
        self._show_buttons()

    def _show(self, title: str, text: str, hint: str) -> None:
        self.query_one("#start-title", Static).update(Content(title))
        self.query_one("#start-loading").display = False
        self.query_one("#start-message", Static).update(Content(text))
        self.query_one("#start-hint", Static).update(Content(hint))
        self._show_buttons()

    def _show_buttons(self) -> None:
        self.query_one("#demo").display = bool(self.check_action("create_demo", ()))
        self.query_one("#retry").display = bool(self.check_action("check", ()))
        self.query_one("#quit").display = not self.busy
        self.refresh_bindings()
        focus = next((b for b in self.query(Button) if b.display), None)
        if focus is not None:
            focus.focus()
