"""Trial subjects, their allocation, visits and weights."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from lottrack.storage.models.base import Audited, UTCDateTime, utcnow


class Subject(Audited, SQLModel, table=True):
    """A trial subject; the date of birth is the second identifier."""

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=32, unique=True, index=True, description="e.g. TLS-003")
    initials: str = Field(max_length=8)
    date_of_birth: dt.date
    site_id: int = Field(foreign_key="site.id")
    coi_id: str = Field(max_length=32, unique=True, description="Chain-of-identity id")
    unblinded_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    created_by: int | None = Field(default=None, foreign_key="user.id")


class Allocation(Audited, SQLModel, table=True):
    """Subject → treatment sequence. Readable only by unblinded roles."""

    id: int | None = Field(default=None, primary_key=True)
    subject_id: int = Field(foreign_key="subject.id", unique=True)
    sequence: str = Field(max_length=16, description="MSC-first or placebo-first")
    source: str = Field(max_length=200, description="import file name or randomisation seed")
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    created_by: int | None = Field(default=None, foreign_key="user.id")


class Visit(Audited, SQLModel, table=True):
    """Period 1 (week 0) or period 2 (week 24). The arm is never stored here."""

    __table_args__ = (UniqueConstraint("subject_id", "period"),)

    id: int | None = Field(default=None, primary_key=True)
    subject_id: int = Field(foreign_key="subject.id", index=True)
    period: int = Field(description="1 or 2")
    planned_date: dt.date
    status: str = Field(default="planned", max_length=16, description="planned/dispensed/infused")
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class WeightMeasurement(Audited, SQLModel, table=True):
    """A body weight, canonical kg plus what was typed."""

    __tablename__ = "weight_measurement"

    id: int | None = Field(default=None, primary_key=True)
    subject_id: int = Field(foreign_key="subject.id", index=True)
    measured_at: dt.datetime = Field(sa_type=UTCDateTime)
    weight_kg: float
    weight_text: str = Field(max_length=64)
    recorded_by: int = Field(foreign_key="user.id")
    voided_reason: str | None = Field(default=None, max_length=500)
