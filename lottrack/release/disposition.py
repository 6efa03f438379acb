"""QA disposition of a lot (design §3, §6.2, §6.4): each decision is e-signed.

Release is refused while a required result is missing or out of specification (then only
the exceptional path is open, with all four of its records), while a count awaits a
recount, and to anyone who recorded a step of the lot (separation of duties).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_
from sqlmodel import Session, col, select

from lottrack.kernel.errors import InvalidTransition, PermissionDenied, ValidationError
from lottrack.kernel.inputs import clean_paragraphs
from lottrack.manufacturing import deviations, lots, qc
from lottrack.records import signatures
from lottrack.records.permissions import Action, CurrentUser, authorize
from lottrack.records.signatures import Credentials, SignatureView
from lottrack.release.batch_record import lot_content
from lottrack.storage.models import (
    AuditEvent,
    CellCount,
    Disposition,
    Lot,
    Passage,
    ProductUnit,
    QCResult,
    utcnow,
)

MAX_TEXT = 2000
"""Characters kept of a justification, a physician's request or acceptance (their columns)."""
MAX_RISK_TEXT = 4000
"""Characters kept of the manufacturer's risk evaluation (its column)."""
REJECT_FROM = (lots.AWAITING_RELEASE, lots.QUARANTINED, lots.IN_PROCESS)
"""States a lot may be rejected from."""
QUARANTINE_FROM = (lots.IN_PROCESS, lots.AWAITING_RELEASE)
"""States a lot may be put on hold from."""
DECISIONS = ("release", "exceptional", "reject", "quarantine", "lift")
"""The decisions QA takes, by the names :func:`open_decisions` uses."""


@dataclass(frozen=True)
class ExceptionalRelease:
    """The four records Part IV §11.5 asks for before an out-of-specification release."""

    physician_request: str
    risk_evaluation: str
    physician_acceptance: str
    sponsor_notified_at: dt.datetime | None


def _text(
    value: str, field: str, label: str, *, required: bool = True, max_length: int = MAX_TEXT
) -> str:
    try:
        return clean_paragraphs(value or "", label, max_length=max_length, required=required)
    except ValidationError as exc:
        raise ValidationError(
            exc.message.replace("nothing was typed; it is required", "required"), field=field
        ) from None


def recorded_by(session: Session, lot: Lot) -> set[int]:
    """Everyone who recorded a passage, count, QC result or formulation of the lot, or
    corrected or voided one of those records afterwards (a correction is a recording)."""
    people: set[int] = {lot.created_by}
    passages = session.exec(select(Passage).where(Passage.lot_id == lot.id)).all()
    for p in passages:
        people.add(p.recorded_by)
        if p.harvest_recorded_by is not None:
            people.add(p.harvest_recorded_by)
    counts = session.exec(
        select(CellCount.id, CellCount.counted_by).where(CellCount.lot_id == lot.id)
    ).all()
    results = session.exec(
        select(QCResult.id, QCResult.tester_id).where(QCResult.lot_id == lot.id)
    ).all()
    people.update(by for _, by in counts)
    people.update(by for _, by in results)
    people.update(session.exec(select(ProductUnit.created_by).where(ProductUnit.lot_id == lot.id)))
    records = {
        "passage": [p.id for p in passages],
        "cell_count": [i for i, _ in counts],
        "qc_result": [i for i, _ in results],
    }
    for entity, ids in records.items():
        if not ids:
            continue
        people.update(
            u
            for u in session.exec(
                select(AuditEvent.user_id).where(
                    AuditEvent.entity == entity,
                    col(AuditEvent.entity_id).in_([str(i) for i in ids]),
                    col(AuditEvent.action).in_(("update", "void")),
                    col(AuditEvent.user_id).is_not(None),
                )
            )
            if u is not None
        )
    return people


def _require_independent(session: Session, who: CurrentUser, lot: Lot, doing: str) -> None:
    if who.id in recorded_by(session, lot):
        raise PermissionDenied(
            f"{who.full_name} recorded steps of lot {lot.lot_number} and so may not {doing} it "
            "(separation of duties: the releaser must not have made or tested the lot)."
        )


