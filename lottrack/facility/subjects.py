"""Trial subjects (design §2) and their chain-of-identity id (design §4.3).

The chain-of-identity id is random (``secrets``), never sequential, so that it reveals
nothing about enrolment order; it links the harvest DIN, the lot, both bags and both
infusions of one subject.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, select

from lottrack.facility.sites import local_date, site_row
from lottrack.kernel.errors import Conflict, NotFound, ValidationError
from lottrack.kernel.snapshots import snapshot
from lottrack.records.permissions import Action, CurrentUser, authorize
from lottrack.storage.models import Subject, utcnow

UNAMBIGUOUS_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
"""Digits and capitals without 0/O, 1/I/L, which are misread on labels and by ear."""
COI_PREFIX = "COI-"
COI_LENGTH = 10
MAX_AGE_YEARS = 120
_CODE = re.compile(r"[A-Z]{2,6}-[0-9]{2,6}")
_INITIALS = re.compile(r"[A-Z]{2,4}")
_ATTEMPTS = 20


@dataclass(frozen=True)
class SubjectInfo:
    """A subject as services hand it out; the date of birth is the second identifier."""

    id: int
    code: str
    initials: str
    date_of_birth: dt.date
    site_id: int
    coi_id: str


def _info(subject: Subject) -> SubjectInfo:
    return snapshot(SubjectInfo, subject)


def new_random_code(session: Session, column: Any, prefix: str, length: int) -> str:
    """``prefix`` + ``length`` random characters of :data:`UNAMBIGUOUS_ALPHABET`, not yet
    used in ``column`` (an ORM attribute such as ``Subject.coi_id``). The column's unique
    constraint guards the rare race between two terminals."""
    for _ in range(_ATTEMPTS):
        code = prefix + "".join(secrets.choice(UNAMBIGUOUS_ALPHABET) for _ in range(length))
        if session.exec(select(column).where(column == code)).first() is None:
            return code
    raise Conflict(f"Could not find an unused {prefix}… code; try again.")


def _validate_code(code: str) -> str:
    text = code.strip().upper() if isinstance(code, str) else ""
    if not _CODE.fullmatch(text):
        raise ValidationError(
            f'Subject code: "{str(code)[:40]}" is not a trial subject code; expected 2–6 '
            "letters, a dash and 2–6 digits, such as TLS-003.",
            field="Subject code",
        )
    return text


def _validate_initials(initials: str) -> str:
    text = initials.strip().upper() if isinstance(initials, str) else ""
    if not _INITIALS.fullmatch(text):
        raise ValidationError(
            f'Initials: "{str(initials)[:40]}" are not initials; expected 2–4 letters A–Z, '
            "such as JD or JMD.",
            field="Initials",
        )
    return text


def _validate_dob(date_of_birth: dt.date, today: dt.date) -> dt.date:
    if isinstance(date_of_birth, dt.datetime) or not isinstance(date_of_birth, dt.date):
        raise ValidationError(
            f"Date of birth: {date_of_birth!r} is not a date.", field="Date of birth"
        )
    if date_of_birth > today:
        raise ValidationError(
            f"Date of birth: {date_of_birth.isoformat()} is in the future "
            f"(today is {today.isoformat()}).",
            field="Date of birth",
        )
    if today.year - date_of_birth.year > MAX_AGE_YEARS:
        raise ValidationError(
            f"Date of birth: {date_of_birth.isoformat()} would make the "
            f"subject older than {MAX_AGE_YEARS} years; check the year.",
            field="Date of birth",
        )
    return date_of_birth


def register_subject(
    session: Session,
    who: CurrentUser,
    *,
    code: str,
    initials: str,
    date_of_birth: dt.date,
    site_id: int,
) -> SubjectInfo:
    """Register a trial subject at a site and give them a chain-of-identity id."""
    user = authorize(session, who, Action.REGISTER_SUBJECT)
    site = site_row(session, site_id)
    code = _validate_code(code)
    initials = _validate_initials(initials)
    dob = _validate_dob(date_of_birth, local_date(site, utcnow()))
    if session.exec(select(Subject).where(Subject.code == code)).first() is not None:
        raise ValidationError(f"Subject code: {code} is already registered.", field="Subject code")
    subject = Subject(
        code=code,
        initials=initials,
        date_of_birth=dob,
        site_id=site_id,
        coi_id=new_random_code(session, Subject.coi_id, COI_PREFIX, COI_LENGTH),
        created_by=user.id,
    )
    session.add(subject)
    session.flush()
    return _info(subject)


def subject_row(session: Session, subject_id: int) -> Subject:
    """The subject row (for services of this package)."""
    subject = session.get(Subject, subject_id)
    if subject is None:
        raise NotFound(f"No subject with id {subject_id}.")
    return subject


def get_subject(session: Session, subject_id: int) -> SubjectInfo:
    """A subject by id."""
    return _info(subject_row(session, subject_id))


def find_subject(session: Session, code: str) -> SubjectInfo:
    """A subject by trial code (case and surrounding spaces ignored)."""
    text = code.strip().upper() if isinstance(code, str) else ""
    subject = session.exec(select(Subject).where(Subject.code == text)).first()
    if subject is None:
        raise NotFound(f'No subject "{text[:40]}".')
    return _info(subject)
