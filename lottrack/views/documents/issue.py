"""Issuing documents and verifying issued files (design §9).

:func:`issue` renders a data object, signs the PDF with the facility key, records a
:class:`~lottrack.storage.models.Certificate` row holding the SHA-256 of the signed file, and
writes the file with :func:`~lottrack.kernel.private_files.write_private` (owner-only, through an
exclusive temporary file in the target folder and a rename: a crash never leaves half a
PDF under the target name, a planted link is never followed). The first issue of a record is
the original (copy 0); every later one is a reprint, marked COPY, that needs a reason and
is audited.

Document ids are deterministic per record and copy (two terminals issuing the same copy
collide), keyed with a random secret of the database: an id cannot be computed from a
record id, so a blinded document's id reveals neither its bag nor the order bags were made.

The file is written after the row is flushed and before the caller commits. Should the
commit fail, a file exists whose hash no row holds, and :func:`verify_file` reports it as
not issued: the failure is on the safe side.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, TypeVar

from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from lottrack.kernel.errors import Conflict, LotTrackError, ValidationError
from lottrack.kernel.inputs import clean_text
from lottrack.kernel.private_files import write_private
from lottrack.records.permissions import Action, CurrentUser, authorize
from lottrack.storage import audit
from lottrack.storage.models import Certificate, Setting, User, utcnow
from lottrack.views.documents import signing
from lottrack.views.documents.data import (
    BagLabelData,
    DocumentData,
    InfusionCertificateData,
    ReleaseCertificateData,
)
from lottrack.views.documents.validation_data import ValidationReportData

D = TypeVar("D", bound=DocumentData)
D_contra = TypeVar("D_contra", bound=DocumentData, contravariant=True)


class Renderer(Protocol[D_contra]):
    """A function of ``certificates`` that draws a data object (``render_release`` …)."""

    def __call__(self, data: D_contra, /, *, copy: bool = False) -> bytes: ...


@dataclass(frozen=True)
class DocumentKind:
    """What a kind of document holds, who may issue it, and its id prefix."""

    data_type: type[DocumentData]
    action: Action
    prefix: str


FILE_FORMATS = ("pdf", "zpl")
"""A PDF (signed) for every kind; ZPL II for labels sent to a thermal printer."""

KINDS: dict[str, DocumentKind] = {
    "release": DocumentKind(ReleaseCertificateData, Action.ISSUE_RELEASE_CERTIFICATE, "REL"),
    "infusion": DocumentKind(InfusionCertificateData, Action.ISSUE_BLINDED_DOCUMENTS, "INF"),
    "label": DocumentKind(BagLabelData, Action.ISSUE_BLINDED_DOCUMENTS, "LBL"),
    "validation": DocumentKind(ValidationReportData, Action.RUN_VALIDATION, "VAL"),
}


@dataclass(frozen=True)
class IssuedDocument:
    """What :func:`issue` wrote and recorded."""

    certificate_id: int
    document_id: str
    kind: str
    copy_number: int
    """0 for the original, 1… for reprints (marked COPY)."""
    file_sha256: str
    content_sha256: str
    path: Path | None
    """Where the file was written (None when it was only sent to a printer)."""
    content: bytes = dataclasses.field(default=b"", repr=False)
    """The bytes issued (the signed PDF, or the ZPL label)."""


@dataclass(frozen=True)
class VerifyResult:
    """Whether a file is a document as issued; ``message`` says which one, or why not."""

    ok: bool
    message: str
    file_sha256: str | None = None
    document_id: str | None = None
    kind: str | None = None
    copy_number: int | None = None
    issued_at: dt.datetime | None = None
    issued_by: str | None = None


PINNED_CERTIFICATE = signing.PINNED_SETTING


def pinned_certificate(session: Session) -> str | None:
    """The fingerprint of the facility certificate this database trusts, if pinned."""
    row = session.get(Setting, PINNED_CERTIFICATE)
    return row.value if row is not None else None


def pin_facility_certificate(session: Session, cert_path: Path) -> str:
    """Pin the certificate of ``cert_path`` as the facility's (``init`` does it; a database
    upgraded from before pinning is pinned at its first issue). Refuses a certificate other
    than the one pinned already: documents signed with it would not verify."""
    fingerprint = signing.certificate_fingerprint(cert_path)
    pinned = pinned_certificate(session)
    if pinned is None:
        session.add(Setting(key=PINNED_CERTIFICATE, value=fingerprint))
        session.flush()
    elif pinned != fingerprint:
        raise LotTrackError(
            f"The signing certificate in {Path(cert_path).parent} (SHA-256 "
            f"{fingerprint[:16]}…) is not the facility certificate pinned in this database "
            f"(SHA-256 {pinned[:16]}…); documents signed with it would not verify. Point "
            f"${signing.KEY_DIR_ENV} at the facility's key folder or restore it from the "
            "backup.",
            title="Signing key not the facility's",
        )
    return fingerprint


SALT_SETTING = "document_id_salt"


def document_salt(session: Session) -> bytes:
    """The database's secret that keys document ids (random, made on first use)."""
    row = session.get(Setting, SALT_SETTING)
    if row is None:
        try:
            with session.begin_nested():
                session.add(Setting(key=SALT_SETTING, value=secrets.token_hex(32)))
        except IntegrityError:  # another terminal made it at the same moment
            pass
        row = session.get(Setting, SALT_SETTING)
    assert row is not None
    return bytes.fromhex(row.value)


