"""Pharmacist home (unblinded): visits that still need a bag, with their arm."""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel import Session
from textual import on
from textual.widgets import DataTable
from typing_extensions import override

from lottrack.records.permissions import PHARMACIST, CurrentUser
from lottrack.trial import listings
from tui.panes.base import Row, TablePane
from tui.pharmacy.arms import ARM_LABELS


class VisitsDuePane(TablePane):
    """Planned visits that have not been dispensed, soonest first. Enter opens one."""

    ROLE = PHARMACIST
    TAB_LABEL = "Pharmacy"
    TITLE = "Visits due"
    HINT = "Planned visits to prepare (Enter). Unblinded: shows the arm."
    COLUMNS = ("Subject", "Period", "Planned", "Arm", "MSC bags")
    EMPTY = "No visits are due."
    HELP = (
        "**Visits due** lists planned visits that have no dispensing yet, with their arm "
        "and the subject's available MSC bags. **Enter** opens the visit to prepare its "
        "bag; **v** lists dispensings awaiting your second verification; **o** opens the "
        "allocation (import the statistician's CSV, generate, schedule visits)."
    )

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.visit_ids: list[int] = []

    @classmethod
    @override
    def fetch(cls, session: Session, who: CurrentUser) -> Sequence[Row]:
        """Visit id, then subject, period, planned date, arm and available bags."""
        return [
            (
                d.visit_id,
                d.subject_code,
                d.period,
                d.planned_date,
                ARM_LABELS[d.arm],
                d.available_bags,
            )
            for d in listings.visits_due(session, who)
        ]

    @override
    def show(self, data: Sequence[Row]) -> None:
        """Keep the visit ids for Enter; show the rest."""
        self.visit_ids = [int(str(row[0])) for row in data]
        super().show([row[1:] for row in data])

    @on(DataTable.RowSelected)
    def _open(self, event: DataTable.RowSelected) -> None:
        event.stop()
        if 0 <= event.cursor_row < len(self.visit_ids):
            from tui.pharmacy.visit import PharmacyVisitScreen

            self.app.push_screen(PharmacyVisitScreen(self.visit_ids[event.cursor_row]))
