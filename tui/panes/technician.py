"""Technician home: the lots being manufactured."""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel import Session, select
from typing_extensions import override

from lottrack.models import Lot, Subject
from lottrack.permissions import TECHNICIAN, CurrentUser
from tui.panes.base import Row, TablePane


class LotsInProcessPane(TablePane):
    """Lots in process, oldest first."""

    ROLE = TECHNICIAN
    TAB_LABEL = "Lab"
    TITLE = "Lots in process"
    HINT = "Lots being expanded, not yet formulated."
    COLUMNS = ("Lot", "Subject", "Started")
    EMPTY = "No lots in process."
    HELP = "**Lots in process** lists every lot that has not been formulated yet."

    @classmethod
    @override
    def fetch(cls, session: Session, who: CurrentUser) -> Sequence[Row]:
        """Lot number, subject code and start time of each in-process lot.

        Interim read until the manufacturing service offers a lot listing; replace the
        query with that call then.
        """
        rows = session.exec(
            select(Lot.lot_number, Subject.code, Lot.created_at)
            .join(Subject, Subject.id == Lot.subject_id)
            .where(Lot.status == "in-process")
            .order_by(Lot.created_at)
        ).all()
        return [tuple(r) for r in rows]