def _require_no_pending_recount(session: Session, lot: Lot) -> None:
    pending = session.exec(
        select(CellCount).where(
            CellCount.lot_id == lot.id,
            CellCount.recount_required == True,  # noqa: E712
            CellCount.voided_reason == None,  # noqa: E711
        )
    ).all()
    for count in pending:
        newer = session.exec(
            select(CellCount).where(
                CellCount.lot_id == lot.id,
                CellCount.target == count.target,
                CellCount.recount_required == False,  # noqa: E712
                CellCount.voided_reason == None,  # noqa: E711
                or_(
                    col(CellCount.counted_at) > count.counted_at,
                    col(CellCount.id) > (count.id or 0),
                ),
            )
        ).first()
        if newer is None:
            raise InvalidTransition(
                f"Cannot release lot {lot.lot_number}: the {count.target} count of "
                f"{count.counted_at:%Y-%m-%d %H:%M} UTC has CV {count.cv_pct:.1f} % and needs a "
                "conforming recount first."
            )


def _decide(
    session: Session,
    who: CurrentUser,
    lot: Lot,
    creds: Credentials,
    *,
    decision: str,
    meaning: str,
    new_status: str,
    justification: str,
    exceptional: ExceptionalRelease | None = None,
) -> int:
    signature = signatures.sign(
        session,
        who,
        creds,
        meaning=meaning,
        record_type="lot",
        record_id=lot.id or 0,
        content=lot_content(session, lot),
    )
    previous = lot.status
    assert lot.id is not None
    disposition = Disposition(
        lot_id=lot.id,
        decision=decision,
        justification=justification,
        decided_at=utcnow(),
        decided_by=who.id,
        signature_id=signature.id,
        previous_status=previous,
        physician_request=exceptional.physician_request if exceptional else None,
        risk_evaluation=exceptional.risk_evaluation if exceptional else None,
        physician_acceptance=exceptional.physician_acceptance if exceptional else None,
        sponsor_notified_at=exceptional.sponsor_notified_at if exceptional else None,
    )
    session.add(disposition)
    session.flush()
    if new_status == lots.QUARANTINED:
        lot.status_before_hold = previous
    lots.set_status(
        session,
        lot,
        new_status,
        f"QA {decision} (signature #{signature.id}): {justification or decision}",
    )
    assert disposition.id is not None
    return disposition.id


def _open(session: Session, who: CurrentUser, lot_id: int) -> Lot:
    authorize(session, who, Action.DECIDE_DISPOSITION)
    return lots.get_lot(session, lot_id, for_update=True)


def _open_for_release(
    session: Session, who: CurrentUser, lot_id: int, doing: str, missing_rule: str
) -> tuple[Lot, qc.ReleaseReadiness]:
    """The lot, locked, once the checks both kinds of release share have passed."""
    lot = _open(session, who, lot_id)
    lots.require_status(lot, lots.AWAITING_RELEASE, doing)
    _require_independent(session, who, lot, "release")
    _require_no_pending_recount(session, lot)
    ready = qc.readiness(session, lot)
    if ready.missing:
        raise InvalidTransition(
            f"Cannot release lot {lot.lot_number}: no result yet for "
            f"{', '.join(ready.missing)}{missing_rule}"
        )
    return lot, ready


def release(
    session: Session, who: CurrentUser, lot_id: int, creds: Credentials, justification: str = ""
) -> int:
    """Release a lot whose every required result exists and conforms, with no open
    investigation or deviation."""
    lot, ready = _open_for_release(
        session,
        who,
        lot_id,
        "release the lot",
        " (every required result must exist before release).",
    )
    if ready.open_records:
        raise InvalidTransition(
            f"Cannot release lot {lot.lot_number}: {'; '.join(ready.open_records)}. QA "
            "closes each open investigation and deviation before release."
        )
    if ready.out_of_spec:
        raise InvalidTransition(
            f"Cannot release lot {lot.lot_number}: out of specification: "
            f"{'; '.join(ready.out_of_spec)}. Only an exceptional release (Part IV §11.5) "
            "is possible."
        )
    return _decide(
        session,
        who,
        lot,
        creds,
        decision=lots.RELEASED,
        meaning="released",
        new_status=lots.RELEASED,
        justification=_text(justification, "justification", "Justification", required=False),
    )


