"""Where the facility's signing key and certificate are, and which certificate a
database trusts (design §6.9).

The key signs issued documents (:mod:`lottrack.views.documents.signing`) and the audit trail's
checkpoints (:mod:`lottrack.storage.anchors`); ``lottrack init`` creates it and pins its
certificate's SHA-256 fingerprint in the database. cryptography is imported inside the
functions, so that importing the core stays light.
"""

from __future__ import annotations

from pathlib import Path

from lottrack.kernel import environment
from lottrack.kernel.errors import LotTrackError
from lottrack.kernel.locations import default_data_dir

KEY_DIR_ENV = environment.KEY_DIR
KEY_FILE = "facility-signing-key.pem"
CERT_FILE = "facility-signing-cert.pem"
PINNED_SETTING = "facility_certificate_sha256"
"""The setting holding the SHA-256 fingerprint of the facility certificate pinned at
``lottrack init`` (an audited row: changing it behind the program's back shows in
``audit verify``)."""


class SigningKeyMissing(LotTrackError):
    """The key folder holds no facility key (``lottrack init`` creates it)."""

    title = "No signing key"


def default_key_dir() -> Path:
    """``$LOTTRACK_KEY_DIR``, else ``keys`` in the user data directory. Terminals sharing
    a PostgreSQL database must share one key folder, or every issued PDF would carry a
    different facility certificate."""
    return environment.read().key_dir or default_data_dir() / "keys"


def key_paths(directory: Path) -> tuple[Path, Path]:
    """Where the facility key and certificate of ``directory`` are (existing or not)."""
    directory = Path(directory)
    return directory / KEY_FILE, directory / CERT_FILE


def certificate_fingerprint(cert_path: Path) -> str:
    """SHA-256 (hex) of a PEM certificate's DER bytes: what ``init`` pins."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes

    cert = x509.load_pem_x509_certificate(Path(cert_path).read_bytes())
    return cert.fingerprint(hashes.SHA256()).hex()
