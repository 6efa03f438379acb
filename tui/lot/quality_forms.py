"""Quality records of a lot (design §6.6, §6.7): open a deviation; QA closes an
out-of-specification investigation or a deviation with a signature."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session
from textual.app import ComposeResult
from textual.widgets import Checkbox, Input, Static

from lottrack.manufacturing import deviations, investigations
from lottrack.records.permissions import CurrentUser
from lottrack.records.signatures import MEANINGS
from tui.common.form import SaveCall, field_row, grid
from tui.common.signed_form import SignedForm
from tui.lot.form import LotForm


class DeviationForm(LotForm):
    """Planned or not, what happened, the impact on the product, the corrective action."""

    FORM_TITLE = "Open a deviation"
    HELP = """\
# Open a deviation

Record a planned or unplanned departure from the process on this lot: what happened,
its impact on the product and the corrective action. An open deviation blocks the
lot's release until QA closes it with a signature (an exceptional release names the
deviations it accepts). An entry beyond the plausible cell numbers is accepted when it
names an open deviation that explains it. **ctrl+s** saves.
"""

    def compose_fields(self) -> ComposeResult:
        """The four parts of a deviation."""
        with grid():
            yield from field_row(
                "", Checkbox("Planned deviation", False, id="planned", compact=True)
            )
            yield from field_row(
                "What happened",
                Input(
                    compact=True,
                    name="description",
                    id="description",
                    placeholder="what departed from the process, when",
                ),
            )
            yield from field_row(
                "Impact",
                Input(
                    compact=True, name="impact", id="impact", placeholder="impact on the product"
                ),
            )
            yield from field_row(
                "Corrective action",
                Input(
                    compact=True,
                    name="corrective_action",
                    id="corrective-action",
                    placeholder="what was done about it",
                ),
            )

    def collect(self) -> SaveCall:
        """deviations.open_deviation with what was typed."""
        planned = self.query_one("#planned", Checkbox).value
        values = {
            key: self.query_one(f"#{widget}", Input).value
            for key, widget in (
                ("description", "description"),
                ("impact", "impact"),
                ("corrective_action", "corrective-action"),
            )
        }
        lot_id, lot_number = self.lot_id, self.lot.lot_number

        def save(session: Session, who: CurrentUser) -> str:
            dev_id = deviations.open_deviation(
                session, who, lot_id=lot_id, planned=planned, **values
            )
            return (
                f"Deviation #{dev_id} opened on lot {lot_number}; it blocks release "
                "until QA closes it."
            )

        return save


class CloseRecordForm(SignedForm):
    """QA's conclusion of an investigation or closing assessment of a deviation, signed."""

    HELP = """\
# Close an investigation or a deviation

Type the conclusion. For an out-of-specification investigation, tick **assignable
laboratory error** when one was found: the original result is then invalidated and the
retest stands (a retest must exist); otherwise the original result stands and the lot
is out of specification. **ctrl+s** opens the signature dialog (username and password
again). The person who recorded a result of the investigation, or opened the
deviation, cannot close it.
"""

    def __init__(self, kind: str, record_id: int, summary: str, lot_number: str) -> None:
        self.kind = kind
        self.record_id = record_id
        self.summary = summary
        self.lot_number = lot_number
        super().__init__()
        self.FORM_TITLE = f"Close {kind} #{record_id}"

    def compose_fields(self) -> ComposeResult:
        """What is closed, the verdict (investigations) and the conclusion."""
        with grid():
            yield from field_row("Record", Static(self.summary, classes="form-note"))
            if self.kind == "investigation":
                yield from field_row(
                    "",
                    Checkbox(
                        "Assignable laboratory error found (original invalidated, retest stands)",
                        False,
                        id="lab-error",
                        compact=True,
                    ),
                )
            yield from field_row(
                "Conclusion",
                Input(
                    compact=True,
                    name="conclusion",
                    id="conclusion",
                    placeholder="what the review found",
                ),
            )
            yield from field_row(
                "Signature", Static(f"“{MEANINGS['concluded']}” (concluded)", classes="form-note")
            )

    def context_line(self) -> str:
        """Which lot."""
        return f"Lot {self.lot_number}"

    def load(self, session: Session, who: CurrentUser) -> Any:
        """Nothing to read."""
        del session, who
        return True

    def collect(self) -> SaveCall:
        """The service call; it runs with the credentials of the signature dialog."""
        text = self.query_one("#conclusion", Input).value
        lab_error = self.kind == "investigation" and self.query_one("#lab-error", Checkbox).value
        kind, record_id = self.kind, self.record_id

        def save(session: Session, who: CurrentUser) -> str:
            creds = self.creds
            assert creds is not None
            if kind == "investigation":
                investigations.close(
                    session, who, creds, record_id, lab_error=lab_error, conclusion=text
                )
            else:
                deviations.close_deviation(session, who, creds, record_id, text)
            return f"{kind.capitalize()} #{record_id} closed: signed and recorded."

        return save

    def signature(self) -> tuple[str, str]:
        """QA concludes the record."""
        return "concluded", f"Close {self.kind} #{self.record_id} of lot {self.lot_number}"