def release_exceptional(
    session: Session,
    who: CurrentUser,
    lot_id: int,
    creds: Credentials,
    records: ExceptionalRelease,
    justification: str,
    accepted_deviations: Sequence[int] = (),
) -> int:
    """Release an out-of-specification lot under Part IV §11.5, with all four records.

    No investigation may be open (its conclusion decides what is out of specification);
    ``accepted_deviations`` names the lot's deviations the release accepts, and must
    include every open one."""
    lot, ready = _open_for_release(
        session,
        who,
        lot_id,
        "release the lot under exception",
        "; an exceptional release covers results out of specification, not missing ones.",
    )
    if ready.open_investigations:
        raise InvalidTransition(
            f"Cannot release lot {lot.lot_number} under exception: "
            f"{'; '.join(ready.open_investigations)}. QA closes the investigation first."
        )
    accepted = deviations.check_accepted(session, lot, accepted_deviations)
    if not ready.out_of_spec:
        raise InvalidTransition(
            f"Lot {lot.lot_number} meets its specification; use the normal release."
        )
    checked = ExceptionalRelease(
        physician_request=_text(
            records.physician_request, "physician_request", "Treating physician's written request"
        ),
        risk_evaluation=_text(
            records.risk_evaluation,
            "risk_evaluation",
            "Manufacturer's risk evaluation",
            max_length=MAX_RISK_TEXT,
        ),
        physician_acceptance=_text(
            records.physician_acceptance, "physician_acceptance", "Physician's recorded acceptance"
        ),
        sponsor_notified_at=records.sponsor_notified_at,
    )
    if checked.sponsor_notified_at is None or checked.sponsor_notified_at.tzinfo is None:
        raise ValidationError(
            "Sponsor notified at: the time the sponsor was notified is required (with its zone).",
            field="sponsor_notified_at",
        )
    if checked.sponsor_notified_at > utcnow() + dt.timedelta(minutes=5):
        raise ValidationError(
            "Sponsor notified at: the time is in the future.", field="sponsor_notified_at"
        )
    decided = _decide(
        session,
        who,
        lot,
        creds,
        decision=lots.RELEASED_EXCEPTIONAL,
        meaning="released",
        new_status=lots.RELEASED_EXCEPTIONAL,
        justification=_text(justification, "justification", "Justification"),
        exceptional=checked,
    )
    for dev_id in accepted:
        deviations.link(
            session, dev_id, "disposition", decided, "accepted by the exceptional release"
        )
    return decided


_MOVES = {
    lots.REJECTED: (REJECT_FROM, "reject the lot", "rejected"),
    lots.QUARANTINED: (QUARANTINE_FROM, "quarantine the lot", "reviewed"),
}
"""Decisions that move the lot to the state of their name: from which states, what the
refusal says is being done, the signature's meaning."""


def _move_to(
    session: Session, who: CurrentUser, lot_id: int, creds: Credentials, text: str, status: str
) -> int:
    allowed_from, doing, meaning = _MOVES[status]
    lot = _open(session, who, lot_id)
    lots.require_status(lot, allowed_from, doing)
    justification = _text(text, "justification", "Justification")
    return _decide(
        session,
        who,
        lot,
        creds,
        decision=status,
        meaning=meaning,
        new_status=status,
        justification=justification,
    )


def reject(
    session: Session, who: CurrentUser, lot_id: int, creds: Credentials, justification: str
) -> int:
    """Reject a lot (final)."""
    return _move_to(session, who, lot_id, creds, justification, lots.REJECTED)


def quarantine(
    session: Session, who: CurrentUser, lot_id: int, creds: Credentials, justification: str
) -> int:
    """Put a lot on QA hold."""
    return _move_to(session, who, lot_id, creds, justification, lots.QUARANTINED)


def lift_quarantine(
    session: Session, who: CurrentUser, lot_id: int, creds: Credentials, justification: str
) -> int:
    """Return a held lot to the state it was in, with a reason."""
    lot = _open(session, who, lot_id)
    lots.require_status(lot, lots.QUARANTINED, "lift the quarantine")
    back = lot.status_before_hold or lots.AWAITING_RELEASE
    return _decide(
        session,
        who,
        lot,
        creds,
        decision="quarantine-lifted",
        meaning="reviewed",
        new_status=back,
        justification=_text(justification, "justification", "Justification"),
    )


