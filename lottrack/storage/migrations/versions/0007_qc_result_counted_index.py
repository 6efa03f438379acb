"""a lot's QC results by test: one index for the work lists' counting

The technician's home asks, for each of the thousands of lots awaiting a decision,
whether it lacks a counted result of a required test; with an index on ``lot_id`` alone
each result was looked up in the table for its test and whether it was voided.
``ix_qc_result_lot_counted`` (``lot_id``, ``spec_item_id``, ``voided_reason``) answers
from the index (the list's read at N = 1000: 45 → 33 ms, bench/RESULTS.md) and serves
every lookup by lot, so it replaces ``ix_qc_result_lot_id``. No row changes.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04 08:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_qc_result_lot_counted",
        "qc_result",
        ["lot_id", "spec_item_id", "voided_reason"],
        unique=False,
    )
    op.drop_index("ix_qc_result_lot_id", table_name="qc_result")


def downgrade() -> None:
    op.create_index("ix_qc_result_lot_id", "qc_result", ["lot_id"], unique=False)
    op.drop_index("ix_qc_result_lot_counted", table_name="qc_result")
