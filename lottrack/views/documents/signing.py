"""The facility's document-signing key, PAdES signing and signature validation.

``lottrack init`` creates a self-signed facility certificate (ECDSA P-256, valid 30
years: the retention period of design §6.5) in a key folder. Every issued PDF is signed with it
by pyHanko (PAdES baseline B, SHA-256); validation uses pyHanko's own validator with the
facility certificate as the only trust root.

Unsigned PDFs are reproducible (same data, same bytes). A signed PDF is not: the
signature carries its own signing time, so the SHA-256 recorded for an issued file is
taken over the signed bytes.

pyHanko and cryptography are imported inside the functions, so that importing the core
stays light.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from lottrack.kernel.errors import LotTrackError
from lottrack.kernel.private_files import private_dir, write_private
from lottrack.storage.facility_key import CERT_FILE as CERT_FILE
from lottrack.storage.facility_key import KEY_DIR_ENV as KEY_DIR_ENV
from lottrack.storage.facility_key import KEY_FILE as KEY_FILE
from lottrack.storage.facility_key import PINNED_SETTING as PINNED_SETTING
from lottrack.storage.facility_key import SigningKeyMissing as SigningKeyMissing
from lottrack.storage.facility_key import certificate_fingerprint as certificate_fingerprint
from lottrack.storage.facility_key import default_key_dir as default_key_dir
from lottrack.storage.facility_key import key_paths as key_paths
from lottrack.views.documents.data import CHAIN_HEAD_KEYWORD

VALIDITY = dt.timedelta(days=30 * 366)
SIGNATURE_FIELD = "FacilitySignature"


def existing_key(directory: Path) -> tuple[Path, Path]:
    """The facility key and certificate, refusing when either is missing.

    Issuing never creates a key on its own: a new key in a mistyped folder would sign
    documents that the facility's certificate does not validate.
    """
    key_path, cert_path = key_paths(directory)
    if not key_path.is_file() or not cert_path.is_file():
        raise SigningKeyMissing(
            f"No facility signing key in {Path(directory)}: `lottrack init` creates it "
            f"({KEY_FILE} and {CERT_FILE})."
        )
    return key_path, cert_path


def ensure_facility_key(
    directory: Path, *, facility_name: str = "lottrack facility"
) -> tuple[Path, Path]:
    """Create a self-signed facility key and certificate in ``directory`` unless both are
    there; returns their paths. Both files are readable by their owner only, in a folder
    that is the owner's only."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key_path, cert_path = key_paths(directory)
    if key_path.is_file() and cert_path.is_file():
        return key_path, cert_path
    if key_path.exists() or cert_path.exists():
        raise LotTrackError(
            f"{directory} holds only half of a facility key ({KEY_FILE}, {CERT_FILE}); "
            "restore the missing file from the backup rather than creating a new key.",
            title="Signing key incomplete",
        )
    private_dir(Path(directory), tighten=True)
    # ECDSA rather than RSA: an RSA 3072 key takes ~0.2 s to load (cryptography checks it on
    # every load, and pyHanko loads it several times per signature); P-256 takes ~1 ms.
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, f"{facility_name} document signing"[:64]),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, facility_name[:64]),
        ]
    )
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + VALIDITY)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    write_private(
        key_path,
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
        overwrite=False,
    )
    write_private(cert_path, cert.public_bytes(serialization.Encoding.PEM), overwrite=False)
    return key_path, cert_path


def sign_pdf(pdf_bytes: bytes, key_path: Path, cert_path: Path) -> bytes:
    """The PDF with a PAdES signature of the facility appended (incremental update).

    pyHanko runs an event loop of its own: call this from a thread without a running
    loop (a Textual worker thread, the CLI), never from the UI's event loop.
    """
    from pyhanko.pdf_utils.incremental_writer import (
        IncrementalPdfFileWriter,
    )
    from pyhanko.sign import fields, signers

    signer = signers.SimpleSigner.load(  # type: ignore[no-untyped-call]
        str(key_path), str(cert_path)
    )
    if signer is None:
        raise LotTrackError(
            f"The facility signing key in {Path(key_path).parent} cannot be read.",
            title="Signing key unreadable",
        )
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf_bytes), strict=False)
    meta = signers.PdfSignatureMetadata(
        field_name=SIGNATURE_FIELD,
        md_algorithm="sha256",
        subfilter=fields.SigSeedSubFilter.PADES,
        reason="Issued by lottrack",
    )
    out: io.BytesIO = signers.sign_pdf(writer, meta, signer=signer)
    return out.getvalue()


