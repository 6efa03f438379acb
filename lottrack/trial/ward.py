"""The ward (blinded): bedside identity check, infusion, emergency unblinding, and the
views blinded staff get (design §7, §8).

Everything returned to a blinded user is identical for MSC and placebo visits apart from
identifiers and times: no arm, no bag kind, no cell count, no dose, no lot status. Error
messages follow the same rule.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

from sqlmodel import Session, col, select

from lottrack.kernel.errors import InvalidTransition, NotFound, ValidationError
from lottrack.kernel.inputs import clean_paragraphs, clean_text
from lottrack.kernel.isbt128 import check_character
from lottrack.records import signatures
from lottrack.records.permissions import Action, CurrentUser, authorize
from lottrack.records.signatures import Credentials
from lottrack.storage import audit
from lottrack.storage.models import (
    Dispensing,
    Infusion,
    ProductUnit,
    Subject,
    Unblinding,
    User,
    Visit,
    utcnow,
)
from lottrack.trial import allocation, release_gate
from lottrack.trial import dispensing as dispensing_rules

Row = TypeVar("Row", Subject, ProductUnit, User)

MAX_GRADE = 5
MAX_UNBLINDING_REASON = 2000
"""Characters kept of an emergency unblinding's reason (its column)."""


@dataclass(frozen=True)
class WardVisit:
    """A visit as blinded staff see it."""

    visit_id: int
    subject_code: str
    date_of_birth: dt.date
    period: int
    planned_date: dt.date
    status: str
    kit_code: str | None
    din: str | None
    volume_ml: float | None
    use_by: dt.datetime | None
    """The dispensing's use-by (the same window after dispensing for both arms)."""
    prepared_by: str | None
    prepared_at: dt.datetime | None
    verified_by: str | None
    verified_at: dt.datetime | None
    infusion_id: int | None
    identity_checked_at: dt.datetime | None
    started_at: dt.datetime | None
    ended_at: dt.datetime | None
    reactions: str
    reaction_grade: int | None
    subject_unblinded: bool


def _ward_visits(session: Session, visits: Sequence[Visit]) -> list[WardVisit]:
    """The ward's view of ``visits``, in their order, read in five statements whatever
    their number (#18: the ward's home read four to six per visit)."""
    visit_ids = [v.id for v in visits]
    subjects = _by_id(session, Subject, {v.subject_id for v in visits})
    dispensings: dict[int, Dispensing] = {}
    for d in session.exec(
        select(Dispensing)
        .where(col(Dispensing.visit_id).in_(visit_ids))
        .order_by(col(Dispensing.id))
    ).all():
        dispensings.setdefault(d.visit_id, d)  # the first, as one visit's read took it
    units = _by_id(session, ProductUnit, {d.unit_id for d in dispensings.values()})
    infusions: dict[int, Infusion] = {}
    for i in session.exec(
        select(Infusion)
        .where(col(Infusion.dispensing_id).in_([d.id for d in dispensings.values()]))
        .order_by(col(Infusion.id))
    ).all():
        infusions.setdefault(i.dispensing_id, i)
    people: set[int | None] = {d.prepared_by for d in dispensings.values()}
    people |= {d.verified_by for d in dispensings.values()}
    names = {user_id: u.full_name for user_id, u in _by_id(session, User, people).items()}
    out: list[WardVisit] = []
    for visit in visits:
        subject = subjects[visit.subject_id]
        assert visit.id is not None
        dispensing = dispensings.get(visit.id)
        unit = units.get(dispensing.unit_id) if dispensing else None
        infusion = infusions.get(dispensing.id) if dispensing and dispensing.id else None
        out.append(
            WardVisit(
                visit_id=visit.id,
                subject_code=subject.code,
                date_of_birth=subject.date_of_birth,
                period=visit.period,
                planned_date=visit.planned_date,
                status=visit.status,
                kit_code=unit.kit_code if unit else None,
                din=(unit.din + check_character(unit.din)) if unit else None,
                volume_ml=unit.volume_ml if unit else None,
                use_by=(
                    dispensing_rules.blinded_use_by(dispensing, unit)
                    if dispensing and unit
                    else None
                ),
                prepared_by=names.get(dispensing.prepared_by) if dispensing else None,
                prepared_at=dispensing.prepared_at if dispensing else None,
                verified_by=names.get(dispensing.verified_by or 0) if dispensing else None,
                verified_at=dispensing.verified_at if dispensing else None,
                infusion_id=infusion.id if infusion else None,
                identity_checked_at=infusion.identity_checked_at if infusion else None,
                started_at=infusion.started_at if infusion else None,
                ended_at=infusion.ended_at if infusion else None,
                reactions=infusion.reactions if infusion else "",
                reaction_grade=infusion.reaction_grade if infusion else None,
                subject_unblinded=subject.unblinded_at is not None,
            )
        )
    return out


