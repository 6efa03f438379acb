"""Part 11 records: the audit trail, electronic signatures, issued documents."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Index, Text
from sqlmodel import Field, SQLModel

from lottrack.storage.models.base import Audited, UTCDateTime, utcnow


class AuditEvent(SQLModel, table=True):
    """One link of the append-only, hash-chained audit trail (design §6.1)."""

    __tablename__ = "audit_event"
    # A record's trail: its events by table and id (migration 0002).
    __table_args__ = (Index("ix_audit_event_entity_entity_id", "entity", "entity_id"),)

    id: int | None = Field(default=None, primary_key=True)
    seq: int = Field(unique=True, description="1, 2, 3… without gaps")
    at: dt.datetime = Field(sa_type=UTCDateTime)
    user_id: int | None = Field(default=None)
    username: str = Field(max_length=64)
    action: str = Field(max_length=32, description="insert / update / login-failed / …")
    entity: str = Field(max_length=64, index=True, description="table name")
    entity_id: str = Field(default="", max_length=64)
    changes: str = Field(default="{}", sa_type=Text, description="JSON {field: [old, new]}")
    reason: str = Field(default="", sa_type=Text)
    row_hash: str | None = Field(default=None, max_length=64, description="SHA-256 of the row")
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)


class Signature(Audited, SQLModel, table=True):
    """An electronic signature (design §6.2) bound to the signed content's SHA-256."""

    # The signatures of a record (migration 0002).
    __table_args__ = (Index("ix_signature_record_type_record_id", "record_type", "record_id"),)

    id: int | None = Field(default=None, primary_key=True)
    signer_id: int = Field(foreign_key="user.id")
    printed_name: str = Field(max_length=200)
    meaning: str = Field(max_length=24)
    signed_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    record_type: str = Field(max_length=64)
    record_id: int
    content_sha256: str = Field(max_length=64)


class Certificate(Audited, SQLModel, table=True):
    """An issued document and the SHA-256 of the file as issued."""

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=16, description="release / infusion / label")
    record_type: str = Field(max_length=64)
    record_id: int
    document_id: str = Field(max_length=64, unique=True)
    file_sha256: str = Field(max_length=64, index=True)
    copy_number: int = Field(default=0, description="0 = original, 1… = reprints (COPY)")
    issued_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    issued_by: int = Field(foreign_key="user.id")


class AuditCheckpoint(SQLModel, table=True):
    """The chain head (sequence number and hash) signed with the facility key (design
    §6.9): taken at every electronic signature, at least every 1 000 events and on demand,
    kept here and appended to a file outside the database. Insert-only, like the trail."""

    __tablename__ = "audit_checkpoint"

    id: int | None = Field(default=None, primary_key=True)
    database_id: str = Field(max_length=64, description="the database_id setting")
    seq: int = Field(description="the last event's sequence number (0: empty trail)")
    hash: str = Field(max_length=64, description="the last event's hash")
    at: dt.datetime = Field(sa_type=UTCDateTime)
    trigger: str = Field(max_length=32, description="signature / 1000 events / on demand …")
    certificate_sha256: str = Field(max_length=64, description="the signing certificate")
    signature: str = Field(sa_type=Text, description="base64 ECDSA-SHA256 signature")
