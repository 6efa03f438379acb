"""What the documents of design §9 print: frozen data objects the core fills.

A renderer (``certificates``) draws one of these and computes nothing; everything a
document states — derived values such as population doublings, the validity of each
signature, what changed after first entry — is decided here, in the core, by the
builders (:mod:`lottrack.views.documents.builders`).

Times are timezone-aware; documents show them in the site's zone (``timezone``) with its
abbreviation. Quantities are canonical floats (the unit is in the field name), printed
with the site's decimal separator.

The blinded documents (:class:`InfusionCertificateData`, :class:`BagLabelData`) have no
field that differs by arm — no bag kind, cell count, dose or lot number; the product
code of both arms is the MSC base code with a random division, an identifier — so an
MSC bag and a placebo bag give documents that differ only in identifiers and times
(design §7). Sequences are tuples so that a data object cannot change once built.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from lottrack.kernel.isbt128 import parse_din

AUTOLOGOUS_USE_ONLY = "FOR AUTOLOGOUS USE ONLY"
NOT_EVALUATED = "NOT EVALUATED FOR INFECTIOUS SUBSTANCES"
INFECTIOUS_AGENTS_WARNING = "WARNING: This product may transmit infectious agents."
CLINICAL_TRIAL_USE = "For clinical trial use only"


def _plain(value: Any) -> Any:
    """JSON form of a value inside a data object (times in UTC, ISO 8601)."""
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            raise ValueError("naive datetime in a document data object")
        return value.astimezone(dt.UTC).isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    raise TypeError(f"cannot put {type(value).__name__} into a document hash")


def _require_aware(*moments: dt.datetime | None) -> None:
    for moment in moments:
        if moment is not None and moment.tzinfo is None:
            raise ValueError("document times must be timezone-aware")


@dataclass(frozen=True)
class Facility:
    """The issuing facility as documents print it."""

    name: str
    address: str
    fin: str
    """ISBT 128 facility identification number (5 characters)."""


@dataclass(frozen=True)
class DinText:
    """A DIN in every printed form: 13 characters, check character, eye-readable text and
    the Code 128 barcode data (``=`` + DIN + flags; the check character is never in it)."""

    code: str
    check: str
    eye_readable: str
    barcode_data: str

    @classmethod
    def of(cls, din: str) -> DinText:
        """All forms of ``din`` (any form :func:`~lottrack.kernel.isbt128.parse_din` reads)."""
        parsed = parse_din(din)
        return cls(parsed.code, parsed.check, parsed.eye_readable(), parsed.barcode_data())


@dataclass(frozen=True)
class SignatureManifestation:
    """A signature as printed (21 CFR 11.50): name, meaning, time, and whether the signed
    record still matches what was signed."""

    printed_name: str
    meaning: str
    """The meaning code, e.g. ``released``."""
    meaning_text: str
    """The meaning as a sentence, e.g. ``I release this lot for clinical use``."""
    signed_at: dt.datetime
    valid: bool
    """False when the record changed after signing: printed as INVALIDATED."""

    def __post_init__(self) -> None:
        _require_aware(self.signed_at)


CHAIN_HEAD_KEYWORD = "lottrack-chain-head"
"""How a document's metadata keywords carry the audit chain head printed on it:
``lottrack-chain-head:SEQ:HASH``."""


@dataclass(frozen=True, kw_only=True)
class DocumentData:
    """What every document has: its id, the facility, and how to print times and numbers.

    ``document_id`` is empty while the core builds the object; issuing sets it
    (deterministic per record and copy), and the audit chain head at the issue.
    """

    document_id: str = ""
    chain_seq: int | None = None
    """Sequence number of the audit trail's last event when the document was issued."""
    chain_hash: str = ""
    """That event's hash: ``audit verify --documents`` holds the trail against it."""
    facility: Facility
    timezone: str = "UTC"
    """IANA zone of the site; times are printed in it with its abbreviation."""
    decimal_separator: str = "."

    @functools.cached_property
    def content_sha256(self) -> str:
        """SHA-256 of the certified content: every field except the document id, as
        sorted-key JSON, so an original and its reprints carry the same value."""
        body = dataclasses.asdict(self)
        for issued in ("document_id", "chain_seq", "chain_hash"):
            body.pop(issued)
        body["document_type"] = type(self).__name__
        text = json.dumps(
            body,
            sort_keys=True,
            separators=(",", ":"),
            ensure_ascii=False,
            default=_plain,
            allow_nan=False,
        )
        return hashlib.sha256(text.encode()).hexdigest()