def _by_id(session: Session, model: type[Row], ids: set[int | None]) -> dict[int, Row]:
    """Rows of ``model`` by id, in one statement."""
    wanted = [i for i in ids if i is not None]
    if not wanted:
        return {}
    rows = session.exec(select(model).where(col(model.id).in_(wanted))).all()
    return {row.id: row for row in rows if row.id is not None}


def ward_visits(
    session: Session,
    who: CurrentUser,
    *,
    subject_ids: Sequence[int] | None = None,
    visit_ids: Sequence[int] | None = None,
) -> list[WardVisit]:
    """Visits for the ward (of the subjects ``subject_ids`` only, and only the visits
    ``visit_ids``, when given), by planned date (the order never depends on the arm)."""
    authorize(session, who, Action.RECORD_INFUSION)
    stmt = select(Visit).order_by(col(Visit.planned_date), col(Visit.subject_id), col(Visit.period))
    if subject_ids is not None:
        stmt = stmt.where(col(Visit.subject_id).in_(list(subject_ids)))
    if visit_ids is not None:
        stmt = stmt.where(col(Visit.id).in_(list(visit_ids)))
    return _ward_visits(session, session.exec(stmt).all())


def ward_visit(session: Session, who: CurrentUser, visit_id: int) -> WardVisit:
    """One visit for the ward."""
    authorize(session, who, Action.RECORD_INFUSION)
    visit = session.get(Visit, visit_id)
    if visit is None:
        raise NotFound(f"No visit with id {visit_id}.")
    return _ward_visits(session, [visit])[0]


def _mismatch(session: Session, who: CurrentUser, visit_id: int, what: str) -> None:
    session.rollback()
    audit.set_actor(session, who.id, who.username)
    audit.log_event(session, "bedside-mismatch", "visit", visit_id, reason=what)
    session.commit()
    raise ValidationError(
        f"Bedside check failed: {what}. Do not infuse; call the pharmacy.",
        title="Identity mismatch",
    )


def bedside_check(
    session: Session,
    who: CurrentUser,
    *,
    visit_id: int,
    subject_code: str,
    date_of_birth: dt.date,
    kit_code: str,
) -> int:
    """Confirm two identifiers and the kit code at the bedside; returns the infusion id.

    A mismatch is refused and audited.
    """
    user = authorize(session, who, Action.RECORD_INFUSION)
    visit = session.exec(select(Visit).where(Visit.id == visit_id).with_for_update()).first()
    if visit is None:
        raise NotFound(f"No visit with id {visit_id}.")
    dispensing = session.exec(select(Dispensing).where(Dispensing.visit_id == visit_id)).first()
    if dispensing is None or dispensing.status not in ("verified", "infused"):
        raise InvalidTransition(
            "Cannot start the bedside check: the bag for this visit has not "
            "been dispensed and second-verified by the pharmacy."
        )
    if session.exec(select(Infusion).where(Infusion.dispensing_id == dispensing.id)).first():
        raise InvalidTransition(
            "The bedside check for this visit is already recorded (a bag is infused at most once)."
        )
    subject = session.get(Subject, visit.subject_id)
    unit = session.get(ProductUnit, dispensing.unit_id)
    assert subject is not None and unit is not None
    if subject_code.strip().upper() != subject.code:
        _mismatch(
            session,
            who,
            visit_id,
            f"subject code {subject_code.strip()!r} is not the patient of this visit",
        )
    if date_of_birth != subject.date_of_birth:
        _mismatch(session, who, visit_id, f"date of birth {date_of_birth} does not match")
    if kit_code.strip().upper() != unit.kit_code:
        _mismatch(
            session,
            who,
            visit_id,
            f"kit code {kit_code.strip()!r} is not the bag dispensed for this visit",
        )
    _require_usable(session, dispensing, unit, utcnow(), "start the bedside check")
    assert user.id is not None and dispensing.id is not None
    infusion = Infusion(
        dispensing_id=dispensing.id, identity_checked_at=utcnow(), identity_checked_by=user.id
    )
    session.add(infusion)
    session.flush()
    assert infusion.id is not None
    return infusion.id


