"""Pharmacist home: visits that still need a bag."""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel import Session, select
from typing_extensions import override

from lottrack.models import Subject, Visit
from lottrack.permissions import PHARMACIST, CurrentUser
from tui.panes.base import Row, TablePane


class VisitsDuePane(TablePane):
    """Planned visits that have not been dispensed, soonest first."""

    ROLE = PHARMACIST
    TAB_LABEL = "Pharmacy"
    TITLE = "Visits due"
    HINT = "Planned visits not yet dispensed, soonest first."
    COLUMNS = ("Subject", "Period", "Planned")
    EMPTY = "No visits are due."
    HELP = "**Visits due** lists planned visits that have no dispensing yet."

    @classmethod
    @override
    def fetch(cls, session: Session, who: CurrentUser) -> Sequence[Row]:
        """Subject code, period and planned date of each planned visit.

        Interim read until the pharmacy service offers a dispensing queue (which will also
        apply the visit window).
        """
        rows = session.exec(
            select(Subject.code, Visit.period, Visit.planned_date)
            .join(Subject, Subject.id == Visit.subject_id)
            .where(Visit.status == "planned")
            .order_by(Visit.planned_date, Subject.code)
        ).all()
        return [tuple(r) for r in rows]