# --------------------------------------------------------------- release certificate


@dataclass(frozen=True)
class HarvestInfo:
    """The bone-marrow harvest the lot was grown from."""

    collected_at: dt.datetime
    volume_ml: float

    def __post_init__(self) -> None:
        _require_aware(self.collected_at)


@dataclass(frozen=True)
class PassageLine:
    """One expansion passage with its derived values (None until harvested; doubling
    time also None when the cells did not grow)."""

    number: int
    seeded_at: dt.datetime
    harvested_at: dt.datetime | None
    cells_seeded: float
    cells_harvested: float | None
    seeding_density_per_cm2: float
    population_doublings: float | None
    cumulative_population_doublings: float | None
    doubling_time_hours: float | None

    def __post_init__(self) -> None:
        _require_aware(self.seeded_at, self.harvested_at)


@dataclass(frozen=True)
class GrowthPoint:
    """A point of the growth curve: days since the first seeding, cumulative PD."""

    days_in_culture: float
    cumulative_population_doublings: float


@dataclass(frozen=True)
class QCLine:
    """A QC result against its limit. ``conforms`` is None for report-only tests; a
    result replaced by a retest is still printed, marked superseded."""

    test: str
    value_text: str
    """The value as typed."""
    limit_text: str
    conforms: bool | None
    tested_at: dt.datetime
    is_retest: bool = False
    superseded: bool = False
    investigation_note: str = ""
    """How an OOS investigation bears on the result (invalidated, stands, a retest…)."""

    def __post_init__(self) -> None:
        _require_aware(self.tested_at)


@dataclass(frozen=True)
class QualityRecordLine:
    """An OOS investigation or a deviation of the lot and how QA closed it (design
    §6.6, §6.7)."""

    kind: str
    """``Investigation`` or ``Deviation``."""
    reference: str
    """``#3`` and, for a deviation, planned or unplanned."""
    what: str
    outcome: str
    """The conclusion (with QA's words), or OPEN."""


@dataclass(frozen=True)
class ExceptionalRelease:
    """The four records EU GMP Part IV §11.5 asks for (design §6.4)."""

    physician_request: str
    risk_evaluation: str
    physician_acceptance: str
    sponsor_notified_at: dt.datetime

    def __post_init__(self) -> None:
        _require_aware(self.sponsor_notified_at)


@dataclass(frozen=True)
class DispositionInfo:
    """QA's current decision on the lot."""

    decision: str
    decided_at: dt.datetime
    justification: str
    exceptional: bool = False
    exceptional_records: ExceptionalRelease | None = None

    def __post_init__(self) -> None:
        _require_aware(self.decided_at)
        if self.exceptional != (self.exceptional_records is not None):
            raise ValueError("an exceptional release needs its four records, and only it has them")


@dataclass(frozen=True)
class BagLine:
    """A bag formulated from the lot, as the (unblinded) release certificate lists it."""

    kit_code: str
    volume_ml: float
    viable_cells: float | None
    weight_min_kg: float | None
    """Lightest body weight for which the bag's viable cells stay inside the dose window."""
    weight_max_kg: float | None
    """Heaviest body weight for which the bag's viable cells reach the dose window."""
    status: str


