"""What the forms offer: reagent lots, sites, subjects, harvests without a lot, and a
lot's state, conventions, passages and QC tests.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlmodel import Session, col, select

from lottrack.facility.sites import site_zone
from lottrack.manufacturing import investigations, lots, qc, specifications
from lottrack.manufacturing.lots import lot_site, lot_spec
from lottrack.manufacturing.reagents import RELEASED
from lottrack.records.permissions import Action, CurrentUser, authorize
from lottrack.storage.models import Harvest, Lot, ReagentLot, Site, Subject, utcnow

# ------------------------------------------------------------------ form choices


@dataclass(frozen=True)
class ReagentRow:
    """A reagent lot and whether it may be recorded as used today."""

    id: int
    name: str
    kind: str
    supplier: str
    lot_number: str
    expiry: dt.date
    status: str
    usable: bool


def reagent_lots(
    session: Session, who: CurrentUser, *, usable_only: bool = False, on: dt.date | None = None
) -> list[ReagentRow]:
    """Reagent lots by kind and name; ``usable`` when released and not expired on ``on``
    (default today, UTC). ``usable_only`` leaves the others out."""
    authorize(session, who, Action.VIEW_BATCH_RECORD)
    day = on or utcnow().date()
    rows = session.exec(
        select(ReagentLot).order_by(
            col(ReagentLot.kind), col(ReagentLot.name), col(ReagentLot.lot_number)
        )
    ).all()
    out = [
        ReagentRow(
            r.id or 0,
            r.name,
            r.kind,
            r.supplier,
            r.lot_number,
            r.expiry,
            r.status,
            r.status == RELEASED and r.expiry >= day,
        )
        for r in rows
    ]
    return [r for r in out if r.usable] if usable_only else out


@dataclass(frozen=True)
class SiteChoice:
    """A site a subject can be registered at."""

    id: int
    name: str
    decimal_separator: str
    timezone: str


def site_choices(session: Session, who: CurrentUser) -> list[SiteChoice]:
    """Every site, by name."""
    authorize(session, who, Action.VIEW_BATCH_RECORD)
    return [
        SiteChoice(s.id or 0, s.name, s.decimal_separator, s.timezone)
        for s in session.exec(select(Site).order_by(col(Site.name))).all()
    ]


@dataclass(frozen=True)
class SubjectChoice:
    """A subject a harvest can be recorded for (code, initials and date of birth)."""

    id: int
    code: str
    initials: str
    date_of_birth: dt.date
    site_id: int
    decimal_separator: str


def subject_choices(session: Session, who: CurrentUser) -> list[SubjectChoice]:
    """Every subject by code, with the decimal separator of their site."""
    authorize(session, who, Action.VIEW_BATCH_RECORD)
    rows = session.exec(
        select(Subject, Site.decimal_separator)
        .join(Site, col(Site.id) == col(Subject.site_id))
        .order_by(col(Subject.code))
    ).all()
    return [
        SubjectChoice(s.id or 0, s.code, s.initials, s.date_of_birth, s.site_id, sep)
        for s, sep in rows
    ]


@dataclass(frozen=True)
class HarvestChoice:
    """A harvest that has no lot yet."""

    id: int
    din: str
    subject_code: str
    collected_at: dt.datetime
    volume_text: str


def harvests_without_lot(session: Session, who: CurrentUser) -> list[HarvestChoice]:
    """Harvests (not voided) from which no lot has been started, newest first."""
    authorize(session, who, Action.VIEW_BATCH_RECORD)
    rows = session.exec(
        select(Harvest, Subject.code)
        .join(Subject, col(Subject.id) == col(Harvest.subject_id))
        .outerjoin(Lot, col(Lot.harvest_id) == col(Harvest.id))
        .where(col(Lot.id).is_(None), col(Harvest.voided_reason).is_(None))
        .order_by(col(Harvest.collected_at).desc(), col(Harvest.id).desc())
    ).all()
    return [
        HarvestChoice(h.id or 0, h.din, code, h.collected_at, h.volume_text) for h, code in rows
    ]


@dataclass(frozen=True)
class PassageChoice:
    """A passage of the lot, for the harvest and count forms."""

    id: int
    label: str
    seeded_at: dt.datetime
    harvested_at: dt.datetime | None


@dataclass(frozen=True)
class QCTest:
    """A test of the lot's specification and its latest result, for the QC form."""

    code: str
    test_name: str
    kind: str
    dimension: str
    limit_text: str
    required: bool
    latest_id: int | None
    latest_value: str
    latest_conforms: bool | None
    open_investigation: int | None = None
    """The open OOS investigation of this test: a new result is a retest against it."""


@dataclass(frozen=True)
class LotFormContext:
    """What the manufacturing forms of one lot need to know before anything is typed."""

    lot_id: int
    lot_number: str
    status: str
    subject_code: str
    decimal_separator: str
    timezone: dt.tzinfo
    spec_version: int
    max_passage: int
    min_replicates: int
    max_cv_pct: float
    passages: tuple[PassageChoice, ...]
    qc_tests: tuple[QCTest, ...]

    @property
    def open_passage(self) -> PassageChoice | None:
        """The last passage when it is seeded but not harvested."""
        last = self.passages[-1] if self.passages else None
        return last if last is not None and last.harvested_at is None else None

    @property
    def next_passage(self) -> int:
        """The number the next seeding gets."""
        return int(self.passages[-1].label[1:]) + 1 if self.passages else 0


def lot_form_context(
    session: Session,
    who: CurrentUser,
    lot_id: int,
    *,
    results: Sequence[qc.QCRow] | None = None,
) -> LotFormContext:
    """The lot's state, site conventions, specification limits, passages and QC tests
    (``results``: the lot's results as :func:`qc.results` gives them, voided ones
    included or not, when the caller read them already: the batch record shows them)."""
    authorize(session, who, Action.VIEW_BATCH_RECORD)
    lot = lots.get_lot(session, lot_id)
    site, spec = lot_site(session, lot), lot_spec(session, lot)
    subject = session.get(Subject, lot.subject_id)
    passages = [p for p in lots.passages_of(session, lot_id) if p.voided_reason is None]
    shown = qc.results(session, lot_id) if results is None else results
    latest = {r.code: r for r in shown if not r.superseded and r.voided_reason is None}
    limit = qc.endotoxin_limit_for(session, lot)
    under_investigation = {
        v.test_name: v.id for v in investigations.views(session, lot_id) if v.is_open
    }
    tests = []
    for item in specifications.items(session, lot.spec_id):
        row = latest.get(item.code)
        tests.append(
            QCTest(
                item.code,
                item.test_name,
                item.kind,
                item.dimension,
                specifications.limit_text(item, endotoxin_limit=limit),
                item.required,
                row.id if row else None,
                row.value_text if row else "",
                row.conforms if row else None,
                under_investigation.get(item.test_name),
            )
        )
    return LotFormContext(
        lot_id,
        lot.lot_number,
        lot.status,
        subject.code if subject else "?",
        site.decimal_separator,
        site_zone(site),
        spec.version,
        spec.max_passage,
        spec.min_replicates,
        spec.max_cv_pct,
        tuple(
            PassageChoice(p.id or 0, f"P{p.number}", p.seeded_at, p.harvested_at) for p in passages
        ),
        tuple(tests),
    )
