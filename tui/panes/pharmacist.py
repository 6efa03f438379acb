"""Pharmacist home (unblinded): visits that still need a bag, with their arm."""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel import Session
from textual import on
from textual.widgets import DataTable
from typing_extensions import override

from lottrack.records.permissions import PHARMACIST, CurrentUser
from lottrack.trial import listings
from tui.panes.base import Row, TablePane, first_of
from tui.pharmacy.arms import ARM_LABELS

PAGE_SIZE = 200
"""Visits listed, the soonest first (a pharmacy prepares a few a day)."""


class VisitsDuePane(TablePane):
    """Planned visits that have not been dispensed, soonest first. Enter opens one."""

    ROLE = PHARMACIST
    TAB_LABEL = "Pharmacy"
    TITLE = "Visits due"
    HINT = "Planned visits to prepare (Enter). Unblinded: shows the arm."
    COLUMNS = ("Subject", "Period", "Planned", "Arm", "MSC bags")
    EMPTY = "No visits are due."
    MORE = (
        "The {page} soonest of {total} planned visits (the later ones follow as these are "
        "prepared). Enter prepares one. Unblinded: shows the arm."
    )
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
        """Visit id, then subject, period, planned date, arm and available bags; a last
        row ``(None, total)`` when more visits are planned than those listed."""
        due = listings.visits_due(session, who, limit=PAGE_SIZE)
        rows: list[Row] = [
            (
                d.visit_id,
                d.subject_code,
                d.period,
                d.planned_date,
                ARM_LABELS[d.arm],
                d.available_bags,
            )
            for d in due.visits
        ]
        return first_of(rows, due.total)

    @override
    def show(self, data: Sequence[Row]) -> None:
        """Keep the visit ids for Enter; say how many are planned when not all are
        listed; show the rest."""
        data = self.listed(data)
        self.visit_ids = [int(str(row[0])) for row in data]
        super().show([row[1:] for row in data])

    @on(DataTable.RowSelected)
    def _open(self, event: DataTable.RowSelected) -> None:
        event.stop()
        if 0 <= event.cursor_row < len(self.visit_ids):
            from tui.pharmacy.visit import PharmacyVisitScreen

            self.app.push_screen(PharmacyVisitScreen(self.visit_ids[event.cursor_row]))
