"""DIN allocation per facility and year (design §4.1): a number is never reissued."""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from lottrack.kernel.errors import Conflict, ValidationError
from lottrack.kernel.isbt128 import format_din, parse_din
from lottrack.storage import audit
from lottrack.storage.models import DinCounter, IssuedDin, utcnow

MAX_SEQUENCE = 999_999


def allocate_din(
    session: Session, *, fin: str, purpose: str, by: int | None = None, year: int | None = None
) -> str:
    """Hand out the next DIN of ``fin`` for ``year`` (two digits; default this year, UTC).

    The counter row is incremented with a single UPDATE (atomic on both databases); the
    issued DIN is recorded in ``issued_din`` whose unique constraint backs the promise
    that it is never handed out twice, also when two terminals allocate at once.
    """
    yy = (utcnow().year % 100) if year is None else year
    if not 0 <= yy <= 99:
        raise ValidationError(f"Year: {yy} is not a two-digit year.", field="year")
    parse_din(format_din(fin, yy, 1))  # validates the FIN
    result = session.execute(
        update(DinCounter)
        .where(col(DinCounter.fin) == fin, col(DinCounter.year) == yy)
        .values(last_sequence=col(DinCounter.last_sequence) + 1)
        .returning(col(DinCounter.last_sequence))
    ).first()
    if result is None:
        try:
            with session.begin_nested():
                session.add(DinCounter(fin=fin, year=yy, last_sequence=1))
            seq = 1
        except IntegrityError:  # another terminal created the counter first
            return allocate_din(session, fin=fin, purpose=purpose, by=by, year=yy)
    else:
        seq = int(result[0])
    if seq > MAX_SEQUENCE:
        raise ValidationError(
            f"Facility {fin} has used every DIN sequence number for 20{yy:02d}.", field="din"
        )
    din = format_din(fin, yy, seq)
    if session.exec(select(IssuedDin).where(IssuedDin.din == din)).first() is not None:
        raise Conflict(f"DIN {din} was already issued; the counter is behind the register.")
    audit.actor(session)
    session.add(IssuedDin(din=din, fin=fin, year=yy, sequence=seq, purpose=purpose, issued_by=by))
    session.flush()
    return din
