"""Read-only listings for the screens: lot pages, work lists, a lot's history, choices.

Every function authorizes first (``Action.VIEW_BATCH_RECORD``; the audit trail
``Action.VIEW_AUDIT``) and returns frozen dataclasses of plain values, never ORM rows.
:func:`lot_page` pages in SQL (``LIMIT``/``OFFSET`` over the lot, harvest and subject
joins), so a list of ten thousand lots costs one page of rows and one count.
"""

from lottrack.views.listings.choices import (
    HarvestChoice,
    LotFormContext,
    PassageChoice,
    QCTest,
    ReagentRow,
    SiteChoice,
    SubjectChoice,
    harvests_without_lot,
    lot_form_context,
    reagent_lots,
    site_choices,
    subject_choices,
)
from lottrack.views.listings.history import (
    AuditRow,
    CountRow,
    CustodyRow,
    ReplicateRow,
    TimelineEntry,
    lot_audit_trail,
    lot_counts,
    lot_custody,
    lot_timeline,
    named,
)
from lottrack.views.listings.pages import (
    MAX_PAGE,
    SORTS,
    LotPage,
    LotRow,
    lot_page,
    open_note,
)
from lottrack.views.listings.worklists import (
    REVIEW_STATES,
    NextStep,
    ReviewItem,
    WorkItem,
    WorkPage,
    lot_next_step,
    next_step,
    recordable,
    review_queue,
    review_queue_page,
    technician_work,
    technician_worklist,
)

__all__ = [
    "MAX_PAGE",
    "REVIEW_STATES",
    "SORTS",
    "AuditRow",
    "CountRow",
    "CustodyRow",
    "HarvestChoice",
    "LotFormContext",
    "LotPage",
    "LotRow",
    "NextStep",
    "PassageChoice",
    "QCTest",
    "ReagentRow",
    "ReplicateRow",
    "ReviewItem",
    "SiteChoice",
    "SubjectChoice",
    "TimelineEntry",
    "WorkItem",
    "WorkPage",
    "harvests_without_lot",
    "lot_audit_trail",
    "lot_counts",
    "lot_custody",
    "lot_form_context",
    "lot_next_step",
    "lot_page",
    "lot_timeline",
    "named",
    "next_step",
    "open_note",
    "reagent_lots",
    "recordable",
    "review_queue",
    "review_queue_page",
    "site_choices",
    "subject_choices",
    "technician_work",
    "technician_worklist",
]
