"""Users (administrators): accounts and their state; add, disable, enable, unlock, reset."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from rich.text import Text
from sqlmodel import Session
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.content import Content
from textual.message import Message
from textual.widgets import DataTable, Static
from textual.worker import Worker, WorkerState
from typing_extensions import override

from lottrack.kernel.errors import LotTrackError, ValidationError
from lottrack.records import accounts
from lottrack.records.permissions import Action, CurrentUser
from lottrack.storage.db import Database
from tui.admin.list_layout import compose_list
from tui.admin.new_user import NewUserForm, NewUserModal
from tui.admin.reset_password import ResetPasswordModal
from tui.common.screen import AppScreen
from tui.dialogs.reason import ReasonModal
from tui.widgets.record_table import RecordTable, highlighted_key, refill
from tui.workers import post_if_current

Change = Callable[[Session], None]
"""A service call to make in a write session (built on the UI thread from plain values)."""


@dataclass(frozen=True)
class AccountRow:
    """One account as the table shows it (a copy, not an ORM row)."""

    username: str
    full_name: str
    roles: str
    active: bool
    locked: bool
    failed_logins: int
    password_changed_at: dt.datetime

    @property
    def state(self) -> str:
        """Disabled, locked or active, with the count of recent failures."""
        if not self.active:
            return "disabled"
        if self.locked:
            return "LOCKED"
        return f"active, {self.failed_logins} failed" if self.failed_logins else "active"


@dataclass
class AccountsLoaded(Message):
    """The list of accounts, read by the accounts service."""

    rows: tuple[AccountRow, ...]


@dataclass
class ChangeApplied(Message):
    """A change was saved; ``summary`` says what happened."""

    summary: str


@dataclass
class ChangeRefused(Message):
    """The service refused a change; nothing was saved."""

    message: str


@dataclass
class AddUserRefused(Message):
    """The service refused the new user; the form is shown again with the message."""

    form: NewUserForm
    message: str
    field: str | None


class UsersScreen(AppScreen):
    """A table of accounts and the administrator's actions on the highlighted one."""

    DESTINATION = "users"

    HELP = """\
# Users

Every account, with its roles and state. Move with **↑/↓**; the footer shows what can
be done to the highlighted account.

* **a** add a user (one account per person: no shared accounts).
* **d** disable / **e** enable an account. A disabled person keeps their history.
* **u** unlock an account locked after repeated failed logins.
* **p** set a temporary password; the person must choose a new one at next login.

Every change asks for a reason where the audit trail records one. Refusals (for example
a taken username or a too-short password) are shown under the table.
"""

    BINDINGS = [
        Binding("a", "add", "Add"),
        Binding("d", "disable", "Disable"),
        Binding("e", "enable", "Enable"),
        Binding("u", "unlock", "Unlock"),
        Binding("p", "reset", "Password", tooltip="Set a temporary password"),
        Binding("r", "reload", "Refresh", show=False),
        Binding("escape", "back", "Back"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[str, AccountRow] = {}

    def compose(self) -> ComposeResult:
        """Header, title, table, status line, footer."""
        table: DataTable[Text] = RecordTable(
            id="users-table", cursor_type="row", zebra_stripes=True
        )
        table.add_columns("Username", "State", "Name", "Roles", "Password set")
        yield from compose_list("users", "Users", table)

    def on_mount(self) -> None:
        """Read the accounts."""
        self.action_reload()
        self.query_one("#users-table").focus()

    # ----------------------------------------------------------------- what is allowed

    def selected(self) -> AccountRow | None:
        """The highlighted account."""
        return self.rows.get(highlighted_key(self.query_one("#users-table", DataTable)) or "")

    @override
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Hide what does not apply to the highlighted account (the service checks again)."""
        if action not in {"add", "disable", "enable", "unlock", "reset"}:
            return True
        if not self.ctx.can(Action.MANAGE_USERS):
            return False
        if action == "add":
            return True
        row = self.selected()
        if row is None:
            return None
        if action == "disable":
            return row.active
        if action == "enable":
            return not row.active
        if action == "unlock":
            return row.locked or row.failed_logins > 0
        return True

    @on(DataTable.RowHighlighted)
    def _highlighted(self) -> None:
        self.refresh_bindings()

    # ------------------------------------------------------------------------ actions

    def action_back(self) -> None:
        """Back to the home screen."""
        self.dismiss()

    def action_reload(self) -> None:
        """Read the accounts again."""
        self.query_one("#users-loading").display = True
        if self.ctx.user is not None:
            self._load(self.ctx.db, self.ctx.user)

    def action_add(
        self, form: NewUserForm | None = None, error: str = "", field: str | None = None
    ) -> None:
        """Open the add-user form (again, with the service's message, after a refusal)."""

        def added(result: NewUserForm | None) -> None:
            if result is not None:
                self._create(self.ctx.db, self._who(), result)

        self.app.push_screen(NewUserModal(form, error, field), added)

    def action_disable(self) -> None:
        """Disable the highlighted account, with a reason."""
        self._with_reason(
            "Disable",
            "disabled",
            lambda who, name, why: lambda s: accounts.set_active(s, who, name, False, why),
        )

    def action_enable(self) -> None:
        """Enable the highlighted account again, with a reason."""
        self._with_reason(
            "Enable",
            "enabled",
            lambda who, name, why: lambda s: accounts.set_active(s, who, name, True, why),
        )

    def action_unlock(self) -> None:
        """Lift the lock-out of the highlighted account, with a reason."""
        self._with_reason(
            "Unlock",
            "unlocked",
            lambda who, name, why: lambda s: accounts.unlock(s, who, name, why),
        )

    def action_reset(self) -> None:
        """Give the highlighted account a temporary password."""
        row = self.selected()
        if row is None:
            return
        who, name = self._who(), row.username

        def chosen(password: str | None) -> None:
            if password is not None:
                self._apply(
                    self.ctx.db,
                    lambda s: accounts.reset_password(s, who, name, password),
                    f"{name} has a temporary password and must change it at next login.",
                )

        self.app.push_screen(ResetPasswordModal(name), chosen)

    def _with_reason(
        self,
        verb: str,
        done: str,
        make: Callable[[CurrentUser, str, str], Change],
    ) -> None:
        row = self.selected()
        if row is None:
            return
        who, name = self._who(), row.username

        def reasoned(reason: str | None) -> None:
            if reason is not None:
                self._apply(self.ctx.db, make(who, name, reason), f"{name} is now {done}.")

        self.app.push_screen(
            ReasonModal(
                f"{verb} {name} ({row.full_name})",
                f"Why is the account of {row.full_name} being {done}?",
                verb,
            ),
            reasoned,
        )

    def _who(self) -> CurrentUser:
        user = self.ctx.user
        if user is None:
            raise RuntimeError("the users screen needs a logged-in person")
        return user

    # ------------------------------------------------------------------------ workers

    @work(thread=True, exclusive=True, exit_on_error=False, group="load")
    def _load(self, db: Database, who: CurrentUser) -> None:
        with db.reader() as session:
            rows = accounts.list_users(session, who)
        post_if_current(
            self,
            AccountsLoaded(
                tuple(
                    AccountRow(
                        username=str(r["username"]),
                        full_name=str(r["full_name"]),
                        roles=str(r["roles"]),
                        active=bool(r["active"]),
                        locked=bool(r["locked"]),
                        failed_logins=int(r["failed_logins"]),  # type: ignore[call-overload]
                        password_changed_at=r["password_changed_at"],  # type: ignore[arg-type]
                    )
                    for r in rows
                )
            ),
        )

    @work(thread=True, exclusive=True, exit_on_error=False, group="change")
    def _apply(self, db: Database, change: Change, summary: str) -> None:
        try:
            with db.session() as session:
                change(session)
        except LotTrackError as exc:
            self.post_message(ChangeRefused(exc.message))
        else:
            self.post_message(ChangeApplied(summary))

    @work(thread=True, exclusive=True, exit_on_error=False, group="change")
    def _create(self, db: Database, who: CurrentUser, form: NewUserForm) -> None:
        try:
            with db.session() as session:
                created = accounts.create_user(
                    session,
                    who,
                    username=form.username,
                    full_name=form.full_name,
                    roles=form.roles,
                    password=form.password,
                )
        except ValidationError as exc:
            self.post_message(AddUserRefused(form, exc.message, exc.field))
        except LotTrackError as exc:
            self.post_message(ChangeRefused(exc.message))
        else:
            self.post_message(
                ChangeApplied(
                    f"Added {created.username} ({created.full_name}): "
                    f"{', '.join(sorted(created.roles))}."
                )
            )

    # ----------------------------------------------------------------------- results

    @on(AccountsLoaded)
    def _loaded(self, message: AccountsLoaded) -> None:
        tz = self.ctx.clock().tzinfo
        self.rows = refill(
            self.query_one("#users-table", DataTable),
            message.rows,
            lambda row: row.username,
            lambda row: (
                Text(row.username),
                Text(row.state, style="bold red" if row.locked else ""),
                Text(row.full_name),
                Text(row.roles.replace(",", ", ")),
                Text(row.password_changed_at.astimezone(tz).strftime("%Y-%m-%d")),
            ),
        )
        self.query_one("#users-loading").display = False
        self.refresh_bindings()

    @on(Worker.StateChanged)
    def _worker_failed(self, event: Worker.StateChanged) -> None:
        # The app shows the error; the screen stops looking busy.
        if event.state is WorkerState.ERROR:
            self.query_one("#users-loading").display = False

    @on(ChangeApplied)
    def _applied(self, message: ChangeApplied) -> None:
        self._status(message.summary, error=False)
        self.action_reload()

    @on(ChangeRefused)
    def _refused(self, message: ChangeRefused) -> None:
        self._status(message.message, error=True)

    @on(AddUserRefused)
    def _add_refused(self, message: AddUserRefused) -> None:
        self._status(message.message, error=True)
        self.action_add(message.form, message.message, message.field)

    def _status(self, text: str, *, error: bool) -> None:
        line = self.query_one("#users-status", Static)
        line.update(Content(text))
        line.set_class(error, "error")
        line.set_class(not error, "success")
