"""Read-only listings for the pharmacy and the ward screens (design §5, §7, §8).

Nothing here writes. Every function authorizes first and returns frozen plain data.

* The pharmacy (unblinded) gets the visits due with their arm, a visit with its current
  weight, the subject's available MSC bags and the suspension-media lots, the dispensings
  awaiting second verification, and a dry run of the §8 checks (:func:`preview_dispensing`,
  :func:`preview_verification`) built from the dispensing service's own check functions,
  so the screen shows exactly what signing would find.
* The ward (blinded) gets patients and visits built on :func:`lottrack.trial.ward.
  ward_visit`: identical for MSC and placebo visits apart from identifiers and times, in
  an order that never depends on the arm (the home's first patients, and every patient
  searched and paged in SQL for the Find-a-patient screen).

The pharmacy's listings are in :mod:`~lottrack.trial.listings.pharmacy`, the ward's and
the investigators' in :mod:`~lottrack.trial.listings.blinded`, what both read in
:mod:`~lottrack.trial.listings.common`; every name is exported here.
"""

from lottrack.trial.listings.blinded import (
    WARD_STATES,
    SubjectRef,
    WardLinePage,
    WardPage,
    WardRow,
    WardVisitDetail,
    subject_for_unblinding,
    unblinded_subjects,
    ward_line_page,
    ward_patients,
    ward_state,
    ward_visit_detail,
)
from lottrack.trial.listings.common import WeightInfo
from lottrack.trial.listings.pharmacy import (
    AwaitingVerification,
    BagOption,
    DispensedBag,
    DispensingPreview,
    MediaLot,
    PharmacyVisit,
    VisitDue,
    VisitsDue,
    awaiting_verification,
    din_text,
    pharmacy_visit,
    preview_dispensing,
    preview_verification,
    visits_due,
)

__all__ = [
    "AwaitingVerification",
    "BagOption",
    "DispensedBag",
    "DispensingPreview",
    "MediaLot",
    "PharmacyVisit",
    "SubjectRef",
    "VisitDue",
    "VisitsDue",
    "WARD_STATES",
    "WardLinePage",
    "WardPage",
    "WardRow",
    "WardVisitDetail",
    "WeightInfo",
    "awaiting_verification",
    "din_text",
    "pharmacy_visit",
    "preview_dispensing",
    "preview_verification",
    "subject_for_unblinding",
    "unblinded_subjects",
    "visits_due",
    "ward_line_page",
    "ward_patients",
    "ward_state",
    "ward_visit_detail",
]
