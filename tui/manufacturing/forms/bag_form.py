"""The base of the forms about one bag of a lot (custody, thaw): the bag is named with its
subject code and DIN, as everywhere a bag is named (design §4.3)."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from sqlmodel import Session
from textual.widgets import Static

from lottrack.manufacturing import formulation
from lottrack.records.permissions import CurrentUser
from tui.lot.form import LotForm
from tui.lot.head import eye_readable


class BagForm(LotForm):
    """A form about bag ``unit_id`` of lot ``lot_id``; shows it in a ``#bag`` Static."""

    def __init__(self, lot_id: int, unit_id: int) -> None:
        super().__init__(lot_id)
        self.unit_id = unit_id

    def load(self, session: Session, who: CurrentUser) -> Any:
        """The lot and the bag."""
        return self.load_record(session, who, formulation.bags_of_lot, self.unit_id, "bag")

    @property
    def bag(self) -> formulation.UnitInfo:
        """The bag as read when the form opened."""
        return self.loaded_record(formulation.UnitInfo)

    def apply(self, data: Any) -> None:
        """Name the bag."""
        super().apply(data)
        self.query_one("#bag", Static).update(Text(self.bag_line(), style="bold"))

    def bag_line(self) -> str:
        """``K-… · subject TLS-003 · DIN A9999 25 000001 · storage``."""
        bag = self.bag
        frozen = "cryopreserved, " if bag.cryopreserved else ""
        return (
            f"{bag.kit_code} · subject {bag.subject_code} · DIN {eye_readable(bag.din)}"
            f" · {frozen}{bag.storage}"
        )
