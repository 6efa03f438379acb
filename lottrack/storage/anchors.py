"""Anchors of the audit trail outside the database (design §6.9).

Whoever can write the database can delete the last records and their events, or edit a
record and its event and recompute every hash after it: the chain alone still verifies.
So the chain head (sequence number and hash) is signed with the facility key

- at every electronic signature (:func:`lottrack.records.signatures.sign` asks for it),
- each time the trail passes a multiple of 1 000 events (:mod:`lottrack.storage.audit`),
- on demand (``lottrack audit checkpoint``),

and each checkpoint is kept in ``audit_checkpoint`` and appended, once its transaction
has committed, to a file outside the database (``$LOTTRACK_CHECKPOINT_DIR``, else the
facility key folder), one JSON line per checkpoint. Every issued document prints the head
at its issue too. :func:`verify` holds the recomputed chain against every checkpoint and
document it finds: a trail that ends before a checkpoint's event was truncated; a stored
hash that differs from a checkpoint's was recomputed.

A terminal without the facility key takes no checkpoint (it could not sign one); it logs
a warning, and ``lottrack init`` creates the key.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import logging
import os
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, event, insert, select
from sqlalchemy.orm import Session

from lottrack.kernel import environment
from lottrack.kernel.private_files import private_dir
from lottrack.storage import audit
from lottrack.storage import facility_key as signing
from lottrack.storage.models import AuditCheckpoint, Setting, utcnow

CHECKPOINT_DIR_ENV = environment.CHECKPOINT_DIR
DATABASE_ID = "database_id"
"""The setting naming this database in its checkpoint file (made at ``init``)."""
PINNED_CERTIFICATE = signing.PINNED_SETTING
_FILE_LINES = "lottrack_checkpoint_lines"
_TABLE = AuditCheckpoint.__table__  # type: ignore[attr-defined]
_STAMP = "%Y-%m-%dT%H:%M:%S.%fZ"
log = logging.getLogger(__name__)


def default_checkpoint_dir() -> Path:
    """``$LOTTRACK_CHECKPOINT_DIR``, else the facility key folder (beside the keys)."""
    return environment.read().checkpoint_dir or signing.default_key_dir()


def checkpoint_file(directory: Path, database_id: str) -> Path:
    """The file of ``directory`` holding the checkpoints of one database."""
    return Path(directory) / f"audit-{database_id}.checkpoints"


@dataclass(frozen=True)
class Checkpoint:
    """A signed chain head, as kept in the database and in the file."""

    database_id: str
    seq: int
    hash: str
    at: str
    trigger: str
    certificate_sha256: str
    signature: str

    def payload(self) -> bytes:
        """The bytes signed: everything but the signature, as canonical JSON."""
        body = asdict(self)
        body.pop("signature")
        return ("lottrack-checkpoint:" + audit.canonical_json(body)).encode()

    def line(self) -> str:
        """The checkpoint as one line of the checkpoint file."""
        return audit.canonical_json(asdict(self))

    def describe(self) -> str:
        """How a report names it: ``checkpoint of event #12 (2026-12-02 11:30 UTC, signature)``."""
        return (
            f"checkpoint of event #{self.seq} ({self.at[:16].replace('T', ' ')} UTC, "
            f"{self.trigger})"
        )


# ------------------------------------------------------------------------- taking


def database_id(session: Session) -> str:
    """This database's id (a setting made at ``init``; made now in a database that has
    none, audited like any setting)."""
    row = session.get(Setting, DATABASE_ID)
    if row is None:
        row = Setting(key=DATABASE_ID, value=uuid.uuid4().hex)
        session.add(row)
        session.flush()
    return row.value


def seed_database_id(session: Session) -> None:
    """The ``init`` seeder: give the database its id."""
    database_id(session)


def _sign(key_path: Path, payload: bytes) -> bytes:
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

    key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return key.sign(payload, ec.ECDSA(hashes.SHA256()))
    if isinstance(key, rsa.RSAPrivateKey):
        return key.sign(payload, padding.PKCS1v15(), hashes.SHA256())
    raise TypeError(f"unsupported facility key type {type(key).__name__}")


def _signature_valid(cert_path: Path, checkpoint: Checkpoint) -> bool:
    from cryptography import x509
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

    public = x509.load_pem_x509_certificate(cert_path.read_bytes()).public_key()
    try:
        signature = base64.b64decode(checkpoint.signature, validate=True)
        if isinstance(public, ec.EllipticCurvePublicKey):
            public.verify(signature, checkpoint.payload(), ec.ECDSA(hashes.SHA256()))
        elif isinstance(public, rsa.RSAPublicKey):
            public.verify(signature, checkpoint.payload(), padding.PKCS1v15(), hashes.SHA256())
        else:
            return False
    except (InvalidSignature, ValueError):
        return False
    return True


