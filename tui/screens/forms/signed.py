"""A form whose save is signed: ctrl+s opens the signature dialog, and the service call
runs with the credentials it collected (then forgets them)."""

from __future__ import annotations

from textual.binding import Binding

from lottrack.signatures import Credentials
from tui.modals.signature import SignatureModal
from tui.screens.forms.base import FormScreen, SaveCall


class SignedForm(FormScreen):
    """Subclasses say what is signed (:meth:`signature`) and read :attr:`creds` in the
    save call."""

    SAVE_LABEL = "Sign…"
    BINDINGS = [Binding("ctrl+s", "save", "Sign")]

    def __init__(self) -> None:
        self.creds: Credentials | None = None
        super().__init__()

    def signature(self) -> tuple[str, str]:
        """(meaning, what is signed in words) for the signature dialog."""
        raise NotImplementedError

    def submit(self, call: SaveCall) -> None:
        """Ask for the signature, then save with it."""
        meaning, subject = self.signature()

        def signed(creds: Credentials | None) -> None:
            if creds is None:
                self._say("Not signed: nothing was saved.", error=True)
                return
            self.creds = creds
            super(SignedForm, self).submit(call)

        self.app.push_screen(SignatureModal(meaning, subject), signed)

    def on_form_saved(self) -> None:
        """Forget the password once the service has it."""
        self.creds = None

    def on_form_refused(self) -> None:
        """Forget the password; a new attempt asks again."""
        self.creds = None
