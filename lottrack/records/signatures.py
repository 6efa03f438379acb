"""Electronic signatures (design §6.2).

Signing asks for both components again (username and password) every time; a failure
counts towards the lock-out and writes nothing else. A signature stores the SHA-256 of
the signed record's canonical content, so any later change to that record shows the
signature as invalidated wherever it is displayed or printed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, col, select

from lottrack.kernel.errors import (
    AuthenticationFailed,
    LotTrackError,
    SignatureRejected,
    ValidationError,
)
from lottrack.records import accounts
from lottrack.storage import audit
from lottrack.storage.models import Signature, utcnow

__all__ = [
    "MEANINGS",
    "PRECHECK",
    "Credentials",
    "PrecheckPassed",
    "Signature",
    "SignatureView",
    "refusal_before_signature",
    "sign",
    "signatures_for",
    "view",
]
from lottrack.records.permissions import CurrentUser

MEANINGS: dict[str, str] = {
    "performed": "I performed this step",
    "reviewed": "I reviewed this record",
    "released": "I release this lot for clinical use",
    "rejected": "I reject this lot",
    "dose-verified": "I prepared this dispensing and verified the dose",
    "second-verified": "I independently verified identity, release and expiry",
    "administered": "I administered this product",
    "unblinded": "I request emergency unblinding of this subject",
    "concluded": "I reviewed this record and close it with the conclusion stated",
    "approved": "I approve this specification version for use",
}


@dataclass(frozen=True)
class Credentials:
    """What the signature dialog collects; the service verifies them."""

    username: str
    password: str


PRECHECK = Credentials("", "")
"""Credentials that sign nothing: :func:`sign` raises :class:`PrecheckPassed` for them.
A screen runs a signed action with them (in a session that is then rolled back) to learn,
before asking for the password, whether the action would be refused anyway (separation of
duties, the record's state, a field) — see :func:`refusal_before_signature`."""


class PrecheckPassed(Exception):  # noqa: N818 - a signal, not an error
    """Every check of a signed action before its signature passed (nothing was signed)."""


def refusal_before_signature(run: Callable[[Credentials], object]) -> LotTrackError | None:
    """Run ``run(PRECHECK)`` (a signed service call inside a write session that rolls back
    when an exception leaves it) and return the refusal a person could be told before
    typing a password, or None when the action only waits for the signature."""
    try:
        run(PRECHECK)
    except PrecheckPassed:
        return None
    except LotTrackError as refusal:
        return refusal
    return None


@dataclass(frozen=True)
class SignatureView:
    """A signature manifestation as shown on screens and documents."""

    id: int
    printed_name: str
    meaning: str
    meaning_text: str
    signed_at: dt.datetime
    valid: bool

    @property
    def status(self) -> str:
        """``valid`` or ``INVALIDATED (record changed after signing)``."""
        return "valid" if self.valid else "INVALIDATED (record changed after signing)"


def sign(
    session: Session,
    who: CurrentUser,
    credentials: Credentials,
    *,
    meaning: str,
    record_type: str,
    record_id: int,
    content: Mapping[str, Any],
) -> Signature:
    """Verify both components and write the signature.

    Call it before the action writes anything else: a refused signature discards the
    session's uncommitted work, counts the failure, commits that, and raises.
    """
    if meaning not in MEANINGS:
        raise ValidationError(f"Meaning: {meaning!r} is not a signature meaning.")
    if credentials is PRECHECK:
        raise PrecheckPassed
    try:
        user = accounts.check_password_for_signature(
            session, who, credentials.username, credentials.password
        )
    except AuthenticationFailed as exc:
        raise SignatureRejected(exc.message) from None
    audit.set_actor(session, user.id, user.username)
    assert user.id is not None
    signature = Signature(
        signer_id=user.id,
        printed_name=user.full_name,
        meaning=meaning,
        signed_at=utcnow(),
        record_type=record_type,
        record_id=record_id,
        content_sha256=audit.sha256_of(content),
    )
    session.add(signature)
    session.flush()
    audit.request_checkpoint(session, "signature")  # the head is signed when this commits
    return signature


def view(signature: Signature, current_content: Mapping[str, Any]) -> SignatureView:
    """How a signature shows now: invalidated when the record's content changed."""
    assert signature.id is not None
    return SignatureView(
        id=signature.id,
        printed_name=signature.printed_name,
        meaning=signature.meaning,
        meaning_text=MEANINGS[signature.meaning],
        signed_at=signature.signed_at,
        valid=signature.content_sha256 == audit.sha256_of(current_content),
    )


def signatures_for(session: Session, record_type: str, record_id: int) -> list[Signature]:
    """Every signature on a record, oldest first."""
    return list(
        session.exec(
            select(Signature)
            .where(Signature.record_type == record_type, Signature.record_id == record_id)
            .order_by(col(Signature.signed_at), col(Signature.id))
        ).all()
    )