def take(
    session: Session,
    trigger: str,
    *,
    key_dir: Path | None = None,
    checkpoint_dir: Path | None = None,
) -> Checkpoint | None:
    """Sign the chain head as it stands in ``session`` (its pending changes flushed),
    insert the checkpoint, and have it appended to the checkpoint file once the session
    commits. None when no facility key exists (logged)."""
    key_path, cert_path = signing.key_paths(key_dir or signing.default_key_dir())
    if not key_path.is_file() or not cert_path.is_file():
        log.warning(
            "No facility key in %s: the audit chain head was not checkpointed "
            "(`lottrack init` creates the key).",
            key_path.parent,
        )
        return None
    db_id = database_id(session)
    session.flush()
    seq, head = audit.chain_head(session.connection())
    unsigned = Checkpoint(
        db_id,
        seq,
        head,
        utcnow().strftime(_STAMP),
        trigger,
        signing.certificate_fingerprint(cert_path),
        "",
    )
    checkpoint = Checkpoint(
        **{
            **asdict(unsigned),
            "signature": base64.b64encode(_sign(key_path, unsigned.payload())).decode(),
        }
    )
    values: dict[str, Any] = asdict(checkpoint)
    values["at"] = dt.datetime.strptime(checkpoint.at, _STAMP).replace(tzinfo=dt.UTC)
    session.connection().execute(insert(_TABLE).values(**values))
    target = checkpoint_file(checkpoint_dir or default_checkpoint_dir(), db_id)
    session.info.setdefault(_FILE_LINES, []).append((target, checkpoint.line()))
    return checkpoint


def checkpoint_now(session: Session, trigger: str) -> Checkpoint:
    """Take a checkpoint in ``session`` (``lottrack audit checkpoint``, ``init``: a session
    of its own; appended to the file when it commits); refused when there is no facility
    key to sign it with."""
    audit.set_actor(session, None, "system:checkpoint")
    taken = take(session, trigger)
    if taken is None:
        raise signing.SigningKeyMissing(
            f"No facility signing key in {signing.default_key_dir()}: `lottrack init` "
            "creates it; no checkpoint was taken."
        )
    return taken


