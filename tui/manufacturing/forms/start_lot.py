"""Start the manufacturing lot of a harvest that has none yet."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session
from textual.app import ComposeResult
from textual.widgets import Select

from lottrack.manufacturing import expansion
from lottrack.records.permissions import CurrentUser
from lottrack.views import listings
from tui.common.form import FormProblem, FormScreen, SaveCall, field_row, grid


class StartLotForm(FormScreen):
    """Pick the harvest; the lot is numbered L-<DIN> and uses the current specification."""

    FORM_TITLE = "Start a lot"
    SAVE_LABEL = "Start"
    HELP = """\
# Start a lot

Lists the harvests that have no lot yet. The lot is numbered `L-` followed by the
harvest's DIN and is tested against the specification that is current now. One lot per
harvest. **ctrl+s** starts it.
"""

    def compose_fields(self) -> ComposeResult:
        """The harvest picker."""
        with grid():
            yield from field_row(
                "Harvest",
                Select[int](
                    [], prompt="Pick the harvest", name="Harvest", id="harvest", compact=True
                ),
            )

    def load(self, session: Session, who: CurrentUser) -> Any:
        """Harvests without a lot."""
        return listings.harvests_without_lot(session, who)

    def apply(self, data: Any) -> None:
        """Offer them, newest first."""
        tz = self.ctx.clock().tzinfo
        self.query_one("#harvest", Select).set_options(
            [
                (
                    f"{h.din}  {h.subject_code}  {h.volume_text}  "
                    f"{h.collected_at.astimezone(tz):%Y-%m-%d %H:%M}",
                    h.id,
                )
                for h in data
            ]
        )

    def context_line(self) -> str:
        """How many are waiting."""
        n = len(self.data or ())
        return f"{n} harvest(s) without a lot." if n else "Every harvest already has a lot."

    def collect(self) -> SaveCall:
        """start_lot for the chosen harvest."""
        harvest = self.query_one("#harvest", Select).value
        if not isinstance(harvest, int):
            raise FormProblem("Harvest: pick the harvest the lot is grown from.", "Harvest")
        din = next(h.din for h in self.data if h.id == harvest)

        def save(session: Session, who: CurrentUser) -> str:
            expansion.start_lot(session, who, harvest_id=harvest)
            return f"Lot {expansion.LOT_PREFIX}{din} started."

        return save
