"""Build the data objects of the documents (design §9) from the records: the release
certificate here, with what every builder reads alike (a row, the site's facility, names,
a signature's manifestation); the blinded documents in
:mod:`lottrack.views.documents.blinded_builders`.

Each builder authorizes the person, reads the records in the caller's session, derives
what the document states (population doublings, signature validity, changes after first
entry) and returns a frozen data object; the renderers compute nothing.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Iterable
from typing import Any, TypeVar

from sqlalchemy import and_, or_
from sqlmodel import Session, col, select

from lottrack.kernel import calc
from lottrack.kernel.errors import InvalidTransition, LotTrackError, NotFound
from lottrack.manufacturing import deviations, investigations, lots, qc
from lottrack.manufacturing.bag_codes import bag_name
from lottrack.manufacturing.formulation import BLINDED_STATUSES
from lottrack.records import signatures
from lottrack.records.permissions import MASKED, Action, CurrentUser, authorize
from lottrack.release import batch_record, disposition
from lottrack.storage import settings
from lottrack.storage.audit_hash import stored_changes
from lottrack.storage.models import (
    AuditEvent,
    Harvest,
    Lot,
    Passage,
    ProductUnit,
    QCResult,
    Site,
    Specification,
    SpecItem,
    Subject,
    User,
)
from lottrack.views.documents.data import (
    BagLine,
    DinText,
    DispositionInfo,
    ExceptionalRelease,
    Facility,
    GrowthPoint,
    HarvestInfo,
    PassageLine,
    QCLine,
    QualityRecordLine,
    ReleaseCertificateData,
    SignatureManifestation,
)

RELEASE_PRODUCT_NAME = (
    "Autologous bone-marrow mesenchymal stromal cells (MSC), suspension for intravenous infusion"
)
R = TypeVar("R")

_ENTITY_NAMES = {
    "lot": "Lot",
    "harvest": "Harvest",
    "passage": "Passage",
    "passage_reagent": "Passage reagent",
    "cell_count": "Cell count",
    "count_replicate": "Count replicate",
    "qc_result": "QC result",
    "product_unit": "Bag",
}


# --------------------------------------------------------------------------- shared


def get_row(session: Session, model: type[R], row_id: int | None, what: str) -> R:
    """The row of ``model`` with ``row_id``; NotFound names it as ``what``."""
    row = session.get(model, row_id) if row_id is not None else None
    if row is None:
        raise NotFound(f"No {what} with id {row_id}.")
    return row


def site_of(session: Session, subject: Subject) -> Site:
    """The subject's site."""
    return get_row(session, Site, subject.site_id, "site")


def _facility(site: Site) -> Facility:
    return Facility(site.name, site.address, site.fin)


def site_fields(site: Site) -> dict[str, Any]:
    """What every document takes from the site: its facility, time zone, decimal separator."""
    return {
        "facility": _facility(site),
        "timezone": site.timezone,
        "decimal_separator": site.decimal_separator,
    }


def _local(site: Site, moment: dt.datetime) -> str:
    """``2024-05-02 10:15 CEST``: the site's local time."""
    return moment.astimezone(zoneinfo.ZoneInfo(site.timezone)).strftime("%Y-%m-%d %H:%M %Z")


def full_names(session: Session, user_ids: Iterable[int | None]) -> dict[int, str]:
    """The full names of these users, by id."""
    ids = {i for i in user_ids if i is not None}
    if not ids:
        return {}
    users = session.exec(select(User).where(col(User.id).in_(ids))).all()
    return {u.id: u.full_name for u in users if u.id is not None}


def manifestation(view: signatures.SignatureView) -> SignatureManifestation:
    """A signature as a document prints it: printed name, meaning, time, validity."""
    return SignatureManifestation(
        view.printed_name, view.meaning, view.meaning_text, view.signed_at, view.valid
    )


# ------------------------------------------------------------------------ release