def _require_usable(
    session: Session, dispensing: Dispensing, unit: ProductUnit, at: dt.datetime, doing: str
) -> None:
    """Refuse past the bag's use-by (thaw limit included) or while the subject's MSC lot is
    not released with a valid signature: the same words for both arms (design §7, §8)."""
    reason = _unusable(session, dispensing, unit, at)
    if reason is not None:
        raise InvalidTransition(f"Cannot {doing}: {reason}; do not infuse; call the pharmacy.")


def _unusable(
    session: Session, dispensing: Dispensing, unit: ProductUnit, at: dt.datetime
) -> str | None:
    if at > dispensing_rules.usable_until(session, dispensing, unit):
        return "the bag has passed its use-by time"
    if release_gate.unit_release_problem(session, unit) is not None:
        return release_gate.WARD_STOP
    return None


def bag_stop(session: Session, visit_id: int, at: dt.datetime) -> str | None:
    """Why the bag verified for this visit must not be infused at ``at`` (past its use-by,
    its lot no longer released), in the words the bedside check and the start would
    refuse with, the same for both arms; None when nothing stops it (or no bag is ready).
    The ward screen says it before anyone types the patient's identifiers."""
    dispensing = session.exec(select(Dispensing).where(Dispensing.visit_id == visit_id)).first()
    if dispensing is None or dispensing.status != "verified":
        return None
    unit = session.get(ProductUnit, dispensing.unit_id)
    return None if unit is None else _unusable(session, dispensing, unit, at)


def _infusion(session: Session, infusion_id: int) -> Infusion:
    infusion = session.exec(
        select(Infusion).where(Infusion.id == infusion_id).with_for_update()
    ).first()
    if infusion is None:
        raise NotFound(f"No infusion with id {infusion_id}.")
    return infusion


def _aware(at: dt.datetime, field: str) -> dt.datetime:
    if at.tzinfo is None:
        raise ValidationError(f"{field}: give a time with its zone.", field=field)
    if at > utcnow() + dt.timedelta(minutes=5):
        raise ValidationError(f"{field}: the time is in the future.", field=field)
    return at.astimezone(dt.UTC)


def start_infusion(
    session: Session, who: CurrentUser, infusion_id: int, started_at: dt.datetime
) -> None:
    """Record the start of the infusion (after the bedside check)."""
    user = authorize(session, who, Action.RECORD_INFUSION)
    infusion = _infusion(session, infusion_id)
    if infusion.started_at is not None:
        raise InvalidTransition("The start of this infusion is already recorded.")
    started = _aware(started_at, "Started at")
    if started < infusion.identity_checked_at - dt.timedelta(minutes=1):
        raise ValidationError("Started at: before the bedside identity check.", field="started_at")
    dispensing = session.get(Dispensing, infusion.dispensing_id)
    assert dispensing is not None
    unit = session.get(ProductUnit, dispensing.unit_id)
    assert unit is not None
    _require_usable(session, dispensing, unit, max(started, utcnow()), "start the infusion")
    with audit.reason(session, "infusion started"):
        infusion.started_at = started
        infusion.administered_by = user.id


def administration_content(
    infusion: Infusion, *, ended_at: dt.datetime | None, reactions: str, grade: int | None
) -> dict[str, object]:
    """What the ``administered`` signature covers: the infusion's times and reactions."""
    return {
        "infusion": infusion.id,
        "started_at": str(infusion.started_at),
        "ended_at": str(ended_at),
        "reactions": reactions,
        "grade": grade,
    }


