"""Investigator home: which subjects have been unblinded (never their allocation)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel import Session
from typing_extensions import override

from lottrack.records.permissions import INVESTIGATOR, CurrentUser
from lottrack.trial import listings
from tui.panes.base import Row, TablePane


class UnblindedSubjectsPane(TablePane):
    """Subjects flagged as unblinded by an emergency unblinding (design §7)."""

    ROLE = INVESTIGATOR
    TAB_LABEL = "Investigator"
    TITLE = "Unblinded subjects"
    HINT = "Subjects revealed by an emergency unblinding (x: unblind one)."
    COLUMNS = ("Subject", "Unblinded")
    EMPTY = "No subject has been unblinded."
    HELP = (
        "**Unblinded subjects** lists subjects whose allocation was revealed by an "
        "emergency unblinding. The allocation itself is not shown here. **x** opens the "
        "emergency unblinding of one subject (signed, reasoned, audited)."
    )

    @classmethod
    @override
    def fetch(cls, session: Session, who: CurrentUser) -> Sequence[Row]:
        """Subject code and time of unblinding."""
        return [(s.code, s.unblinded_at) for s in listings.unblinded_subjects(session, who)]
