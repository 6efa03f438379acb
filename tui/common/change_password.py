"""Choose a new password when the old one has expired or was reset, then log in."""

from __future__ import annotations

from dataclasses import dataclass

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Center, Vertical
from textual.content import Content
from textual.message import Message
from textual.widgets import Button, Input, Static
from textual.worker import Worker, WorkerState
from typing_extensions import override

from lottrack.kernel.errors import LotTrackError
from lottrack.records import accounts
from lottrack.storage.db import Database
from tui.common.screen import AppScreen
from tui.context import SessionStart
from tui.widgets.key_footer import KeyFooter
from tui.widgets.session_header import SessionHeader


@dataclass
class PasswordChanged(Message):
    """The password was changed and the person is logged in with the new one."""

    start: SessionStart


@dataclass
class PasswordChangeRefused(Message):
    """The service refused the change (wrong old password, too short, …)."""

    message: str
    field: str | None


class ChangePasswordScreen(AppScreen):
    """Old password, new password, confirmation."""

    HELP = """\
# Change your password

Your password has expired, or an administrator set it (a new account or a reset). Type
the **current** password, then the **new** one twice. The new password must follow the
password policy (the message says what is missing) and differ from your last five.

Press **Escape** to go back to the login screen without changing anything.
"""

    BINDINGS = [
        Binding("escape", "back", "Back to login"),
        Binding("enter", "enter", show=False, priority=True),
    ]

    def __init__(self, username: str, reason: str) -> None:
        super().__init__()
        self.username = username
        self._reason = reason

    def compose(self) -> ComposeResult:
        """The change-password box."""
        yield SessionHeader()
        with Center(), Vertical(id="password-box", classes="dialog"):
            yield Static(Content(f"New password for {self.username}"), classes="dialog-title")
            yield Static(Content(self._reason), id="password-reason")
            yield Input(placeholder="Current password", password=True, id="old")
            yield Input(placeholder="New password", password=True, id="new")
            yield Input(placeholder="New password again", password=True, id="confirm")
            yield Static("", id="password-message", classes="message")
            yield Button("Change password and log in", id="change", variant="primary")
        yield KeyFooter()

    def on_mount(self) -> None:
        """Start in the current-password field."""
        self.query_one("#old", Input).focus()

    def action_back(self) -> None:
        """Back to the login screen."""
        self.dismiss()

    @override
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """The Enter binding applies in the first two fields only (see LoginScreen)."""
        if action == "enter":
            return self.focused is not None and self.focused.id in ("old", "new")
        return True

    def action_enter(self) -> None:
        """Enter moves to the next field at once; in the last field it submits."""
        following = "#new" if self.focused is not None and self.focused.id == "old" else "#confirm"
        self.set_focus(self.query_one(following, Input))

    @on(Input.Submitted, "#confirm")
    @on(Button.Pressed, "#change")
    def _submit(self) -> None:
        if self.query_one("#change", Button).disabled:
            return  # already changing
        old = self.query_one("#old", Input).value
        new = self.query_one("#new", Input).value
        confirm = self.query_one("#confirm", Input).value
        if new != confirm:
            self._error("The new password and its confirmation differ.", "#confirm")
            return
        self.query_one("#change", Button).disabled = True
        self._change(self.ctx.db, self.username, old, new)

    @work(thread=True, exclusive=True, exit_on_error=False)
    def _change(self, db: Database, username: str, old: str, new: str) -> None:
        try:
            with db.session() as session:
                accounts.change_password(session, username, old, new)
            with db.session() as session:
                user = accounts.authenticate(session, username, new)
            start = self.lottrack.session_start(db, user)  # once the login is committed
        except LotTrackError as exc:
            self.post_message(PasswordChangeRefused(exc.message, getattr(exc, "field", None)))
        else:
            self.post_message(PasswordChanged(start))

    @on(PasswordChanged)
    def _changed(self, message: PasswordChanged) -> None:
        self.app.notify("Password changed.")
        self.lottrack.start_session(message.start)

    @on(PasswordChangeRefused)
    def _refused(self, message: PasswordChangeRefused) -> None:
        focus = "#new" if message.field == "password" else "#old"
        self._error(message.message, focus)

    @on(Worker.StateChanged)
    def _worker_done(self, event: Worker.StateChanged) -> None:
        if event.state in (WorkerState.SUCCESS, WorkerState.ERROR, WorkerState.CANCELLED):
            self.query_one("#change", Button).disabled = False

    def _error(self, text: str, focus: str) -> None:
        line = self.query_one("#password-message", Static)
        line.update(Content(text))
        line.add_class("error")
        self.query_one(focus, Input).focus()
