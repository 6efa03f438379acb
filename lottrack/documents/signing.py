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
import os
from pathlib import Path

from lottrack.errors import LotTrackError
from lottrack.private_files import private_dir, write_private

KEY_DIR_ENV = "LOTTRACK_KEY_DIR"
KEY_FILE = "facility-signing-key.pem"
CERT_FILE = "facility-signing-cert.pem"
VALIDITY = dt.timedelta(days=30 * 366)
SIGNATURE_FIELD = "FacilitySignature"


class SigningKeyMissing(LotTrackError):
    """The key folder holds no facility key (``lottrack init`` creates it)."""

    title = "No signing key"


def default_key_dir() -> Path:
    """``$LOTTRACK_KEY_DIR``, else ``keys`` in the user data directory. Terminals sharing
    a PostgreSQL database must share one key folder, or every issued PDF would carry a
    different facility certificate."""
    from lottrack.db import default_data_dir

    env = os.environ.get(KEY_DIR_ENV)
    return Path(env) if env else default_data_dir() / "keys"


def key_paths(directory: Path) -> tuple[Path, Path]:
    """Where the facility key and certificate of ``directory`` are (existing or not)."""
    directory = Path(directory)
    return directory / KEY_FILE, directory / CERT_FILE


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


def ensure_facility_key(directory: Path, *, facility_name: str = "lottrack facility"
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
    name = x509.Name([
        x509.NameAttribute(NameOID.COMMON_NAME, f"{facility_name} document signing"[:64]),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, facility_name[:64]),
    ])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + VALIDITY)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(
            digital_signature=True, content_commitment=True, key_encipherment=False,
            data_encipherment=False, key_agreement=False, key_cert_sign=False, crl_sign=False,
            encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                       critical=False)
        .sign(key, hashes.SHA256())
    )
    write_private(key_path, key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()), overwrite=False)
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
        str(key_path), str(cert_path))
    if signer is None:
        raise LotTrackError(f"The facility signing key in {Path(key_path).parent} cannot be "
                            "read.", title="Signing key unreadable")
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf_bytes), strict=False)
    meta = signers.PdfSignatureMetadata(
        field_name=SIGNATURE_FIELD, md_algorithm="sha256",
        subfilter=fields.SigSeedSubFilter.PADES, reason="Issued by lottrack",
    )
    out: io.BytesIO = signers.sign_pdf(writer, meta, signer=signer)
    return out.getvalue()


def validate_signature(pdf_bytes: bytes, cert_path: Path) -> bool:
    """True when the PDF's facility signature is intact, made by the key of
    ``cert_path`` (the only trust root) and covers the whole file.

    Uses pyHanko's validator, which runs an event loop of its own: call it from a
    thread without a running loop (a worker thread, the CLI, a test).
    """
    from pyhanko.keys import load_cert_from_pemder
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko.sign.validation.status import (
        SignatureCoverageLevel,
    )
    from pyhanko_certvalidator import ValidationContext

    # pyHanko logs every refused signature with a traceback; the answer here is the
    # boolean, so keep those records off stderr when the application configured no logging.
    pyhanko_log = logging.getLogger("pyhanko")
    if not pyhanko_log.handlers:
        pyhanko_log.addHandler(logging.NullHandler())
    try:
        reader = PdfFileReader(io.BytesIO(pdf_bytes), strict=False)
        embedded = reader.embedded_signatures
    except Exception:  # noqa: BLE001 - any unreadable file is simply not a valid one
        return False
    if len(embedded) != 1:
        return False
    root = load_cert_from_pemder(str(cert_path))  # type: ignore[no-untyped-call]
    context = ValidationContext(trust_roots=[root])
    status = validate_pdf_signature(embedded[0], context)
    return bool(status.bottom_line
                and status.coverage == SignatureCoverageLevel.ENTIRE_FILE)