def check_infusion_end(
    session: Session,
    who: CurrentUser,
    infusion_id: int,
    *,
    ended_at: dt.datetime,
    reactions: str = "",
    reaction_grade: int | None = None,
) -> tuple[Infusion, dt.datetime, str]:
    """Everything :func:`end_infusion` refuses before the signature, writing nothing: the
    ward screen calls it before asking for the password. Returns the infusion, the end
    time and the reactions as they will be stored."""
    authorize(session, who, Action.RECORD_INFUSION)
    infusion = _infusion(session, infusion_id)
    if infusion.started_at is None:
        raise InvalidTransition("Record the start of the infusion first.")
    if infusion.ended_at is not None:
        raise InvalidTransition(
            "This infusion is already complete (a bag is infused at most once)."
        )
    ended = _aware(ended_at, "Ended at")
    if ended < infusion.started_at:
        raise ValidationError("Ended at: before the start of the infusion.", field="ended_at")
    reactions = clean_paragraphs(reactions, "Reactions", max_length=4000, required=False)
    if reaction_grade is not None and (
        isinstance(reaction_grade, bool)
        or not isinstance(reaction_grade, int)
        or not 1 <= reaction_grade <= MAX_GRADE
    ):
        raise ValidationError(
            f"Reaction grade: {reaction_grade!r} is not a grade 1–5.", field="reaction_grade"
        )
    if reactions and reaction_grade is None:
        raise ValidationError(
            "Reaction grade: give a grade 1–5 for the reaction.", field="reaction_grade"
        )
    return infusion, ended, reactions


def end_infusion(
    session: Session,
    who: CurrentUser,
    creds: Credentials,
    infusion_id: int,
    *,
    ended_at: dt.datetime,
    reactions: str = "",
    reaction_grade: int | None = None,
) -> None:
    """Record the end and any reactions (grade 1–5), signed ``administered``."""
    infusion, ended, reactions = check_infusion_end(
        session,
        who,
        infusion_id,
        ended_at=ended_at,
        reactions=reactions,
        reaction_grade=reaction_grade,
    )
    dispensing = session.get(Dispensing, infusion.dispensing_id)
    assert dispensing is not None and infusion.id is not None
    sig = signatures.sign(
        session,
        who,
        creds,
        meaning="administered",
        record_type="infusion",
        record_id=infusion.id,
        content=administration_content(
            infusion, ended_at=ended, reactions=reactions, grade=reaction_grade
        ),
    )
    unit = session.get(ProductUnit, dispensing.unit_id)
    visit = session.get(Visit, dispensing.visit_id)
    assert unit is not None and visit is not None
    with audit.reason(session, f"infusion completed (signature #{sig.id})"):
        infusion.ended_at = ended
        infusion.reactions = reactions
        infusion.reaction_grade = reaction_grade
        infusion.signature_id = sig.id
        dispensing.status = "infused"
        unit.status = "infused"
        visit.status = "infused"


def emergency_unblind(
    session: Session, who: CurrentUser, creds: Credentials, *, subject_id: int, reason: str
) -> str:
    """Reveal one subject's sequence to an investigator: signed, reasoned, audited."""
    user = authorize(session, who, Action.UNBLIND)
    reason = clean_text(reason, "Reason", max_length=MAX_UNBLINDING_REASON, required=False)
    if len(reason) < 10:
        raise ValidationError(
            "Reason: say why the allocation must be revealed (at least 10 characters).",
            field="reason",
        )
    subject = session.exec(
        select(Subject).where(Subject.id == subject_id).with_for_update()
    ).first()
    if subject is None:
        raise NotFound(f"No subject with id {subject_id}.")
    sig = signatures.sign(
        session,
        who,
        creds,
        meaning="unblinded",
        record_type="subject",
        record_id=subject_id,
        content={"subject": subject.code, "reason": reason},
    )
    assert user.id is not None
    session.add(
        Unblinding(subject_id=subject_id, reason=reason, by_id=user.id, signature_id=sig.id)
    )
    if subject.unblinded_at is None:
        with audit.reason(session, f"emergency unblinding: {reason}"):
            subject.unblinded_at = utcnow()
    session.flush()
    return allocation.sequence_of(session, who, subject_id)
