"""Clinician home (blinded): subjects and their visits. Never shows an arm or a bag kind."""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel import Session, select
from typing_extensions import override

from lottrack.models import Subject, Visit
from lottrack.permissions import CLINICIAN, CurrentUser
from tui.panes.base import Row, TablePane


class PatientsPane(TablePane):
    """Every subject with each visit's planned date and state."""

    ROLE = CLINICIAN
    TAB_LABEL = "Ward"
    TITLE = "Patients and visits"
    HINT = "Trial subjects and their visits (blinded)."
    COLUMNS = ("Subject", "Initials", "Period", "Planned", "State")
    EMPTY = "No patients registered yet."
    HELP = (
        "**Patients and visits** lists trial subjects and their visits. The treatment arm "
        "is never shown here."
    )

    @classmethod
    @override
    def fetch(cls, session: Session, who: CurrentUser) -> Sequence[Row]:
        """Subject code, initials, and each visit's period, date and state (no arm).

        Interim read until the trial service offers a blinded subject listing.
        """
        rows = session.exec(
            select(Subject.code, Subject.initials, Visit.period, Visit.planned_date,
                   Visit.status)
            .join(Visit, Visit.subject_id == Subject.id, isouter=True)
            .order_by(Subject.code, Visit.period)
        ).all()
        return [tuple(r) for r in rows]