def _passages(session: Session, lot_id: int) -> tuple[list[PassageLine], list[GrowthPoint]]:
    rows = session.exec(
        select(Passage)
        .where(Passage.lot_id == lot_id, col(Passage.voided_reason).is_(None))
        .order_by(col(Passage.number), col(Passage.id))
    ).all()
    lines: list[PassageLine] = []
    doublings: list[float] = []
    for p in rows:
        growth = None
        if p.harvested_at is not None and p.cells_harvested is not None:
            growth = calc.passage_growth(
                p.cells_seeded, p.cells_harvested, p.seeded_at, p.harvested_at, p.area_cm2
            )
        # A cumulative PD exists only while every earlier passage has been harvested.
        cumulative = None
        if growth is not None and len(doublings) == len(lines):
            doublings.append(growth.population_doublings)
            cumulative = calc.cumulative_population_doublings(doublings)
        lines.append(
            PassageLine(
                number=p.number,
                seeded_at=p.seeded_at,
                harvested_at=p.harvested_at,
                cells_seeded=p.cells_seeded,
                cells_harvested=p.cells_harvested,
                seeding_density_per_cm2=calc.seeding_density(p.cells_seeded, p.area_cm2),
                population_doublings=growth.population_doublings if growth else None,
                cumulative_population_doublings=cumulative,
                doubling_time_hours=growth.doubling_time_hours if growth else None,
            )
        )
    day = dt.timedelta(days=1)
    points = [
        GrowthPoint(
            (line.harvested_at - lines[0].seeded_at) / day, line.cumulative_population_doublings
        )
        for line in lines
        if line.harvested_at is not None and line.cumulative_population_doublings is not None
    ]
    return lines, points


def _record_ids(session: Session, lot: Lot) -> dict[str, list[int]]:
    """Ids of every row of the lot's batch record that its release covers, voided ones
    included: not its post-thaw counts (as in
    :func:`lottrack.release.batch_record.lot_content`)."""

    def ids(column: Any, where: list[Any]) -> list[int]:
        return [i for i in session.exec(select(column).where(*where)).all() if i is not None]

    return {
        entity: ids(column, where)
        for entity, (column, where) in batch_record.record_rows(lot.id, post_thaw=False).items()
    }


def _shown(value: Any) -> str:
    return "—" if value is None else repr(value) if isinstance(value, str) else str(value)


def changes_after_first_entry(session: Session, lot: Lot, site: Site) -> list[str]:
    """Release-relevant values of the lot's batch record changed after they were first
    entered, one line per audited change, oldest first (from the audit trail).

    Filling in a value that was empty (a passage's harvest, the formulation time) is a
    first entry, not a change; a void is always a change.
    """
    record = _record_ids(session, lot)
    conditions = [
        and_(col(AuditEvent.entity) == entity, col(AuditEvent.entity_id).in_([str(i) for i in ids]))
        for entity, ids in record.items()
        if ids
    ]
    events = session.exec(
        select(AuditEvent)
        .where(
            col(AuditEvent.action).in_(("update", "void")),
            or_(*conditions),
        )
        .order_by(col(AuditEvent.seq))
    ).all()
    tests = dict(
        session.exec(
            select(QCResult.id, SpecItem.test_name)
            .join(SpecItem, col(SpecItem.id) == col(QCResult.spec_item_id))
            .where(QCResult.lot_id == lot.id)
        ).all()
    )
    names = full_names(session, (e.user_id for e in events))
    lines = []
    for event in events:
        excluded = batch_record.LIFECYCLE_FIELDS.get(event.entity, frozenset())
        changes = stored_changes(event.changes)
        changed = [
            f"{field} {_shown(old)} → {_shown(new)}"
            for field, (old, new) in sorted(changes.items())
            if field not in excluded and (old not in (None, "") or event.action == "void")
        ]
        if not changed:
            continue
        what = _ENTITY_NAMES.get(event.entity, event.entity)
        if event.entity == "qc_result":
            what += f" {tests.get(int(event.entity_id), '')}".rstrip()
        who = names.get(event.user_id or -1, event.username)
        reason = f"; reason: {event.reason}" if event.reason else ""
        lines.append(
            f"{what} #{event.entity_id} ({event.action}): {'; '.join(changed)} "
            f"({_local(site, event.at)}, {who}{reason})"
        )
    return lines


def _bags(
    session: Session, who: CurrentUser, lot_id: int, window: calc.DoseWindow
) -> list[BagLine]:
    """The lot's bags, each with the body weights its viable cells dose inside the window.
    Issued by blinded QA, a bag is named by its division and its status is masked: its
    kit code and whether it was dispensed would tell the arm of a visit (design §7)."""
    units = session.exec(
        select(ProductUnit)
        .where(ProductUnit.lot_id == lot_id)
        .order_by(col(ProductUnit.division), col(ProductUnit.id))
    ).all()
    lines = []
    for unit in units:
        weights = (
            calc.weights_inside_window(unit.viable_cells, window) if unit.viable_cells else None
        )
        status = MASKED if not who.unblinded and unit.status in BLINDED_STATUSES else unit.status
        lines.append(
            BagLine(
                bag_name(unit, who),
                unit.volume_ml,
                unit.viable_cells,
                weights[0] if weights else None,
                weights[1] if weights else None,
                status,
            )
        )
    return lines


