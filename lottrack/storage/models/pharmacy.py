"""Dispensing, bedside checks and infusions, emergency unblinding."""

from __future__ import annotations

import datetime as dt

from sqlmodel import Field, SQLModel

from lottrack.storage.models.base import Audited, UTCDateTime, utcnow


class Dispensing(Audited, SQLModel, table=True):
    """A bag prepared for a visit. ``unit_id`` is unique: a bag is dispensed at most once."""

    id: int | None = Field(default=None, primary_key=True)
    visit_id: int = Field(foreign_key="visit.id", unique=True)
    unit_id: int = Field(foreign_key="product_unit.id", unique=True)
    weight_id: int = Field(foreign_key="weight_measurement.id")
    weight_kg: float
    dose_cells_per_kg: float | None = None
    status: str = Field(
        default="prepared", max_length=16, description="prepared / verified / infused"
    )
    prepared_by: int = Field(foreign_key="user.id")
    prepared_at: dt.datetime = Field(sa_type=UTCDateTime)
    prepared_signature_id: int | None = Field(default=None, foreign_key="signature.id")
    use_by: dt.datetime | None = Field(
        default=None,
        sa_type=UTCDateTime,
        description="the blinded use-by: prepared at + the administration window (the same "
        "for both arms; what the ward, the label and the certificate show); "
        "None only for dispensings made before schema 0003",
    )
    verified_by: int | None = Field(default=None, foreign_key="user.id")
    verified_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    verified_signature_id: int | None = Field(default=None, foreign_key="signature.id")


class DispensingCheck(Audited, SQLModel, table=True):
    """The outcome of one §8 check."""

    __tablename__ = "dispensing_check"

    id: int | None = Field(default=None, primary_key=True)
    dispensing_id: int = Field(foreign_key="dispensing.id", index=True)
    stage: str = Field(max_length=16, description="prepare / verify")
    number: int
    name: str = Field(max_length=100)
    passed: bool
    detail: str = Field(max_length=1000)
    checked_at: dt.datetime = Field(sa_type=UTCDateTime)
    checked_by: int = Field(foreign_key="user.id")


class Infusion(Audited, SQLModel, table=True):
    """The administration of a dispensed bag; at most one per dispensing."""

    id: int | None = Field(default=None, primary_key=True)
    dispensing_id: int = Field(foreign_key="dispensing.id", unique=True)
    identity_checked_at: dt.datetime = Field(sa_type=UTCDateTime)
    identity_checked_by: int = Field(foreign_key="user.id")
    started_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    ended_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    administered_by: int | None = Field(default=None, foreign_key="user.id")
    reactions: str = Field(default="", max_length=4000)
    reaction_grade: int | None = Field(default=None, description="CTCAE-like grade 1-5")
    signature_id: int | None = Field(default=None, foreign_key="signature.id")


class Unblinding(Audited, SQLModel, table=True):
    """An emergency unblinding of one subject."""

    id: int | None = Field(default=None, primary_key=True)
    subject_id: int = Field(foreign_key="subject.id", index=True)
    reason: str = Field(max_length=2000)
    by_id: int = Field(foreign_key="user.id")
    at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    signature_id: int | None = Field(default=None, foreign_key="signature.id")