def document_id_for(
    kind: str, record_type: str, record_id: int, copy_number: int, *, salt: bytes
) -> str:
    """``REL-3F9A1C2B7D4E-00``: kind prefix, 12 hex digits of an HMAC of the record keyed
    with the database's secret (:func:`document_salt`), copy."""
    digest = hmac.new(
        salt, f"{kind}:{record_type}:{record_id}".encode(), hashlib.sha256
    ).hexdigest()
    return f"{KINDS[kind].prefix}-{digest[:12].upper()}-{copy_number:02d}"


def _kind(kind: str, data: DocumentData) -> DocumentKind:
    spec = KINDS.get(kind)
    if spec is None:
        raise ValidationError(f"Kind: {kind!r} is not one of {', '.join(KINDS)}.", field="kind")
    if not isinstance(data, spec.data_type):
        # A blinded kind must never carry an unblinded data object (or the reverse).
        raise TypeError(
            f"a {kind} document needs {spec.data_type.__name__}, not {type(data).__name__}"
        )
    return spec


def issue(
    session: Session,
    who: CurrentUser,
    *,
    kind: str,
    record_type: str,
    record_id: int,
    data: D,
    render: Renderer[D],
    out_path: Path | Callable[[int], Path] | None,
    key_dir: Path | None,
    reason: str = "",
    file_format: str = "pdf",
) -> IssuedDocument:
    """Render, sign, record and write a document; a second issue of the same record is a
    reprint (copy number + 1, printed COPY) and needs ``reason``.

    ``file_format`` ``zpl`` (a label for a thermal printer) is recorded, audited and
    counted among the copies like a PDF, but not signed (ZPL has no signature); without
    ``out_path`` nothing is written and the caller sends :attr:`IssuedDocument.content`.
    ``out_path`` may be a function of the copy number (a reprint's file beside the
    original's, never over it).

    Refused with :class:`~lottrack.kernel.errors.Conflict` when another terminal issued the same
    copy at the same moment (nothing is written then).
    """
    spec = _kind(kind, data)
    user = authorize(session, who, spec.action)
    assert user.id is not None
    copy_number = next_copy(session, kind, record_type, record_id)
    reason = clean_text(reason, "Reason", max_length=500, required=False)
    if copy_number > 0 and not reason:
        raise ValidationError(
            f"Reason: this {kind} document was issued before; a reprint "
            "(marked COPY) needs a reason.",
            field="reason",
        )
    if file_format not in FILE_FORMATS or (file_format == "zpl" and kind != "label"):
        raise ValidationError(
            f"Format: a {kind} document is a PDF; ZPL is for bag labels "
            f"only (not {file_format!r}).",
            field="format",
        )
    key_path = cert_path = None
    if file_format == "pdf":
        if key_dir is None:
            raise ValueError("a PDF is signed: key_dir is needed")
        key_path, cert_path = signing.existing_key(key_dir)
        pin_facility_certificate(session, cert_path)
    document_id = document_id_for(
        kind, record_type, record_id, copy_number, salt=document_salt(session)
    )
    chain_seq, chain_hash = audit.chain_head(session.connection())
    final = dataclasses.replace(
        data, document_id=document_id, chain_seq=chain_seq, chain_hash=chain_hash
    )
    signed = render(final, copy=copy_number > 0)
    if key_path is not None and cert_path is not None:
        signed = signing.sign_pdf(signed, key_path, cert_path)
    file_sha256 = hashlib.sha256(signed).hexdigest()
    certificate = Certificate(
        kind=kind,
        record_type=record_type,
        record_id=record_id,
        document_id=document_id,
        file_sha256=file_sha256,
        copy_number=copy_number,
        issued_at=utcnow(),
        issued_by=user.id,
    )
    try:
        with session.begin_nested():
            session.add(certificate)
    except IntegrityError:
        raise Conflict(
            f"{document_id} was issued on another terminal at the same moment; "
            "nothing was written. Issue it again for a reprint."
        ) from None
    assert certificate.id is not None
    audit.log_event(
        session,
        "reprint" if copy_number else "issue",
        "certificate",
        certificate.id,
        reason=reason,
        changes={
            "document_id": document_id,
            "copy_number": copy_number,
            "content_sha256": final.content_sha256,
            **({"format": file_format} if file_format != "pdf" else {}),
        },
    )
    path = Path(out_path(copy_number)) if callable(out_path) else out_path
    if path is not None:
        write_private(Path(path), signed)
    return IssuedDocument(
        certificate.id,
        document_id,
        kind,
        copy_number,
        file_sha256,
        final.content_sha256,
        Path(path) if path else None,
        signed,
    )