def _current_decision(
    history: list[disposition.DispositionView], lot: Lot
) -> disposition.DispositionView:
    for view in reversed(history):
        if view.decision == lot.status:
            return view
    raise LotTrackError(
        f"Lot {lot.lot_number} is {lot.status} but no QA decision records "
        "it; the batch record needs QA review before a certificate is issued.",
        title="Disposition missing",
    )


def quality_records(session: Session, lot_id: int) -> tuple[QualityRecordLine, ...]:
    """The lot's investigations and deviations as the release certificate lists them."""
    out = []
    for inv in investigations.views(session, lot_id):
        outcome = (
            "OPEN"
            if inv.conclusion is None
            else f"{investigations.CONCLUSIONS[inv.conclusion]} — {inv.conclusion_text} "
            f"({inv.closed_by})"
        )
        retests = "; ".join(f"retest {r.value_text} ({r.reason})" for r in inv.retests)
        out.append(
            QualityRecordLine(
                "Investigation",
                f"#{inv.id}",
                inv.result_text + (f"; {retests}" if retests else ""),
                outcome,
            )
        )
    for dev in deviations.views(session, lot_id):
        outcome = "OPEN" if dev.is_open else f"closed — {dev.closure} ({dev.closed_by})"
        accepted = [n for n in dev.named_by if n.startswith("disposition")]
        if accepted:
            outcome += "; accepted by the exceptional release"
        out.append(
            QualityRecordLine(
                "Deviation",
                f"#{dev.id} ({'planned' if dev.planned else 'unplanned'})",
                f"{dev.description} Impact: {dev.impact} Corrective action: "
                f"{dev.corrective_action}",
                outcome,
            )
        )
    return tuple(out)


def build_release_data(session: Session, who: CurrentUser, lot_id: int) -> ReleaseCertificateData:
    """The release certificate of a released (or exceptionally released) lot."""
    authorize(session, who, Action.ISSUE_RELEASE_CERTIFICATE)
    lot = lots.get_lot(session, lot_id)
    if lot.status not in lots.RELEASED_STATES:
        raise InvalidTransition(
            f"Cannot issue a release certificate: lot {lot.lot_number} "
            f"is {lot.status}; a certificate is issued for a released "
            "lot only."
        )
    harvest = get_row(session, Harvest, lot.harvest_id, "harvest")
    subject = get_row(session, Subject, lot.subject_id, "subject")
    spec = get_row(session, Specification, lot.spec_id, "specification")
    site = site_of(session, subject)
    history = disposition.history(session, who, lot_id)
    current = _current_decision(history, lot)
    records = None
    if current.exceptional is not None:
        exc = current.exceptional
        if exc.sponsor_notified_at is None:
            raise LotTrackError(
                f"Lot {lot.lot_number} was released under exception without "
                "the time the sponsor was notified; no certificate is issued.",
                title="Exceptional release incomplete",
            )
        records = ExceptionalRelease(
            exc.physician_request,
            exc.risk_evaluation,
            exc.physician_acceptance,
            exc.sponsor_notified_at,
        )
    passages, points = _passages(session, lot_id)
    window = calc.DoseWindow(
        settings.get_float(session, "dose_min_cells_per_kg"),
        settings.get_float(session, "dose_max_cells_per_kg"),
    )
    return ReleaseCertificateData(
        **site_fields(site),
        product_name=RELEASE_PRODUCT_NAME,
        lot_number=lot.lot_number,
        din=DinText.of(harvest.din),
        coi_id=subject.coi_id,
        subject_code=subject.code,
        specification_version=spec.version,
        specification_name=spec.name,
        harvest=HarvestInfo(harvest.collected_at, harvest.volume_ml),
        passages=tuple(passages),
        growth_curve=tuple(points),
        qc_results=tuple(
            QCLine(
                r.test_name,
                r.value_text,
                r.limit_text,
                r.conforms,
                r.tested_at,
                is_retest=r.retest_of_id is not None,
                superseded=r.superseded,
                investigation_note=r.investigation_note,
            )
            for r in qc.results(session, lot_id)
        ),
        quality_records=quality_records(session, lot_id),
        disposition=DispositionInfo(
            current.decision,
            current.decided_at,
            current.justification,
            exceptional=records is not None,
            exceptional_records=records,
        ),
        changed_after_first_entry=tuple(changes_after_first_entry(session, lot, site)),
        signatures=tuple(manifestation(v.signature) for v in history if v.signature is not None),
        bags=tuple(_bags(session, who, lot_id, window)),
        dose_min_cells_per_kg=window.min,
        dose_max_cells_per_kg=window.max,
    )
