"""The add-user form. Returns what was typed; the accounts service validates it."""

from __future__ import annotations

from dataclasses import dataclass, field

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, SelectionList, Static
from textual.widgets.selection_list import Selection

from lottrack.permissions import ROLE_NAMES, ROLES


@dataclass(frozen=True)
class NewUserForm:
    """What the administrator typed."""

    username: str
    full_name: str
    roles: tuple[str, ...]
    password: str = field(repr=False)


FIELD_WIDGETS = {"username": "#username", "full_name": "#full-name", "roles": "#roles",
                 "password": "#password"}
"""Which widget to focus for a ``ValidationError.field`` of the service."""


class NewUserModal(ModalScreen[NewUserForm | None]):
    """Username, printed name, roles, password twice.

    Shown again with the values and the service's message when the service refuses them.
    """

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, initial: NewUserForm | None = None, error: str = "",
                 error_field: str | None = None) -> None:
        super().__init__()
        self._initial = initial
        self._error = error
        self._error_field = error_field

    def compose(self) -> ComposeResult:
        """The form."""
        form = self._initial
        chosen = set(form.roles) if form else set()
        with Vertical(classes="modal-box", id="new-user-box"):
            yield Static("Add a user", classes="dialog-title")
            with Grid(classes="form"):
                yield Label("Username")
                yield Input(form.username if form else "", id="username", compact=True,
                            placeholder="e.g. jdoe")
                yield Label("Printed name")
                yield Input(form.full_name if form else "", id="full-name", compact=True,
                            placeholder="as printed in signatures")
                yield Label("Password")
                yield Input(form.password if form else "", id="password", password=True,
                            compact=True)
                yield Label("Again")
                yield Input(form.password if form else "", id="confirm", password=True,
                            compact=True)
            yield Label("Roles (space to tick)")
            yield SelectionList[str](
                *(Selection(f"{role} — {ROLE_NAMES[role]}", role, role in chosen)
                  for role in ROLES),
                id="roles", compact=True,
            )
            message = Static(Content(self._error), id="new-user-message", classes="message")
            message.set_class(bool(self._error), "error")
            yield message
            with Horizontal(classes="buttons"):
                yield Button("Add", id="ok", variant="primary", compact=True)
                yield Button("Cancel", id="cancel", compact=True)

    def on_mount(self) -> None:
        """Focus the field the service complained about, else the first."""
        target = FIELD_WIDGETS.get(self._error_field or "", "#username")
        self.query_one(target).focus()

    @on(Input.Submitted, "#username")
    def _to_name(self) -> None:
        self.query_one("#full-name").focus()

    @on(Input.Submitted, "#full-name")
    def _to_password(self) -> None:
        self.query_one("#password").focus()

    @on(Input.Submitted, "#password")
    def _to_confirm(self) -> None:
        self.query_one("#confirm").focus()

    @on(Input.Submitted, "#confirm")
    def _to_roles(self) -> None:
        self.query_one("#roles").focus()

    @on(Button.Pressed, "#ok")
    def _ok(self) -> None:
        password = self.query_one("#password", Input).value
        if password != self.query_one("#confirm", Input).value:
            message = self.query_one("#new-user-message", Static)
            message.update("The two passwords differ.")
            message.add_class("error")
            self.query_one("#confirm").focus()
            return
        roles: SelectionList[str] = self.query_one("#roles", SelectionList)
        self.dismiss(NewUserForm(
            username=self.query_one("#username", Input).value,
            full_name=self.query_one("#full-name", Input).value,
            roles=tuple(roles.selected),
            password=password,
        ))

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        """Close: nobody is added."""
        self.dismiss(None)