def next_copy(session: Session, kind: str, record_type: str, record_id: int) -> int:
    """The copy number the next issue of a record's document gets: 0 (the original) when
    none was issued, else one more than the last (a reprint)."""
    last = session.exec(
        select(func.max(Certificate.copy_number)).where(
            Certificate.kind == kind,
            Certificate.record_type == record_type,
            Certificate.record_id == record_id,
        )
    ).one()
    return 0 if last is None else int(last) + 1


def verify_file(session: Session, path: Path) -> VerifyResult:
    """Whether ``path`` is a document this facility issued: its PAdES signature verifies
    and was made by the facility certificate pinned at ``init``, and its SHA-256 matches
    an issued certificate; and which document and copy it is."""
    path = Path(path)
    try:
        content = path.read_bytes()
    except OSError as exc:
        return VerifyResult(False, f"{path}: cannot be read ({exc.strerror or exc}).")
    digest = hashlib.sha256(content).hexdigest()
    pdf = content.startswith(b"%PDF")  # else a ZPL label: unsigned, held to its hash only
    pinned = pinned_certificate(session)
    if pdf and pinned is None:
        return VerifyResult(
            False,
            f"{path} cannot be checked: no facility certificate is "
            "pinned in this database (`lottrack init` pins it).",
            file_sha256=digest,
        )
    problem = signing.facility_signature_problem(content, pinned) if pdf and pinned else ""
    if problem:
        return VerifyResult(
            False,
            f"{path} is NOT a document as issued: not issued by this facility ({problem}).",
            file_sha256=digest,
        )
    certificate = session.exec(
        select(Certificate).where(Certificate.file_sha256 == digest).order_by(col(Certificate.id))
    ).first()
    if certificate is None:
        return VerifyResult(
            False,
            f"{path} is NOT a document as issued: its SHA-256 "
            f"{digest[:16]}… matches no issued document (never issued "
            "by lottrack, or changed since).",
            file_sha256=digest,
        )
    issuer = session.get(User, certificate.issued_by)
    name = issuer.full_name if issuer is not None else f"user #{certificate.issued_by}"
    which = (
        "the original"
        if certificate.copy_number == 0
        else f"reprint copy {certificate.copy_number}"
    )
    when = certificate.issued_at.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return VerifyResult(
        True,
        f"{path} is {certificate.kind} document {certificate.document_id} "
        f"({which}), issued {when} by {name}; "
        f"{'signed by the facility certificate and ' if pdf else ''}unchanged since "
        "issue.",
        file_sha256=digest,
        document_id=certificate.document_id,
        kind=certificate.kind,
        copy_number=certificate.copy_number,
        issued_at=certificate.issued_at,
        issued_by=name,
    )