@dataclass(frozen=True, kw_only=True)
class ReleaseCertificateData(DocumentData):
    """Lot release certificate (unblinded, per lot)."""

    product_name: str
    lot_number: str
    din: DinText
    """The collection DIN the lot was made from."""
    coi_id: str
    subject_code: str
    specification_version: int
    specification_name: str
    harvest: HarvestInfo
    passages: tuple[PassageLine, ...]
    growth_curve: tuple[GrowthPoint, ...]
    qc_results: tuple[QCLine, ...]
    disposition: DispositionInfo
    changed_after_first_entry: tuple[str, ...]
    """Release-relevant values changed after they were first entered (from the audit
    trail), one line each; empty when nothing changed."""
    signatures: tuple[SignatureManifestation, ...]
    bags: tuple[BagLine, ...] = ()
    """The bags formulated from the lot, by kit code."""
    dose_min_cells_per_kg: float = 1.0e6
    dose_max_cells_per_kg: float = 2.0e6
    """The dose window (settings) that the bags' weight ranges refer to."""
    quality_records: tuple[QualityRecordLine, ...] = ()
    """Every OOS investigation and deviation of the lot, with its conclusion."""


# ------------------------------------------------------------- blinded documents


@dataclass(frozen=True)
class BedsideCheck:
    """The identity check at the bedside (design §8)."""

    identifiers_confirmed: tuple[str, ...]
    """E.g. ("subject code", "date of birth")."""
    kit_code: str
    checked_by: str
    checked_at: dt.datetime

    def __post_init__(self) -> None:
        _require_aware(self.checked_at)


@dataclass(frozen=True, kw_only=True)
class InfusionCertificateData(DocumentData):
    """Infusion certificate (blinded, per infusion): identical for both arms apart from
    identifiers and times."""

    subject_code: str
    date_of_birth: dt.date
    visit_period: int
    visit_week: int
    kit_code: str
    din: DinText
    product_name: str
    volume_ml: float
    expires_at: dt.datetime
    """The dispensing's use-by (the same window after dispensing for both arms, §7)."""
    storage: str
    autologous_statement: str = AUTOLOGOUS_USE_ONLY
    release_reference: str
    dose_verification: SignatureManifestation | None
    second_verification: SignatureManifestation | None
    bedside_check: BedsideCheck
    infusion_started_at: dt.datetime | None
    infusion_ended_at: dt.datetime | None
    administered_by: str | None
    administration: SignatureManifestation | None = None
    """The ``administered`` signature, shown valid or invalidated."""
    reactions: str = ""
    """The reactions recorded at the end of the infusion (empty: none)."""
    reaction_grade: int | None = None

    def __post_init__(self) -> None:
        _require_aware(self.expires_at, self.infusion_started_at, self.infusion_ended_at)


@dataclass(frozen=True, kw_only=True)
class BagLabelData(DocumentData):
    """Bag label (blinded; design §4, 21 CFR 1271.370 / 1271.90)."""

    din: DinText
    product_code: str
    """The bag's 8-character ISBT 128 product code. Both arms carry the site's MSC base
    code with a random division (design §4.3, §7), so it is an identifier, not the arm."""
    product_name: str
    subject_code: str
    """The recipient."""
    date_of_birth: dt.date
    """The recipient's second identifier, checked at the bedside (design §8)."""
    volume_ml: float
    """The bag's volume (equal for both arms)."""
    expires_at: dt.datetime
    """The dispensing's use-by (the same window after dispensing for both arms, §7)."""
    storage_temperature: str
    kit_code: str
    autologous_statement: str = AUTOLOGOUS_USE_ONLY
    not_evaluated_for_infectious_substances: bool = True
    infectious_agents_warning: str = INFECTIOUS_AGENTS_WARNING
    trial_statement: str = CLINICAL_TRIAL_USE
    width_mm: float = 100.0
    height_mm: float = 100.0

    def __post_init__(self) -> None:
        _require_aware(self.expires_at)
