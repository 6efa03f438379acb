"""The electronic-signature dialog (design §6.2), shared by every screen that signs.

It asks for both components again, every time: username and password. It shows what is
signed and the meaning of the signature in words (``signatures.MEANINGS``), and only
collects: the service verifies the credentials, counts a failure towards the lock-out
and writes nothing else when they are wrong. To show the service's refusal, open the
dialog again with ``message``.

    def signed(creds: Credentials | None) -> None: ...
    app.push_screen(SignatureModal("released", "Release lot L-A99992500001"), signed)
"""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static
from typing_extensions import override

from lottrack.signatures import MEANINGS, Credentials


class SignatureModal(ModalScreen[Credentials | None]):
    """Returns the typed :class:`~lottrack.signatures.Credentials`, or None when cancelled."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel"),
        Binding("enter", "next_field", show=False, priority=True),
        Binding("tab", "app.focus_next", show=False, priority=True),
        Binding("shift+tab", "app.focus_previous", show=False, priority=True),
    ]

    def __init__(self, meaning: str, subject_text: str, *, message: str = "") -> None:
        if meaning not in MEANINGS:
            raise ValueError(f"{meaning!r} is not a signature meaning")
        super().__init__()
        self.meaning = meaning
        self.subject_text = subject_text
        self._message = message

    def compose(self) -> ComposeResult:
        """What is signed, the meaning in words, username, password, buttons."""
        with Vertical(classes="modal-box", id="signature-box"):
            yield Static("Electronic signature", classes="dialog-title")
            yield Static(Content(self.subject_text), id="signature-subject")
            yield Static(Content(f"Meaning: “{MEANINGS[self.meaning]}” ({self.meaning})"),
                         id="signature-meaning")
            with Grid(classes="form"):
                yield Label("Username")
                yield Input(id="sign-username", compact=True)
                yield Label("Password")
                yield Input(id="sign-password", password=True, compact=True)
            yield Static(Content(self._message), id="signature-message",
                         classes="message error" if self._message else "message")
            yield Static("Signing is the legally binding equivalent of your handwritten "
                         "signature.", classes="hint")
            with Horizontal(classes="buttons"):
                yield Button("Sign", id="sign", variant="primary", compact=True)
                yield Button("Cancel", id="cancel", compact=True)

    def on_mount(self) -> None:
        """Type the username first (never filled in: both components, every time)."""
        self.query_one("#sign-username", Input).focus()

    @override
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Enter in the username field moves on; in the password field it signs."""
        if action == "next_field":
            return self.focused is not None and self.focused.id == "sign-username"
        return True

    def action_next_field(self) -> None:
        """Priority Enter: a typed-ahead password never lands in the username field."""
        self.set_focus(self.query_one("#sign-password", Input))

    @on(Input.Submitted, "#sign-password")
    @on(Button.Pressed, "#sign")
    def _sign(self) -> None:
        username = self.query_one("#sign-username", Input).value.strip()
        password = self.query_one("#sign-password", Input).value
        line = self.query_one("#signature-message", Static)
        if not username or not password:
            line.update("Type your username and your password.")
            line.add_class("error")
            self.set_focus(self.query_one("#sign-username" if not username
                                          else "#sign-password", Input))
            return
        self.dismiss(Credentials(username, password))

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        """Close: nothing is signed."""
        self.dismiss(None)
