"""the blinded use-by of a dispensed bag

A bag's own expiry differs by arm (a placebo bag is made at dispensing; an MSC bag was
formulated earlier, or cryopreserved years before), so blinded staff could tell the arms
apart from it. A dispensing now carries ``use_by`` = prepared at + the site's
administration window, the same for both arms, and that is what the ward, the label and
the infusion certificate show; the dispensing checks make sure the bag stays usable until
then. Dispensings made before this revision keep ``use_by`` empty. Every dispensing row
gets a ``migrate`` audit event with its new hash (a row's hash covers every column).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 19:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from lottrack.storage import audit
from lottrack.storage.models.pharmacy import Dispensing

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('dispensing', sa.Column('use_by', sa.DateTime(timezone=True), nullable=True))
    audit.record_schema_change(op.get_bind(), Dispensing.__table__, ['use_by'],
                               "schema 0003: dispensings carry a blinded use-by")


def downgrade() -> None:
    # ALTER TABLE … DROP COLUMN on both (SQLite ≥ 3.35); a batch copy would have to drop
    # the table, which the foreign keys of infusion and dispensing_check refuse.
    op.execute('ALTER TABLE dispensing DROP COLUMN use_by')