T = TypeVar("T")


def _outside_event_loop(call: Callable[[], T]) -> T:
    """``call()``, in a thread of its own when this thread runs an event loop: pyHanko
    runs a loop of its own, which a running one refuses (a test, a Textual handler)."""
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return call()
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(call).result()


def facility_signature_problem(pdf_bytes: bytes, pinned_sha256: str) -> str:
    """Why the PDF is not signed by the facility certificate whose SHA-256 fingerprint is
    ``pinned_sha256``, or "" when its one PAdES signature verifies cryptographically, was
    made by that certificate and covers the whole file.

    The signer's certificate is taken from the signature, held against the pin, and only
    then used as the validator's one trust root: a signature by any other key, however
    well formed, is refused. Runs pyHanko's event loop: call it from a thread without a
    running loop (a worker thread, the CLI, a test).
    """
    import hashlib

    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko.sign.validation.status import SignatureCoverageLevel
    from pyhanko_certvalidator import ValidationContext

    # pyHanko logs every refused signature with a traceback; the answer here is the
    # reason, so keep those records off stderr when the application configured no logging.
    pyhanko_log = logging.getLogger("pyhanko")
    if not pyhanko_log.handlers:
        pyhanko_log.addHandler(logging.NullHandler())
    try:
        reader = PdfFileReader(io.BytesIO(pdf_bytes), strict=False)
        embedded = reader.embedded_signatures
    except Exception:  # noqa: BLE001 - any unreadable file is simply not a valid one
        return "it is not a readable signed PDF"
    if len(embedded) != 1:
        return f"it carries {len(embedded)} signatures, not the facility's one"
    signature = embedded[0]
    signer = signature.signer_cert
    if signer is None or hashlib.sha256(signer.dump()).hexdigest() != pinned_sha256.lower():
        subject = signer.subject.human_friendly if signer is not None else "nobody"
        return (
            f"it is signed by another certificate ({subject}), not the facility "
            "certificate pinned at `lottrack init`"
        )
    try:
        status = _outside_event_loop(
            lambda: validate_pdf_signature(signature, ValidationContext(trust_roots=[signer]))
        )
    except Exception:  # noqa: BLE001 - a malformed signature is simply not a valid one
        return "its signature cannot be validated"
    if not status.bottom_line:
        return "its signature does not verify (the file was changed after signing)"
    if status.coverage != SignatureCoverageLevel.ENTIRE_FILE:
        return "its signature does not cover the whole file (content was added after signing)"
    return ""


def printed_chain_head(pdf_bytes: bytes) -> tuple[int, str] | None:
    """The audit chain head (sequence number, hash) an issued PDF printed at its issue,
    as its metadata keywords carry it; None for a document without one."""
    import re

    from pyhanko.pdf_utils.reader import PdfFileReader

    try:
        info = PdfFileReader(io.BytesIO(pdf_bytes), strict=False).trailer["/Info"]
        keywords = str(info.get("/Keywords", ""))
    except Exception:  # noqa: BLE001 - an unreadable file carries no head
        return None
    found = re.search(rf"{CHAIN_HEAD_KEYWORD}:(\d+):([0-9a-f]{{64}})", keywords)
    return (int(found.group(1)), found.group(2)) if found else None


def validate_signature(pdf_bytes: bytes, cert_path: Path) -> bool:
    """True when the PDF's facility signature is intact, made by the key of
    ``cert_path`` (the only trust root) and covers the whole file."""
    return not facility_signature_problem(pdf_bytes, certificate_fingerprint(cert_path))