def append_line(path: Path, line: str) -> None:
    """Append one line to a checkpoint file: created 0600 in a 0700 folder, never
    through a symbolic link, flushed to the disk."""
    private_dir(path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    try:
        os.write(fd, (line + "\n").encode())
        os.fsync(fd)
    finally:
        os.close(fd)


def _checkpoint_before_commit(session: Session) -> None:
    session.flush()  # commit flushes after this hook: its events may pass a thousand
    triggers = session.info.pop(audit.CHECKPOINT_REQUEST, None)
    if triggers:
        take(session, ", ".join(triggers))


def _append_after_commit(session: Session) -> None:
    for path, line in session.info.pop(_FILE_LINES, []):
        try:
            append_line(path, line)
        except OSError as exc:  # the commit stands; verify will name the missing copy
            log.error(
                "The audit checkpoint could not be appended to %s (%s); it is kept "
                "in the database only.",
                path,
                exc.strerror or exc,
            )


def _forget_after_rollback(session: Session, previous: Any) -> None:
    if previous.parent is not None:  # a savepoint or a flush: the transaction goes on
        return
    session.info.pop(_FILE_LINES, None)
    session.info.pop(audit.CHECKPOINT_REQUEST, None)


_LISTENERS: tuple[tuple[str, Callable[..., None]], ...] = (
    ("before_commit", _checkpoint_before_commit),
    ("after_commit", _append_after_commit),
    ("after_soft_rollback", _forget_after_rollback),
)


def install() -> None:
    """Take the checkpoints sessions ask for, from now on (idempotent; called with
    :func:`lottrack.storage.audit.install` when a :class:`~lottrack.storage.db.Database` is
    made)."""
    for name, listener in _LISTENERS:
        if not event.contains(Session, name, listener):
            event.listen(Session, name, listener)


# ------------------------------------------------------------------------- verifying


def _setting(conn: Connection, key: str) -> str | None:
    table = Setting.__table__  # type: ignore[attr-defined]
    value = conn.execute(select(table.c.value).where(table.c.key == key)).scalar()
    return None if value is None else str(value)


def _stored_checkpoints(conn: Connection) -> list[Checkpoint]:
    rows = conn.execute(select(_TABLE).order_by(_TABLE.c.id)).mappings()
    out = []
    for row in rows:
        values = {
            k: row[k]
            for k in ("database_id", "seq", "hash", "trigger", "certificate_sha256", "signature")
        }
        values["at"] = audit.canonical_value(_TABLE.c.at, row["at"])
        out.append(Checkpoint(**values))
    return out


def _file_checkpoints(path: Path, report: audit.VerifyReport) -> list[Checkpoint]:
    out = []
    for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        try:
            out.append(Checkpoint(**json.loads(text)))
        except (ValueError, TypeError):
            report.problems.append(f"checkpoint file {path}, line {number}: unreadable (altered)")
    return out


@dataclass(frozen=True)
class Anchor:
    """A head the trail must contain: a checkpoint, or a head printed in a document."""

    seq: int
    hash: str
    name: str


def _checkpoint_anchors(
    conn: Connection, report: audit.VerifyReport, cert_path: Path, checkpoint_dir: Path
) -> list[Anchor]:
    db_id = _setting(conn, DATABASE_ID)
    stored = _stored_checkpoints(conn)
    path = checkpoint_file(checkpoint_dir, db_id) if db_id else None
    in_file: list[Checkpoint] = []
    if path is not None and path.is_file():
        in_file = [c for c in _file_checkpoints(path, report) if c.database_id == db_id]
    elif stored:
        report.problems.append(
            f"checkpoint file {path} not found: the {len(stored)} checkpoint(s) kept in the "
            f"database cannot be held against their copy outside it (set "
            f"${CHECKPOINT_DIR_ENV} to the folder the terminals write to)"
        )
    stored_keys = {c.line() for c in stored}
    for c in in_file:
        if c.line() not in stored_keys:
            report.problems.append(
                f"the {c.describe()} in {path} is missing from the "
                "database (checkpoints were deleted)"
            )
    every = {c.line(): c for c in [*stored, *in_file]}
    if not every:
        report.notes.append(
            "No checkpoint of the audit trail was found: the chain is held "
            "against nothing outside the database."
        )
        return []
    if not cert_path.is_file():
        report.problems.append(
            f"{len(every)} checkpoint(s) cannot be checked: no facility "
            f"certificate in {cert_path.parent}"
        )
        return []
    fingerprint = signing.certificate_fingerprint(cert_path)
    pinned = _setting(conn, PINNED_CERTIFICATE)
    if pinned is not None and pinned != fingerprint:
        report.problems.append(
            f"the certificate in {cert_path.parent} is not the facility "
            "certificate pinned in the database; checkpoints not checked"
        )
        return []
    anchors = []
    for c in sorted(every.values(), key=lambda c: (c.seq, c.at)):
        if c.certificate_sha256 != fingerprint or not _signature_valid(cert_path, c):
            report.problems.append(
                f"the {c.describe()} is not signed by the facility key (forged or altered)"
            )
        else:
            anchors.append(Anchor(c.seq, c.hash, f"the {c.describe()}"))
    source = f"; the file {path}" if in_file else ""
    report.notes.append(f"{len(anchors)} signed checkpoint(s) checked (the database{source}).")
    return anchors


def pinned_certificate(conn: Connection) -> str | None:
    """The fingerprint of the facility certificate pinned in the database, if any."""
    return _setting(conn, PINNED_CERTIFICATE)


def verify(
    conn: Connection,
    *,
    checkpoint_dir: Path | None = None,
    key_dir: Path | None = None,
    max_problems: int = 50,
    more: Callable[[audit.VerifyReport], list[Anchor]] | None = None,
) -> audit.VerifyReport:
    """:func:`lottrack.storage.audit.verify`, then the recomputed chain held against every signed
    checkpoint (database and file) and the anchors ``more`` finds (the chain heads printed
    in issued documents: :mod:`lottrack.views.documents.heads`). A trail ending before an
    anchored event was truncated; a stored hash differing from an anchor's was
    recomputed."""
    cert_path = signing.key_paths(key_dir or signing.default_key_dir())[1]
    scratch = audit.VerifyReport()
    conn.exec_driver_sql("SELECT 1")  # one snapshot for the anchors and the chain (SQLite)
    anchors = _checkpoint_anchors(
        conn, scratch, cert_path, checkpoint_dir or default_checkpoint_dir()
    )
    if more is not None:
        anchors += more(scratch)
    report = audit.verify(conn, max_problems=max_problems, heads={a.seq for a in anchors})
    report.problems += scratch.problems
    report.notes += scratch.notes
    for anchor in sorted(anchors, key=lambda a: a.seq):
        if anchor.seq > report.last_seq:
            report.problems.append(
                f"audit trail truncated: it ends at event #{report.last_seq}, but {anchor.name} "
                f"names event #{anchor.seq} (events and records were deleted)"
            )
        elif anchor.seq and report.heads.get(anchor.seq) != anchor.hash:
            report.problems.append(
                f"audit event #{anchor.seq}: the chain was recomputed: its hash differs from "
                f"{anchor.name}"
            )
    return report
