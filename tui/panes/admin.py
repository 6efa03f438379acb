"""Administrator home: the state of the accounts, and the way to the Users screen."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.content import Content
from textual.widgets import Button, Static
from typing_extensions import override

from lottrack.records import accounts
from lottrack.records.permissions import ADMIN, CurrentUser
from tui.context import app_of
from tui.panes.base import RolePane


@dataclass(frozen=True)
class AccountSummary:
    """Counts of accounts by state, and who needs attention."""

    total: int
    active: int
    disabled: int
    locked: tuple[str, ...]
    failing: tuple[str, ...]


class AccountsPane(RolePane):
    """How many accounts there are, which are locked, and buttons to the admin screens."""

    ROLE = ADMIN
    TAB_LABEL = "Admin"
    TITLE = "Administration"
    HINT = "Accounts of everyone who uses lottrack."
    HELP = (
        "**Administration** summarises the accounts. Press **u** for the Users screen "
        "(add, disable, enable, unlock, reset passwords), **a** for the audit trail, "
        "**s** for the specifications and **t** for the sites."
    )

    @override
    def compose_body(self) -> ComposeResult:
        """Summary lines and buttons."""
        yield Static("", id="accounts-summary")
        yield Static("", id="accounts-attention")
        with Horizontal(id="admin-buttons"):
            yield Button("Users…", id="open-users", compact=True)
            yield Button("Audit trail…", id="open-audit", compact=True)

    @classmethod
    @override
    def fetch(cls, session: Session, who: CurrentUser) -> AccountSummary:
        """Count the accounts through the accounts service."""
        rows = accounts.list_users(session, who)
        return AccountSummary(
            total=len(rows),
            active=sum(1 for r in rows if r["active"]),
            disabled=sum(1 for r in rows if not r["active"]),
            locked=tuple(str(r["username"]) for r in rows if r["locked"]),
            failing=tuple(
                str(r["username"]) for r in rows if not r["locked"] and r["failed_logins"] != 0
            ),
        )

    @override
    def show(self, data: AccountSummary) -> None:
        """Write the counts and the accounts that need attention."""
        self.query_one("#accounts-summary", Static).update(
            Content(
                f"{data.total} accounts: {data.active} active, {data.disabled} disabled, "
                f"{len(data.locked)} locked."
            )
        )
        lines = []
        if data.locked:
            lines.append(f"Locked (unlock on the Users screen): {', '.join(data.locked)}")
        if data.failing:
            lines.append(f"Recent failed logins: {', '.join(data.failing)}")
        self.query_one("#accounts-attention", Static).update(
            Content("\n".join(lines) or "No account needs attention.")
        )

    @on(Button.Pressed, "#open-users")
    def _users(self) -> None:
        app_of(self).open_destination("users")

    @on(Button.Pressed, "#open-audit")
    def _audit(self) -> None:
        app_of(self).open_destination("audit")
