"""QA home: lots waiting for a disposition, out of specification flagged."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from sqlmodel import Session
from typing_extensions import override

from lottrack.records.permissions import QA, CurrentUser
from lottrack.views import listings
from tui.panes import lot_pane
from tui.panes.base import Row
from tui.panes.lot_pane import LotTablePane, first_page
from tui.widgets.status_badge import status_text

FLAG_STYLES = {
    "OUT OF SPEC": "bold red reverse",
    "ready": "bold green",
    "recount pending": "bold red",
    "INVESTIGATION OPEN": "bold red",
    "DEVIATION OPEN": "bold red",
    "DEVIATION AND INVESTIGATION OPEN": "bold red",
}


class LotsAwaitingReviewPane(LotTablePane):
    """Lots awaiting release or quarantined, with whether they are ready."""

    ROLE = QA
    TAB_LABEL = "Quality"
    TITLE = "Lots awaiting review"
    HINT = "Formulated and quarantined lots, oldest first. Enter opens the review."
    COLUMNS = ("Lot", "Subject", "Status", "Formulated", "Results")
    WRAP = ("Results", 18)
    EMPTY = "No lot is awaiting review."
    OPENS = "review"
    MORE = (
        "The {page} oldest of {total} lots awaiting review. Enter opens one; l lists every "
        "lot (by status)."
    )
    HELP = """\
**Lots awaiting review** lists formulated lots waiting for release and quarantined lots,
oldest first, then lots still in process with an open investigation or deviation for
you to close. **Results** says *ready* (every required result in and conforming),
*OUT OF SPEC*, how many results are missing, or that a recount is pending; an open
investigation or deviation is named first (the lot cannot be released until you close
it with **n** on the review). **Enter**
opens the QA review (summary, audit trail, decisions). **a** verifies the whole audit
trail, **l** lists every lot, **g** the reagent lots.
"""

    @classmethod
    @override
    def fetch(cls, session: Session, who: CurrentUser) -> Sequence[Row]:
        """The review queue, its oldest lots (a page); a last row ``(None, total)`` when it
        holds more."""
        rows: list[Row] = []
        queue, total = listings.review_queue_page(session, who, limit=lot_pane.PAGE_SIZE)
        for item in queue:
            style = FLAG_STYLES.get(item.flag.split(",")[0], "yellow")
            rows.append(
                (
                    item.lot_id,
                    item.lot_number,
                    item.subject_code,
                    status_text(item.status, short=True),
                    item.formulated_at,
                    Text(item.flag, style=style),
                )
            )
        return first_page(rows, total)
