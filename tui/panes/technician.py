"""Technician home: the lots in the lab and what is due for each."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from sqlmodel import Session
from typing_extensions import override

from lottrack.records.permissions import TECHNICIAN, CurrentUser
from lottrack.views import listings
from tui.panes import lot_pane
from tui.panes.base import Row
from tui.panes.lot_pane import LotTablePane, first_page


class LotsInProcessPane(LotTablePane):
    """Lots in process with their next step, and formulated lots missing QC results."""

    ROLE = TECHNICIAN
    TAB_LABEL = "Lab"
    TITLE = "Lots in process — what is due"
    HINT = "Longest waiting first. Enter opens the lot."
    COLUMNS = ("Lot", "Subject", "Due", "Waiting since")
    WRAP = ("Due", 24)
    EMPTY = "Nothing is due: no lot is in process and no QC result is missing."
    MORE = (
        "The {page} longest waiting of {total} lots with something due. Enter opens one; "
        "l lists every lot."
    )
    HELP = """\
**Lots in process — what is due** lists every lot being manufactured with its next step
(seed the next passage, harvest the open one, count or recount the final product,
formulate), and formulated lots that still miss required QC results or have an open
OOS investigation to retest against; a lot with an open investigation or deviation says
so first (neither can be released while it is open); the longest waiting first.
**Enter** opens the lot, where the step is recorded. **h** records a new harvest, **l**
lists every lot, **g** the reagent lots.
"""

    @classmethod
    @override
    def fetch(cls, session: Session, who: CurrentUser) -> Sequence[Row]:
        """The technician's work list, its longest waiting lots (a page); a last row
        ``(None, total)`` when it holds more."""
        work = listings.technician_work(session, who, limit=lot_pane.PAGE_SIZE)
        rows: list[Row] = [
            (
                item.lot_id,
                item.lot_number,
                item.subject_code,
                Text(
                    item.due,
                    style="bold red"
                    if (
                        "Recount" in item.due or "OPEN" in item.due or item.due.startswith("Retest")
                    )
                    else "bold",
                ),
                item.since,
            )
            for item in work.items
        ]
        return first_page(rows, work.total)
