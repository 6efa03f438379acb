"""QA home: lots waiting for a disposition, out of specification flagged."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from sqlmodel import Session
from textual.content import Content
from textual.widgets import Static
from typing_extensions import override

from lottrack.records.permissions import QA, CurrentUser
from lottrack.views import listings
from tui.panes.base import Row
from tui.panes.lot_pane import LotTablePane
from tui.widgets.status_badge import status_text

PAGE_SIZE = 100
"""Lots listed on the home (the oldest first); the lot list pages through every lot."""

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
        """The review queue, its oldest :data:`PAGE_SIZE` lots; a last row ``(None,
        total)`` when it holds more."""
        rows: list[Row] = []
        for item in listings.review_queue(session, who, limit=PAGE_SIZE):
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
        if len(rows) == PAGE_SIZE:
            total = listings.review_queue_size(session, who)
            if total > PAGE_SIZE:
                rows.append((None, total))
        return rows

    @override
    def show(self, data: Sequence[Row]) -> None:
        """The lots; the hint says when the queue holds more than are listed."""
        more = data[-1][1] if data and data[-1][0] is None else None
        hint = self.query_one(".pane-hint", Static)
        if more is None:
            hint.update(Content(self.HINT))
        else:
            hint.update(
                Content(
                    f"The {PAGE_SIZE} oldest of {more} lots awaiting review. Enter opens "
                    "one; l lists every lot (by status)."
                )
            )
            data = data[:-1]
        super().show(data)
