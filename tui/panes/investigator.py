"""Investigator home: which subjects have been unblinded."""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel import Session, col, select
from typing_extensions import override

from lottrack.models import Subject
from lottrack.permissions import INVESTIGATOR, CurrentUser
from tui.panes.base import Row, TablePane


class UnblindedSubjectsPane(TablePane):
    """Subjects flagged as unblinded by an emergency unblinding (design §7)."""

    ROLE = INVESTIGATOR
    TAB_LABEL = "Investigator"
    TITLE = "Unblinded subjects"
    HINT = "Subjects revealed by an emergency unblinding."
    COLUMNS = ("Subject", "Unblinded")
    EMPTY = "No subject has been unblinded."
    HELP = (
        "**Unblinded subjects** lists subjects whose allocation was revealed by an "
        "emergency unblinding. The allocation itself is not shown here."
    )

    @classmethod
    @override
    def fetch(cls, session: Session, who: CurrentUser) -> Sequence[Row]:
        """Subject code and time of unblinding.

        Interim read until the unblinding service exists.
        """
        rows = session.exec(
            select(Subject.code, Subject.unblinded_at)
            .where(col(Subject.unblinded_at).is_not(None))
            .order_by(Subject.unblinded_at)
        ).all()
        return [tuple(r) for r in rows]
