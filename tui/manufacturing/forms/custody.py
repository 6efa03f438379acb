"""Record a move of a bag (chain of custody): from where, to where, when, at what
temperature. A move starts where the previous one ended, and not before it."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session
from textual.app import ComposeResult
from textual.widgets import Input, Static

from lottrack.manufacturing import formulation
from lottrack.records.permissions import CurrentUser
from lottrack.views import listings
from tui.common.form import SaveCall, field_row, grid
from tui.manufacturing.forms.bag_form import BagForm
from tui.widgets.moment_input import MomentField


class CustodyForm(BagForm):
    """From (where the bag was last recorded), to, at, temperature."""

    FORM_TITLE = "Record a move of a bag"
    SAVE_LABEL = "Record move"
    HELP = """\
# Chain of custody

Records that the bag moved **from** one place **to** another at a time, with the
temperature measured (optional; degrees Celsius, e.g. `-150 °C`, `4 °C`).

**From** is filled with where the bag was last recorded: a move starts there, and not
before the previous move (or before the bag was formulated). **ctrl+s** records; a
refusal is shown on its field and nothing is stored.
"""

    def compose_fields(self) -> ComposeResult:
        """The bag, then the move."""
        with grid():
            yield from field_row("Bag", Static("", id="bag"))
            yield from field_row(
                "From", Input(compact=True, name="From", id="from", placeholder="e.g. cleanroom B2")
            )
            yield from field_row(
                "To", Input(compact=True, name="To", id="to", placeholder="e.g. LN2 tank 1")
            )
            yield from field_row("At", MomentField("At", self.ctx.clock, id="at"))
            yield from field_row(
                "Temperature", Input(compact=True, name="Temperature", id="temperature")
            )

    def load(self, session: Session, who: CurrentUser) -> Any:
        """The lot, the bag and where it was last recorded."""
        context, bag = super().load(session, who)
        moves = [
            m for m in listings.lot_custody(session, who, self.lot_id) if m.unit_id == self.unit_id
        ]
        return context, bag, moves[-1].to_location if moves else ""

    def apply(self, data: Any) -> None:
        """Start from where the bag is; the temperature in the site's notation."""
        super().apply(data)
        self.query_one("#from", Input).value = data[2]
        self.query_one(
            "#temperature", Input
        ).placeholder = f"optional, e.g. -150 °C or 4{self.lot.decimal_separator}5 °C"

    def focus_first(self) -> None:
        """Where the bag goes (where it comes from is known)."""
        box = "#to" if self.query_one("#from", Input).value else "#from"
        self.query_one(box, Input).focus()

    def collect(self) -> SaveCall:
        """formulation.record_custody with what was typed."""
        origin = self.query_one("#from", Input).value
        destination = self.query_one("#to", Input).value
        at = self.query_one("#at", MomentField).moment()
        temperature = self.query_one("#temperature", Input).value.strip() or None
        unit_id, kit = self.unit_id, self.bag.kit_code

        def save(session: Session, who: CurrentUser) -> str:
            formulation.record_custody(
                session,
                who,
                unit_id=unit_id,
                from_location=origin,
                to_location=destination,
                at=at,
                temperature_text=temperature,
            )
            return f"Bag {kit} moved from {origin.strip()} to {destination.strip()}."

        return save
