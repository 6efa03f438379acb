"""Log in: username and password; refusals are shown inline with the service's message.

The screen is drawn from Textual alone, first thing at start-up: once it is on the
terminal it asks the app to open the database (:mod:`tui.opening`), and a login submitted
before the database is open waits for it, saying so.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Center, Vertical
from textual.content import Content
from textual.message import Message
from textual.widgets import Button, Input, Static
from textual.worker import Worker, WorkerState
from typing_extensions import override

from lottrack.kernel.errors import AuthenticationFailed
from tui.common.screen import AppScreen
from tui.context import SessionStart
from tui.widgets.key_footer import KeyFooter
from tui.widgets.session_header import SessionHeader

if TYPE_CHECKING:
    from lottrack.storage.db import Database

WAITING = "Opening the database… you are logged in as soon as it is open."


@dataclass
class LoginSucceeded(Message):
    """The service accepted the credentials; what the session starts with was read."""

    start: SessionStart


@dataclass
class LoginRefused(Message):
    """The service refused the login; ``message`` says why (wrong password, locked…)."""

    message: str


@dataclass
class PasswordChangeNeeded(Message):
    """The password is right but has expired (or was reset by an administrator)."""

    username: str
    message: str


def demo_accounts_hint() -> str:
    """One line naming the demo accounts (only shown for a demo database)."""
    from lottrack.demo.database import DEMO_USERS

    names = " ".join(u.username for u in DEMO_USERS)
    return f"Demo database. Accounts: {names}\nPassword: <username>-demo-pass"


class LoginScreen(AppScreen):
    """Username, masked password, Enter to log in."""

    HELP = """\
# Log in

Type your **username**, press **Enter**, type your **password** and press **Enter**.

* After 5 wrong passwords in a row the account is **locked** until an administrator
  unlocks it. Every failed login is recorded in the audit trail.
* If your password has expired (or an administrator reset it) you are asked to choose
  a new one.
* Accounts are personal: never log in for someone else.
"""

    BINDINGS = [
        Binding("enter", "enter", show=False, priority=True),
        # Typed before the terminal was put in raw mode (a login typed while the program
        # starts over SSH), Enter arrives as a line feed: ctrl+j.
        Binding("ctrl+j", "line_feed", show=False, priority=True),
    ]

    def __init__(self, notice: str = "") -> None:
        super().__init__()
        self._notice = notice
        self._waiting: tuple[str, str] | None = None
        """Username and password submitted before the database was open."""

    def compose(self) -> ComposeResult:
        """The login box."""
        yield SessionHeader()
        with Center(), Vertical(id="login-box", classes="dialog"):
            yield Static("Log in", classes="dialog-title")
            yield Input(placeholder="Username", id="username")
            yield Input(placeholder="Password", password=True, id="password")
            yield Static(Content(self._notice), id="login-message", classes="message")
            yield Button("Log in", id="login", variant="primary")
        yield Static("", id="demo-hint", classes="hint")
        yield KeyFooter()

    def on_mount(self) -> None:
        """Start in the username field; once drawn, the app reads the other screens' style
        and opens the database (the first time)."""
        self.query_one("#username", Input).focus()
        self._show_demo_hint()
        self.call_after_refresh(self.lottrack.login_drawn)

    def database_ready(self) -> None:
        """The app has opened the database: name the demo accounts, go on with a login
        that was waiting."""
        self._show_demo_hint()
        if self._waiting is not None:
            username, password = self._waiting
            self._waiting = None
            self._say("Checking…", error=False)
            self._authenticate(self.ctx.db, username, password)

    def _show_demo_hint(self) -> None:
        hint = self.query_one("#demo-hint", Static)
        hint.display = self.ctx.is_demo
        if self.ctx.is_demo:
            hint.update(Content(demo_accounts_hint()))

    @override
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """The Enter binding applies in the username field only."""
        if action == "enter":
            return self.focused is not None and self.focused.id == "username"
        return True

    def action_enter(self) -> None:
        """Enter in the username field moves to the password field.

        A priority binding moves the focus at once, so a fast typist (or a paste) who
        types "name⏎password⏎" never puts the password into the username field. Enter in
        the password field is the field's own Submitted message, which comes after the
        characters typed before it.
        """
        self.set_focus(self.query_one("#password", Input))

    def action_line_feed(self) -> None:
        """Enter typed ahead: in the username field it moves on, elsewhere it logs in
        (after the characters typed before it, which have reached their field)."""
        if self.focused is not None and self.focused.id == "username":
            self.action_enter()
        else:
            self.call_after_refresh(self._submit)

    @on(Input.Submitted, "#password")
    @on(Button.Pressed, "#login")
    def _submit(self) -> None:
        if self.query_one("#login", Button).disabled:
            return  # already checking: a second Enter must not count a second failure
        username = self.query_one("#username", Input).value.strip()
        password = self.query_one("#password", Input).value
        if not username:
            self._say("Type your username.", error=True)
            self.set_focus(self.query_one("#username", Input))
            return
        if not password:
            self._say("Type your password.", error=True)
            self.set_focus(self.query_one("#password", Input))
            return
        self.query_one("#login", Button).disabled = True
        if not self.ctx.ready:
            self._waiting = (username, password)
            self._say(WAITING, error=False)
            return
        self._say("Checking…", error=False)
        self._authenticate(self.ctx.db, username, password)

    @work(thread=True, exclusive=True, exit_on_error=False)
    def _authenticate(self, db: Database, username: str, password: str) -> None:
        from lottrack.records import accounts

        try:
            with db.session() as session:
                user = accounts.authenticate(session, username, password)
            start = self.lottrack.session_start(db, user)  # once the login is committed
        except accounts.PasswordExpired as exc:
            self.post_message(PasswordChangeNeeded(username, exc.message))
        except AuthenticationFailed as exc:
            self.post_message(LoginRefused(exc.message))
        else:
            self.post_message(LoginSucceeded(start))

    @on(LoginSucceeded)
    def _succeeded(self, message: LoginSucceeded) -> None:
        self.lottrack.start_session(message.start)

    @on(LoginRefused)
    def _refused(self, message: LoginRefused) -> None:
        self._say(message.message, error=True)
        password = self.query_one("#password", Input)
        password.value = ""
        password.focus()

    @on(PasswordChangeNeeded)
    def _change_needed(self, message: PasswordChangeNeeded) -> None:
        from tui.common.change_password import ChangePasswordScreen

        self._say("", error=False)
        self.query_one("#password", Input).value = ""
        self.app.push_screen(ChangePasswordScreen(message.username, message.message))

    @on(Worker.StateChanged)
    def _worker_done(self, event: Worker.StateChanged) -> None:
        if event.state in (WorkerState.SUCCESS, WorkerState.ERROR, WorkerState.CANCELLED):
            self.query_one("#login", Button).disabled = False
            if event.state is WorkerState.ERROR:
                self._say("", error=False)

    def _say(self, text: str, *, error: bool) -> None:
        line = self.query_one("#login-message", Static)
        line.update(Content(text))
        line.set_class(error, "error")
