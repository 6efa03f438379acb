"""Emergency unblinding of one subject (investigators; design §7).

Behind a reason and the signature dialog, the service reveals that subject's treatment
sequence — and only that subject's — records the unblinding in the audit trail and flags
the subject as unblinded. The sequence is shown on this screen only, until it is left.
"""

from __future__ import annotations

from rich.text import Text
from sqlmodel import Session
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Vertical
from textual.widgets import Input, Label, Static
from typing_extensions import override

from lottrack.records.permissions import Action
from lottrack.records.signatures import Credentials
from lottrack.trial import allocation, listings, ward
from tui.common.trial_screen import TrialScreen, Write
from tui.dialogs.typeahead import after_pending_keys
from tui.widgets.key_footer import KeyFooter
from tui.widgets.session_header import SessionHeader


def describe_sequence(code: str, sequence: str) -> str:
    """``TLS-005: MSC-first — period 1 MSC, period 2 placebo``."""
    arms = {allocation.MSC: "MSC", allocation.PLACEBO: "placebo"}
    return (
        f"{code}: {sequence} — period 1 {arms[allocation.arm_for(sequence, 1)]}, "
        f"period 2 {arms[allocation.arm_for(sequence, 2)]}"
    )


class UnblindScreen(TrialScreen):
    """Subject code, reason, signature; then that subject's sequence."""

    DESTINATION = "unblind"

    HELP = """\
# Emergency unblinding (investigators)

Use only when the patient's care depends on knowing the treatment. Type the **subject
code** and the **reason** (at least 10 characters), press **Enter** and sign
*unblinded*. The sequence of that subject alone is shown here; the unblinding is
recorded in the audit trail with your signature and reason, and the subject is flagged
as unblinded from then on. Leaving this screen hides the sequence again.
"""

    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("enter", "next_field", "Sign and reveal", priority=True),
    ]

    def __init__(self, subject_code: str = "") -> None:
        super().__init__()
        self._code = subject_code

    def compose(self) -> ComposeResult:
        """Header, the warning, two fields, the result, footer."""
        yield SessionHeader()
        with Vertical(id="unblind-body", classes="trial-body"):
            yield Static("Emergency unblinding", classes="pane-title")
            yield Static(
                "Reveals the treatment sequence of ONE subject. Signed, reasoned "
                "and audited; the subject stays flagged as unblinded.",
                classes="warning",
            )
            with Grid(classes="form-grid"):
                yield Label("Subject code", classes="form-label")
                yield Input(
                    self._code, id="unblind-subject", compact=True, placeholder="e.g. TLS-003"
                )
                yield Label("Reason", classes="form-label")
                yield Input(
                    id="unblind-reason",
                    compact=True,
                    placeholder="why the allocation must be revealed",
                )
            yield Static("Enter in the reason field asks for your signature.", classes="form-note")
            yield Static("", id="unblind-result")
            yield Static("", id="trial-status", classes="message")
        yield KeyFooter()

    def on_mount(self) -> None:
        """Type the reason when the subject is known, else the subject code."""
        target = "#unblind-reason" if self._code else "#unblind-subject"
        self.query_one(target, Input).focus()

    def action_back(self) -> None:
        """Leave (the sequence is no longer shown)."""
        self.dismiss()

    @override
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Enter works in the two fields."""
        if action == "next_field":
            return isinstance(self.focused, Input)
        return True

    def action_next_field(self) -> None:
        """From the subject to the reason; from the reason, sign (once typing is in)."""
        subject = self.query_one("#unblind-subject", Input)
        reason = self.query_one("#unblind-reason", Input)
        if subject.has_focus:
            self.set_focus(reason)  # at once: typed-ahead keys belong to the reason
            return
        after_pending_keys([subject, reason], self._submit)

    def _submit(self) -> None:
        if not self.ctx.can(Action.UNBLIND):
            self.status("Only an investigator may request an emergency unblinding.", error=True)
            return
        code = " ".join(self.query_one("#unblind-subject", Input).value.split()).upper()
        reason = " ".join(self.query_one("#unblind-reason", Input).value.split())
        if not code:
            self.status("Type the subject code.", error=True)
            self.query_one("#unblind-subject", Input).focus()
            return
        who = self.who
        self.query_one("#unblind-result", Static).update("")

        def make(creds: Credentials) -> Write:
            def call(session: Session) -> tuple[str, str]:
                subject = listings.subject_for_unblinding(session, who, code)
                return subject.code, ward.emergency_unblind(
                    session, who, creds, subject_id=subject.subject_id, reason=reason
                )

            return call

        self.sign(
            "unblinded",
            f"Emergency unblinding of subject {code}. Reason: {reason}",
            make,
            self._revealed,
        )

    def _revealed(self, result: tuple[str, str]) -> None:
        code, sequence = result
        self.query_one("#unblind-result", Static).update(
            Text(describe_sequence(code, sequence), style="bold reverse")
        )
        self.status(f"Unblinding of {code} recorded in the audit trail.", success=True)
