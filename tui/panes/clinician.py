"""Clinician home (blinded): patients and their visits. Never shows an arm or a bag kind.

The rows come from :func:`lottrack.trial.listings.ward_patients`, whose wording and order
are the same for both arms.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel import Session
from textual import on
from textual.binding import Binding
from textual.widgets import DataTable
from typing_extensions import override

from lottrack.records.permissions import CLINICIAN, CurrentUser
from lottrack.trial import listings
from tui.context import app_of
from tui.panes.base import Row, TablePane

PAGE_SIZE = 50
"""Patients on the home (each with its visits); Find a patient (/) reaches the others."""


def more_text(count: int) -> str:
    """The last line's words when ``count`` patients are not on the home (in the State
    column: with four digits still whole at 80 columns)."""
    return f"{count} more patient{'' if count == 1 else 's'}: press / to find"


class PatientsPane(TablePane):
    """Every subject with each visit's planned date and state. Enter opens a visit."""

    ROLE = CLINICIAN
    TAB_LABEL = "Ward"
    TITLE = "Patients and visits"
    HINT = "Trial subjects and their visits (blinded). Enter opens a visit."
    COLUMNS = ("Subject", "Initials", "Period", "Planned", "State")
    EMPTY = "No patients registered yet."
    HELP = (
        "**Patients and visits** lists trial subjects and their visits with the step each "
        "visit is at. The treatment arm is never shown. **Enter** opens a visit: weight, "
        "bedside identity check, infusion start and end. **w** opens the highlighted "
        "patient's weights, also before any visit is scheduled (the pharmacy schedules "
        "visits): **a** records one, **c** corrects and **x** voids one, with a reason.\n\n"
        f"The list holds the first {PAGE_SIZE} patients by subject code. **/** opens "
        "*Find a patient* (so does **Enter** on the last line, which says how many more "
        "there are): every patient, searched by subject code or initials, one page at a "
        "time, with the same **Enter** and **w**."
    )
    BINDINGS = [Binding("w", "weight", "Weights")]

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.visit_ids: list[int | None] = []
        self.subjects: list[tuple[int, str] | None] = []
        """Subject id and code of each row (None on the 'more patients' line)."""

    @classmethod
    @override
    def fetch(cls, session: Session, who: CurrentUser) -> Sequence[Row]:
        """Visit id, then subject code, initials, period, planned date and state."""
        page = listings.ward_patients(session, who, limit=PAGE_SIZE)
        rows: list[Row] = [
            (
                (r.visit_id, r.subject_id),
                r.subject_code,
                r.initials,
                r.period,
                r.planned_date,
                r.state,
            )
            for r in page.rows
        ]
        if page.total_patients > PAGE_SIZE:
            rows.append(
                ((None, None), "…", "", None, None, more_text(page.total_patients - PAGE_SIZE))
            )
        return rows

    @override
    def show(self, data: Sequence[Row]) -> None:
        """Keep the visit and subject ids for Enter and w; show the rest."""
        keys = [row[0] if isinstance(row[0], tuple) else (None, None) for row in data]
        self.visit_ids = [visit if isinstance(visit, int) else None for visit, _ in keys]
        self.subjects = [
            (subject, str(row[1])) if isinstance(subject, int) else None
            for (_, subject), row in zip(keys, data, strict=True)
        ]
        super().show([row[1:] for row in data])

    def action_weight(self) -> None:
        """The highlighted patient's weights (with or without a visit)."""
        table: DataTable[str] = self.query_one(DataTable)
        row = table.cursor_row
        if not (table.display and 0 <= row < len(self.subjects)):
            return
        chosen = self.subjects[row]
        if chosen is None:
            return
        from tui.common.weights import WeightsScreen

        self.app.push_screen(WeightsScreen(chosen[0], chosen[1]))

    @on(DataTable.RowSelected)
    def _open(self, event: DataTable.RowSelected) -> None:
        event.stop()
        if not 0 <= event.cursor_row < len(self.visit_ids):
            return
        if self.subjects[event.cursor_row] is None:  # the 'more patients' line
            app_of(self).open_destination("patients")
            return
        visit_id = self.visit_ids[event.cursor_row]
        if visit_id is None:
            self.say(
                "No visit is scheduled for this patient (the pharmacy schedules "
                "visits). Press w for the patient's weights."
            )
            return
        from tui.ward.visit import WardVisitScreen

        self.app.push_screen(WardVisitScreen(visit_id))
