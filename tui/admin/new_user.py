"""The add-user form. Returns what was typed; the accounts service validates it."""

from __future__ import annotations

from dataclasses import dataclass, field

from textual.app import ComposeResult
from textual.containers import Grid
from textual.widgets import Input, Label, SelectionList
from textual.widgets.selection_list import Selection
from typing_extensions import override

from lottrack.records.permissions import ROLE_NAMES, ROLES
from tui.dialogs.base import ModalForm


@dataclass(frozen=True)
class NewUserForm:
    """What the administrator typed."""

    username: str
    full_name: str
    roles: tuple[str, ...]
    password: str = field(repr=False)


FIELD_WIDGETS = {
    "username": "#username",
    "full_name": "#full-name",
    "roles": "#roles",
    "password": "#password",
}
"""Which widget to focus for a ``ValidationError.field`` of the service."""


class NewUserModal(ModalForm[NewUserForm]):
    """Username, printed name, password twice, roles; Enter moves on to the roles (where
    space ticks), and Add adds.

    Shown again with the values and the service's message when the service refuses them.
    """

    DIALOG_TITLE = "Add a user"
    SUBMIT = "Add"
    FIELDS = ("#username", "#full-name", "#password", "#confirm", "#roles")

    def __init__(
        self, initial: NewUserForm | None = None, error: str = "", error_field: str | None = None
    ) -> None:
        super().__init__()
        self._initial = initial
        self._error = error
        self._error_field = error_field

    @override
    def compose_body(self) -> ComposeResult:
        """The form."""
        form = self._initial
        chosen = set(form.roles) if form else set()
        with Grid(classes="form"):
            yield Label("Username")
            yield Input(
                form.username if form else "", id="username", compact=True, placeholder="e.g. jdoe"
            )
            yield Label("Printed name")
            yield Input(
                form.full_name if form else "",
                id="full-name",
                compact=True,
                placeholder="as printed in signatures",
            )
            yield Label("Password")
            yield Input(form.password if form else "", id="password", password=True, compact=True)
            yield Label("Again")
            yield Input(form.password if form else "", id="confirm", password=True, compact=True)
        yield Label("Roles (space to tick)")
        yield SelectionList[str](
            *(Selection(f"{role} — {ROLE_NAMES[role]}", role, role in chosen) for role in ROLES),
            id="roles",
            compact=True,
        )

    @override
    def initial_message(self) -> str:
        return self._error

    @override
    def first_field(self) -> str:
        """The field the service complained about, else the first."""
        return FIELD_WIDGETS.get(self._error_field or "", "#username")

    @override
    def submit(self) -> None:
        password = self.query_one("#password", Input).value
        if password != self.query_one("#confirm", Input).value:
            self.say("The two passwords differ.", focus="#confirm")
            return
        roles: SelectionList[str] = self.query_one("#roles", SelectionList)
        self.dismiss(
            NewUserForm(
                username=self.query_one("#username", Input).value,
                full_name=self.query_one("#full-name", Input).value,
                roles=tuple(roles.selected),
                password=password,
            )
        )
