"""A QA decision on a lot — release, reject, quarantine, lift the quarantine, or release
under exception (with its four records) — signed through the signature dialog."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session
from textual.app import ComposeResult
from textual.widgets import Input, Static

from lottrack.records.permissions import CurrentUser
from lottrack.records.signatures import MEANINGS
from lottrack.release import disposition
from tui.common.form import FormProblem, SaveCall, field_row, grid
from tui.common.signed_form import SignedForm
from tui.widgets.moment_input import MomentField


@dataclass(frozen=True)
class Decision:
    """How a decision is named, which meaning its signature carries, which service."""

    title: str
    verb: str
    meaning: str
    justification_required: bool


DECISIONS: dict[str, Decision] = {
    "release": Decision("Release the lot", "Release", "released", False),
    "reject": Decision("Reject the lot", "Reject", "rejected", True),
    "quarantine": Decision("Quarantine the lot", "Quarantine", "reviewed", True),
    "lift": Decision("Lift the quarantine", "Lift the quarantine of", "reviewed", True),
    "exceptional": Decision(
        "Exceptional release (Part IV §11.5)", "Release under exception", "released", True
    ),
}
"""The meanings are those the disposition service signs with (design §6.2)."""


class DecisionForm(SignedForm):
    """Justification (and for an exceptional release its four records), then sign."""

    HELP = """\
# QA decision

Type the justification; it is recorded with the decision. **ctrl+s** opens the
signature dialog: type **your username and password** again (both, every time). The
meaning of the signature is shown in words.

A wrong password stores nothing (and counts towards the lock-out). The decision is also
refused — with the rule named — when it does not apply: for example a release while a
result is missing, by someone who recorded a step of the lot, or of a lot that is out
of specification (only the exceptional release then).

**Exceptional release** needs the treating physician's written request, the
manufacturer's risk evaluation, the physician's recorded acceptance and the time the
sponsor was notified.
"""

    def __init__(
        self,
        lot_id: int,
        decision: str,
        lot_number: str,
        subject_code: str,
        open_deviations: tuple[int, ...] = (),
    ) -> None:
        self.decision = DECISIONS[decision]
        self.kind = decision
        self.lot_id = lot_id
        self.lot_number = lot_number
        self.subject_code = subject_code
        self.open_deviations = open_deviations
        """An exceptional release names the open deviations it accepts (design §6.7)."""
        super().__init__()
        self.FORM_TITLE = f"{self.decision.title} {lot_number}"

    def compose_fields(self) -> ComposeResult:
        """Justification, the exceptional records, and what the signature will mean."""
        need = "required" if self.decision.justification_required else "optional"
        with grid():
            yield from field_row(
                "Justification",
                Input(
                    placeholder=f"why ({need})",
                    compact=True,
                    name="justification",
                    id="justification",
                ),
            )
            if self.kind == "exceptional":
                yield from field_row(
                    "Physician request",
                    Input(
                        placeholder="the treating physician's written request",
                        compact=True,
                        name="physician_request",
                        id="request",
                    ),
                )
                yield from field_row(
                    "Risk evaluation",
                    Input(
                        placeholder="the manufacturer's risk evaluation",
                        compact=True,
                        name="risk_evaluation",
                        id="risk",
                    ),
                )
                yield from field_row(
                    "Acceptance",
                    Input(
                        placeholder="the physician's recorded acceptance",
                        compact=True,
                        name="physician_acceptance",
                        id="acceptance",
                    ),
                )
                yield from field_row(
                    "Sponsor notified",
                    MomentField("Sponsor notified at", self.ctx.clock, value="", id="sponsor"),
                )
                if self.open_deviations:
                    yield from field_row(
                        "Accepts",
                        Static(
                            "open deviation(s) " + ", ".join(f"#{d}" for d in self.open_deviations),
                            classes="form-note",
                            id="accepted-deviations",
                        ),
                    )
            yield from field_row(
                "Signature",
                Static(
                    f"“{MEANINGS[self.decision.meaning]}” ({self.decision.meaning})",
                    classes="form-note",
                ),
            )

    def context_line(self) -> str:
        """Which lot."""
        return f"Lot {self.lot_number} · subject {self.subject_code}"

    def load(self, session: Session, who: CurrentUser) -> Any:
        """Nothing to read; the form is ready at once."""
        del session, who
        return True

    def collect(self) -> SaveCall:
        """The service call; it runs with the credentials of the signature dialog."""
        justification = self.query_one("#justification", Input).value
        if self.decision.justification_required and not justification.strip():
            raise FormProblem("Justification: required for this decision.", "justification")
        lot_id = self.lot_id
        records = None
        if self.kind == "exceptional":
            records = disposition.ExceptionalRelease(
                physician_request=self.query_one("#request", Input).value,
                risk_evaluation=self.query_one("#risk", Input).value,
                physician_acceptance=self.query_one("#acceptance", Input).value,
                sponsor_notified_at=self.query_one("#sponsor", MomentField).value(),
            )
        service: dict[str, Callable[..., int]] = {
            "release": disposition.release,
            "reject": disposition.reject,
            "quarantine": disposition.quarantine,
            "lift": disposition.lift_quarantine,
        }
        title, lot_number = self.decision.title, self.lot_number

        def save(session: Session, who: CurrentUser) -> str:
            creds = self.creds
            assert creds is not None
            if records is not None:
                disposition.release_exceptional(
                    session,
                    who,
                    lot_id,
                    creds,
                    records,
                    justification,
                    accepted_deviations=self.open_deviations,
                )
            else:
                service[self.kind](session, who, lot_id, creds, justification)
            return f"{title} {lot_number}: signed and recorded."

        return save

    def signature(self) -> tuple[str, str]:
        """The decision's meaning and what it decides."""
        return (
            self.decision.meaning,
            f"{self.decision.verb} lot {self.lot_number} (subject {self.subject_code})",
        )
