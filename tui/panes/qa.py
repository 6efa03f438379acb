"""QA home: lots waiting for a disposition."""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel import Session, select
from typing_extensions import override

from lottrack.models import Lot, Subject
from lottrack.permissions import QA, CurrentUser
from tui.panes.base import Row, TablePane


class LotsAwaitingReviewPane(TablePane):
    """Formulated lots waiting for QA to release, reject or quarantine them."""

    ROLE = QA
    TAB_LABEL = "Quality"
    TITLE = "Lots awaiting review"
    HINT = "Formulated lots waiting for a QA decision."
    COLUMNS = ("Lot", "Subject", "Formulated")
    EMPTY = "No lots are awaiting review."
    HELP = (
        "**Lots awaiting review** lists formulated lots that need a disposition. "
        "Press **a** to verify the audit trail."
    )

    @classmethod
    @override
    def fetch(cls, session: Session, who: CurrentUser) -> Sequence[Row]:
        """Lot number, subject code and formulation time of each lot awaiting release.

        Interim read until the disposition service offers a review queue.
        """
        rows = session.exec(
            select(Lot.lot_number, Subject.code, Lot.formulated_at)
            .join(Subject, Subject.id == Lot.subject_id)
            .where(Lot.status == "awaiting-release")
            .order_by(Lot.formulated_at)
        ).all()
        return [tuple(r) for r in rows]
