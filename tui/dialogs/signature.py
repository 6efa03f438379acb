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

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid
from textual.content import Content
from textual.widgets import Input, Label, Static
from typing_extensions import override

from lottrack.records.signatures import MEANINGS, Credentials
from tui.dialogs.base import ModalForm


class SignatureModal(ModalForm[Credentials]):
    """Returns the typed :class:`~lottrack.records.signatures.Credentials`, or None when cancelled.
    Enter in the username moves to the password (a typed-ahead password never lands in
    the username field); Enter in the password signs."""

    ASKS_BEFORE_DISCARD = False

    DIALOG_TITLE = "Electronic signature"
    SUBMIT = "Sign"
    FIELDS = ("#sign-username", "#sign-password")
    BINDINGS = [
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

    @override
    def compose_body(self) -> ComposeResult:
        """What is signed, the meaning in words, username, password."""
        yield Static(Content(self.subject_text), id="signature-subject")
        yield Static(
            Content(f"Meaning: “{MEANINGS[self.meaning]}” ({self.meaning})"), id="signature-meaning"
        )
        with Grid(classes="form"):
            yield Label("Username")
            yield Input(id="sign-username", compact=True)
            yield Label("Password")
            yield Input(id="sign-password", password=True, compact=True)

    @override
    def initial_message(self) -> str:
        """The service's refusal of the previous attempt."""
        return self._message

    @override
    def compose_notes(self) -> ComposeResult:
        """What signing means in law."""
        yield Static(
            "Signing is the legally binding equivalent of your handwritten signature.",
            classes="hint",
        )

    @override
    def submit(self) -> None:
        """Both components typed (never filled in: both, every time), or say so."""
        username = self.query_one("#sign-username", Input).value.strip()
        password = self.query_one("#sign-password", Input).value
        if not username or not password:
            self.say(
                "Type your username and your password.",
                focus="#sign-username" if not username else "#sign-password",
            )
            return
        self.dismiss(Credentials(username, password))