def open_decisions(status: str, ready: qc.ReleaseReadiness) -> frozenset[str]:
    """The decisions (of :data:`DECISIONS`) a lot in ``status`` with ``ready`` is open to:
    what the review screen offers. Release needs every required result in and conforming
    and nothing open; an exceptional release covers results out of specification, never
    missing ones, once every investigation is closed. The
    services check these again with the person's independence and pending recounts."""
    open_: set[str] = set()
    if status == lots.AWAITING_RELEASE and not ready.missing:
        if ready.out_of_spec and not ready.open_investigations:
            open_.add("exceptional")
        elif not ready.out_of_spec and not ready.open_records:
            open_.add("release")
    if status in REJECT_FROM:
        open_.add("reject")
    if status in QUARANTINE_FROM:
        open_.add("quarantine")
    if status == lots.QUARANTINED:
        open_.add("lift")
    return frozenset(open_)


def why_not_open(decision: str, status: str, ready: qc.ReleaseReadiness) -> str | None:
    """Why ``decision`` is not open to a lot in ``status`` with ``ready`` (None when it
    is): the sentence the review screen says when its key is pressed anyway."""
    if decision in open_decisions(status, ready):
        return None
    if (
        decision in ("release", "exceptional")
        and status == lots.AWAITING_RELEASE
        and not ready.missing
        and ready.open_records
        and (decision == "release" or ready.open_investigations)
    ):
        blocking = ready.open_records if decision == "release" else ready.open_investigations
        return (
            f"Cannot release yet: open ({', '.join(blocking)}). Close it first (n on "
            "this screen), then decide."
        )
    if decision == "release" and status == lots.AWAITING_RELEASE and ready.out_of_spec:
        return (
            f"Cannot release: out of specification ({', '.join(ready.out_of_spec)}). "
            "Press e for an exceptional release at the treating physician's request "
            "(EU GMP Part IV §11.5), or x to reject."
        )
    if decision in ("release", "exceptional") and status == lots.AWAITING_RELEASE:
        if ready.missing:
            return (
                f"Cannot {'release' if decision == 'release' else 'release under exception'}"
                f": results missing ({', '.join(ready.missing)}). An exceptional release "
                "covers results out of specification, never missing ones."
            )
        return (
            "Not out of specification: every required result conforms; press r for a "
            "normal release."
        )
    words = {
        "release": "release",
        "exceptional": "release under exception",
        "reject": "reject",
        "quarantine": "quarantine",
        "lift": "lift a quarantine of",
    }
    return f"Cannot {words.get(decision, decision)} a lot that is {status}."


@dataclass(frozen=True)
class DispositionView:
    """A decision with its signature as shown now."""

    decision: str
    justification: str
    decided_at: dt.datetime
    signature: SignatureView | None
    exceptional: ExceptionalRelease | None


def disposition_rows(session: Session, lot_id: int) -> list[Disposition]:
    """The lot's decisions in the order made: one statement for whoever reads them in a
    read session (the decision history and the lot's timeline)."""
    return list(
        session.exec(
            select(Disposition)
            .where(Disposition.lot_id == lot_id)
            .order_by(col(Disposition.decided_at), col(Disposition.id))
        ).all()
    )


def history(session: Session, who: CurrentUser, lot_id: int) -> list[DispositionView]:
    """Every decision on the lot, each signature marked valid or invalidated (against
    the batch record as it is now, read only when a decision was signed: #18, a lot
    awaiting its first decision read its whole record a second time for nothing)."""
    authorize(session, who, Action.VIEW_BATCH_RECORD)
    lot = lots.get_lot(session, lot_id)
    content: dict[str, Any] | None = None
    out = []
    for d in disposition_rows(session, lot_id):
        sig = None
        s = (
            session.get(signatures.Signature, d.signature_id)
            if d.signature_id is not None
            else None
        )
        if s is not None:
            if content is None:
                content = lot_content(session, lot)
            sig = signatures.view(s, content)
        exc = None
        if d.decision == lots.RELEASED_EXCEPTIONAL:
            exc = ExceptionalRelease(
                d.physician_request or "",
                d.risk_evaluation or "",
                d.physician_acceptance or "",
                d.sponsor_notified_at,
            )
        out.append(DispositionView(d.decision, d.justification, d.decided_at, sig, exc))
    return out
