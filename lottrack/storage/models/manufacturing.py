"""The batch record: harvests, lots, passages, counts, reagents, specifications, QC, bags."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from lottrack.storage.models.base import Audited, UTCDateTime, utcnow


class IssuedDin(Audited, SQLModel, table=True):
    """Every DIN ever issued. The unique constraint means a DIN is never reissued."""

    __tablename__ = "issued_din"
    __table_args__ = (UniqueConstraint("fin", "year", "sequence"),)

    id: int | None = Field(default=None, primary_key=True)
    din: str = Field(max_length=13, unique=True, index=True)
    fin: str = Field(max_length=5)
    year: int = Field(description="two-digit year")
    sequence: int
    purpose: str = Field(max_length=32, description="harvest / msc / placebo")
    issued_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    issued_by: int | None = Field(default=None, foreign_key="user.id")


class DinCounter(SQLModel, table=True):
    """Last sequence number handed out per facility and year (not a GMP record itself;
    every DIN it produces is recorded and audited in ``issued_din``)."""

    __tablename__ = "din_counter"

    fin: str = Field(primary_key=True, max_length=5)
    year: int = Field(primary_key=True)
    last_sequence: int = Field(default=0)


class Harvest(Audited, SQLModel, table=True):
    """A bone-marrow aspirate."""

    id: int | None = Field(default=None, primary_key=True)
    subject_id: int = Field(foreign_key="subject.id", index=True)
    din: str = Field(max_length=13, unique=True, index=True)
    collected_at: dt.datetime = Field(sa_type=UTCDateTime)
    volume_ml: float
    volume_text: str = Field(max_length=64)
    anticoagulant: str = Field(max_length=64)
    aspiration_site: str = Field(max_length=64)
    tnc_cells_total: float | None = Field(default=None, description="Total nucleated cells")
    tnc_text: str = Field(default="", max_length=64)
    operator_id: int = Field(foreign_key="user.id")
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    voided_reason: str | None = Field(default=None, max_length=500)


class Specification(Audited, SQLModel, table=True):
    """A versioned release specification; a version a lot uses never changes."""

    id: int | None = Field(default=None, primary_key=True)
    version: int = Field(unique=True)
    name: str = Field(max_length=200)
    max_passage: int = Field(default=4)
    min_replicates: int = Field(default=2)
    max_cv_pct: float = Field(default=10.0)
    fresh_shelf_life_hours: float = Field(default=24.0)
    thaw_max_minutes: float = Field(default=60.0)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    created_by: int | None = Field(default=None, foreign_key="user.id")


class SpecItem(Audited, SQLModel, table=True):
    """One test of a specification."""

    __tablename__ = "spec_item"
    __table_args__ = (UniqueConstraint("spec_id", "code"),)

    id: int | None = Field(default=None, primary_key=True)
    spec_id: int = Field(foreign_key="specification.id", index=True)
    code: str = Field(max_length=64, description="stable key, e.g. viability_fresh")
    test_name: str = Field(max_length=200)
    kind: str = Field(max_length=16, description="numeric / categorical / report-only / endotoxin")
    dimension: str = Field(default="", max_length=32, description="units.Dim name for numeric")
    unit: str = Field(default="", max_length=32, description="canonical unit of min/max")
    min_value: float | None = None
    max_value: float | None = None
    accepted: str = Field(default="", max_length=500, description="'|'-separated values")
    required: bool = Field(default=True, description="required for release")
    position: int = Field(default=0)


class Lot(Audited, SQLModel, table=True):
    """The manufacturing batch grown from one harvest."""

    # The lot list pages newest first, all lots or one status (migration 0002).
    __table_args__ = (
        Index("ix_lot_created_at_id", "created_at", "id"),
        Index("ix_lot_status_created_at_id", "status", "created_at", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    lot_number: str = Field(max_length=32, unique=True, index=True)
    harvest_id: int = Field(foreign_key="harvest.id", unique=True)
    subject_id: int = Field(foreign_key="subject.id", index=True)
    spec_id: int = Field(foreign_key="specification.id")
    status: str = Field(default="in-process", max_length=24, index=True)
    status_before_hold: str | None = Field(default=None, max_length=24)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    created_by: int = Field(foreign_key="user.id")
    formulated_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)


class ReagentLot(Audited, SQLModel, table=True):
    """A lot of a reagent; only released, unexpired lots may be used."""

    __tablename__ = "reagent_lot"
    __table_args__ = (UniqueConstraint("name", "supplier", "lot_number"),)

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200)
    kind: str = Field(
        max_length=32, description="medium / supplement / dissociation / suspension-media / other"
    )
    supplier: str = Field(max_length=200)
    lot_number: str = Field(max_length=64)
    expiry: dt.date
    status: str = Field(
        default="quarantine", max_length=16, description="quarantine/released/rejected"
    )
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    created_by: int | None = Field(default=None, foreign_key="user.id")
    released_by: int | None = Field(default=None, foreign_key="user.id")
    released_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)


class Passage(Audited, SQLModel, table=True):
    """One expansion passage P0…Pn. PD and density are derived, never typed."""

    __table_args__ = (UniqueConstraint("lot_id", "number"),)

    id: int | None = Field(default=None, primary_key=True)
    lot_id: int = Field(foreign_key="lot.id", index=True)
    number: int
    seeded_at: dt.datetime = Field(sa_type=UTCDateTime)
    cells_seeded: float
    cells_seeded_text: str = Field(max_length=64)
    area_cm2: float
    area_text: str = Field(max_length=64)
    vessels: str = Field(max_length=200)
    harvested_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    cells_harvested: float | None = None
    cells_harvested_text: str = Field(default="", max_length=64)
    viability_pct: float | None = None
    recorded_by: int = Field(foreign_key="user.id")
    harvest_recorded_by: int | None = Field(default=None, foreign_key="user.id")
    voided_reason: str | None = Field(default=None, max_length=500)


class PassageReagent(Audited, SQLModel, table=True):
    """A reagent lot used in a passage."""

    __tablename__ = "passage_reagent"

    id: int | None = Field(default=None, primary_key=True)
    passage_id: int = Field(foreign_key="passage.id", index=True)
    reagent_lot_id: int = Field(foreign_key="reagent_lot.id", index=True)


class CellCount(Audited, SQLModel, table=True):
    """A count set (replicates) on a passage harvest, the final product or post-thaw."""

    __tablename__ = "cell_count"

    id: int | None = Field(default=None, primary_key=True)
    lot_id: int = Field(foreign_key="lot.id", index=True)
    target: str = Field(max_length=24, description="passage-harvest/final-product/post-thaw")
    passage_id: int | None = Field(default=None, foreign_key="passage.id")
    unit_id: int | None = Field(default=None, foreign_key="product_unit.id")
    method: str = Field(max_length=16, description="hemocytometer / automated")
    counted_at: dt.datetime = Field(sa_type=UTCDateTime)
    counted_by: int = Field(foreign_key="user.id")
    mean_viable_per_ml: float
    viability_pct: float
    cv_pct: float
    recount_required: bool = Field(default=False)
    voided_reason: str | None = Field(default=None, max_length=500)


class CountReplicate(Audited, SQLModel, table=True):
    """One replicate of a count set."""

    __tablename__ = "count_replicate"

    id: int | None = Field(default=None, primary_key=True)
    count_id: int = Field(foreign_key="cell_count.id", index=True)
    position: int
    live: int | None = None
    dead: int | None = None
    squares: int | None = None
    dilution: float | None = None
    viable_per_ml: float
    viability_pct: float
    entered_text: str = Field(default="", max_length=200)


class QCResult(Audited, SQLModel, table=True):
    """A QC test result; conformity is computed, never typed; a retest never hides it."""

    __tablename__ = "qc_result"
    __table_args__ = (
        # A lot's results by test, voided or not: which required tests each of thousands
        # of lots has a counted result for is read from the index alone (it also serves
        # every lookup by lot).
        Index("ix_qc_result_lot_counted", "lot_id", "spec_item_id", "voided_reason"),
    )

    id: int | None = Field(default=None, primary_key=True)
    lot_id: int = Field(foreign_key="lot.id")
    spec_item_id: int = Field(foreign_key="spec_item.id")
    value_text: str = Field(max_length=200)
    value_num: float | None = None
    value_cat: str | None = Field(default=None, max_length=200)
    unit: str = Field(default="", max_length=32)
    limit_text: str = Field(default="", max_length=200, description="limit applied")
    method: str = Field(default="", max_length=200)
    tested_at: dt.datetime = Field(sa_type=UTCDateTime)
    tester_id: int = Field(foreign_key="user.id")
    conforms: bool | None = Field(default=None, description="None for report-only")
    retest_of_id: int | None = Field(default=None, foreign_key="qc_result.id")
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    voided_reason: str | None = Field(default=None, max_length=500)


class ProductUnit(Audited, SQLModel, table=True):
    """A bag: MSC (from a lot) or placebo (suspension media)."""

    __tablename__ = "product_unit"
    __table_args__ = (UniqueConstraint("din", "product_code", "division"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=8, description="msc / placebo")
    subject_id: int = Field(foreign_key="subject.id", index=True)
    lot_id: int | None = Field(default=None, foreign_key="lot.id", index=True)
    reagent_lot_id: int | None = Field(default=None, foreign_key="reagent_lot.id")
    din: str = Field(max_length=13, index=True)
    product_code: str = Field(max_length=8)
    division: str = Field(default="00", max_length=2)
    kit_code: str = Field(max_length=16, unique=True, index=True)
    volume_ml: float
    volume_text: str = Field(max_length=64)
    concentration_per_ml: float | None = None
    viability_pct: float | None = None
    viable_cells: float | None = None
    formulated_at: dt.datetime = Field(sa_type=UTCDateTime)
    expires_at: dt.datetime = Field(sa_type=UTCDateTime)
    storage: str = Field(max_length=100)
    cryopreserved: bool = Field(default=False)
    thawed_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    status: str = Field(default="available", max_length=16, index=True)
    status_reason: str | None = Field(default=None, max_length=500)
    created_by: int = Field(foreign_key="user.id")


class CustodyEvent(Audited, SQLModel, table=True):
    """A move of a bag (chain of custody)."""

    __tablename__ = "custody_event"

    id: int | None = Field(default=None, primary_key=True)
    unit_id: int = Field(foreign_key="product_unit.id", index=True)
    from_location: str = Field(max_length=100)
    to_location: str = Field(max_length=100)
    at: dt.datetime = Field(sa_type=UTCDateTime)
    temperature_c: float | None = None
    temperature_text: str = Field(default="", max_length=64)
    by_id: int = Field(foreign_key="user.id")


class Disposition(Audited, SQLModel, table=True):
    """A QA decision on a lot, e-signed."""

    id: int | None = Field(default=None, primary_key=True)
    lot_id: int = Field(foreign_key="lot.id", index=True)
    decision: str = Field(
        max_length=24,
        description="released / rejected / quarantined / released-exceptional / quarantine-lifted",
    )
    justification: str = Field(default="", max_length=2000)
    decided_at: dt.datetime = Field(sa_type=UTCDateTime)
    decided_by: int = Field(foreign_key="user.id")
    signature_id: int | None = Field(default=None, foreign_key="signature.id")
    physician_request: str | None = Field(default=None, max_length=2000)
    risk_evaluation: str | None = Field(default=None, max_length=4000)
    physician_acceptance: str | None = Field(default=None, max_length=2000)
    sponsor_notified_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    previous_status: str = Field(default="", max_length=24)
