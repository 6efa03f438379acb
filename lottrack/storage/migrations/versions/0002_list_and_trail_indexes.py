"""indexes for the lot list, a record's audit trail and its signatures

The lot list pages newest first (optionally one status) with LIMIT; without an index on
its order both backends sorted every lot for each page. A lot's audit trail and the
release certificate's "changed after first entry" look events up by table and record id,
and signatures by record; with only ``ix_audit_event_entity`` they scanned every event of
a table (measured in bench/RESULTS.md).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 16:30:00
"""

from collections.abc import Sequence

from alembic import op


revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index('ix_lot_created_at_id', 'lot', ['created_at', 'id'], unique=False)
    op.create_index('ix_lot_status_created_at_id', 'lot', ['status', 'created_at', 'id'],
                    unique=False)
    op.create_index('ix_audit_event_entity_entity_id', 'audit_event', ['entity', 'entity_id'],
                    unique=False)
    op.create_index('ix_signature_record_type_record_id', 'signature',
                    ['record_type', 'record_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_signature_record_type_record_id', table_name='signature')
    op.drop_index('ix_audit_event_entity_entity_id', table_name='audit_event')
    op.drop_index('ix_lot_status_created_at_id', table_name='lot')
    op.drop_index('ix_lot_created_at_id', table_name='lot')
