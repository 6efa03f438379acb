"""Every table of design.md §2. Import from here so that the metadata is complete."""

from lottrack.storage.models.accounts import Setting, Site, User
from lottrack.storage.models.base import Audited, UTCDateTime, utcnow
from lottrack.storage.models.manufacturing import (
    CellCount,
    CountReplicate,
    CustodyEvent,
    DinCounter,
    Disposition,
    Harvest,
    IssuedDin,
    Lot,
    Passage,
    PassageReagent,
    ProductUnit,
    QCResult,
    ReagentLot,
    Specification,
    SpecItem,
)
from lottrack.storage.models.pharmacy import Dispensing, DispensingCheck, Infusion, Unblinding
from lottrack.storage.models.quality import (
    Deviation,
    DeviationLink,
    Investigation,
    InvestigationRetest,
    SpecApproval,
)
from lottrack.storage.models.records import AuditCheckpoint, AuditEvent, Certificate, Signature
from lottrack.storage.models.trial import Allocation, Subject, Visit, WeightMeasurement

__all__ = [
    "Allocation",
    "AuditCheckpoint",
    "AuditEvent",
    "Audited",
    "CellCount",
    "Certificate",
    "CountReplicate",
    "CustodyEvent",
    "Deviation",
    "DeviationLink",
    "DinCounter",
    "Dispensing",
    "DispensingCheck",
    "Disposition",
    "Harvest",
    "Infusion",
    "Investigation",
    "InvestigationRetest",
    "IssuedDin",
    "Lot",
    "Passage",
    "PassageReagent",
    "ProductUnit",
    "QCResult",
    "ReagentLot",
    "Setting",
    "Signature",
    "Site",
    "SpecApproval",
    "SpecItem",
    "Specification",
    "Subject",
    "UTCDateTime",
    "Unblinding",
    "User",
    "Visit",
    "WeightMeasurement",
    "utcnow",
]
