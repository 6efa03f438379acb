"""Quality records on a lot (design §6.6–§6.8): OOS investigations, deviations, and the
approval that puts a specification version in force."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from lottrack.storage.models.base import Audited, UTCDateTime, utcnow


class Investigation(Audited, SQLModel, table=True):
    """An out-of-specification investigation, opened by the OOS result it is about."""

    id: int | None = Field(default=None, primary_key=True)
    lot_id: int = Field(foreign_key="lot.id", index=True)
    result_id: int = Field(
        foreign_key="qc_result.id",
        unique=True,
        description="the original out-of-specification result",
    )
    spec_item_id: int = Field(foreign_key="spec_item.id")
    result_text: str = Field(max_length=400, description="the result and its limit at opening")
    opened_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    opened_by: int = Field(foreign_key="user.id", description="who recorded the result")
    conclusion: str | None = Field(
        default=None, max_length=24, description="None while open; lab-error / no-lab-error"
    )
    conclusion_text: str = Field(default="", max_length=2000)
    closed_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    closed_by: int | None = Field(default=None, foreign_key="user.id")
    signature_id: int | None = Field(default=None, foreign_key="signature.id")


class InvestigationRetest(Audited, SQLModel, table=True):
    """A retest recorded against an open investigation, with its reason."""

    __tablename__ = "investigation_retest"

    id: int | None = Field(default=None, primary_key=True)
    investigation_id: int = Field(foreign_key="investigation.id", index=True)
    result_id: int = Field(foreign_key="qc_result.id", unique=True)
    reason: str = Field(max_length=500)
    recorded_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    recorded_by: int = Field(foreign_key="user.id")


class Deviation(Audited, SQLModel, table=True):
    """A planned or unplanned departure from the process, on one lot."""

    id: int | None = Field(default=None, primary_key=True)
    lot_id: int = Field(foreign_key="lot.id", index=True)
    planned: bool = Field(default=False)
    description: str = Field(max_length=2000, description="what happened")
    impact: str = Field(max_length=2000, description="impact on the product")
    corrective_action: str = Field(max_length=2000)
    opened_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    opened_by: int = Field(foreign_key="user.id")
    closure: str = Field(default="", max_length=2000, description="QA's closing assessment")
    closed_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    closed_by: int | None = Field(default=None, foreign_key="user.id")
    signature_id: int | None = Field(default=None, foreign_key="signature.id")


class DeviationLink(Audited, SQLModel, table=True):
    """A record that names a deviation: an entry beyond a plausibility rule that the
    deviation explains, or an exceptional release that accepts it."""

    __tablename__ = "deviation_link"
    __table_args__ = (Index("ix_deviation_link_record", "record_type", "record_id"),)

    id: int | None = Field(default=None, primary_key=True)
    deviation_id: int = Field(foreign_key="deviation.id", index=True)
    record_type: str = Field(max_length=64, description="passage / product_unit / disposition")
    record_id: int
    note: str = Field(default="", max_length=500)


class SpecApproval(Audited, SQLModel, table=True):
    """QA's signed approval that puts a proposed specification version in force."""

    __tablename__ = "spec_approval"

    id: int | None = Field(default=None, primary_key=True)
    spec_id: int = Field(foreign_key="specification.id", unique=True)
    approved_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    approved_by: int = Field(foreign_key="user.id")
    signature_id: int = Field(foreign_key="signature.id")
