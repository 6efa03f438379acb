"""Screens a person can open from their home, each guarded by a permission of the core.

A destination is one line here: the home screen binds its key (shown in the footer only
to people whose roles allow the action), the command palette lists it, and
``LotTrackApp.action_open`` checks the permission again before pushing the screen. The
service the screen calls enforces the permission a third time.

To add one (lots, visits, reagent lots, …) write the screen in ``tui/screens/`` and append
a :class:`Destination` to :data:`DESTINATIONS`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from textual.screen import Screen

from lottrack.permissions import Action


def _users_screen() -> Screen[Any]:
    from tui.screens.users import UsersScreen

    return UsersScreen()


def _audit_screen() -> Screen[Any]:
    from tui.screens.audit import AuditScreen

    return AuditScreen()


@dataclass(frozen=True)
class Destination:
    """A screen reachable from the home screen and the command palette."""

    name: str
    """Identifier used in the action string ``app.open('name')``."""
    title: str
    """What the footer and the palette call it."""
    description: str
    """One line of help in the command palette."""
    key: str
    """Key on the home screen."""
    action: Action
    """The permission needed (from the core's permission table)."""
    screen: Callable[[], Screen[Any]]
    """Builds the screen (imported lazily, so screens may import this module)."""


DESTINATIONS: tuple[Destination, ...] = (
    Destination(
        "users", "Users", "Accounts: add, disable, enable, unlock, reset passwords",
        "u", Action.MANAGE_USERS, _users_screen,
    ),
    Destination(
        "audit", "Audit trail", "Verify the hash-chained audit trail and every record",
        "a", Action.VIEW_AUDIT, _audit_screen,
    ),
)

BY_NAME: dict[str, Destination] = {d.name: d for d in DESTINATIONS}
