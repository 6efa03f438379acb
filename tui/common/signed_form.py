"""A form whose save is signed: ctrl+s opens the signature dialog, and the service call
runs with the credentials it collected (then forgets them). A refusal that needs no
password (separation of duties, the record's state, a field) is said first, and the
password is then not asked."""

from __future__ import annotations

from textual import work
from textual.binding import Binding

from lottrack.records.permissions import CurrentUser
from lottrack.records.signatures import Credentials, refusal_before_signature
from lottrack.storage.db import Database
from tui.common.form import FormRefused, FormScreen, SaveCall
from tui.dialogs.signature import SignatureModal


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
        """Run the service's checks without a signature first; then ask for it."""
        user = self.ctx.user
        if user is None:
            return
        self._say("Checking…", error=False)
        self._precheck(self.ctx.db, user, call)

    @work(thread=True, exclusive=True, exit_on_error=False, group="form-save")
    def _precheck(self, db: Database, who: CurrentUser, call: SaveCall) -> None:
        def run(creds: Credentials) -> None:
            self.creds = creds
            try:
                with db.session() as session:
                    call(session, who)
            finally:
                self.creds = None

        refusal = refusal_before_signature(run)
        if refusal is not None:
            self.post_message(
                FormRefused(refusal.title, refusal.message, getattr(refusal, "field", None))
            )
        else:
            self.app.call_from_thread(self._ask_signature, call)

    def _ask_signature(self, call: SaveCall) -> None:
        """Ask for the signature, then save with it."""
        self._say("", error=False)
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
