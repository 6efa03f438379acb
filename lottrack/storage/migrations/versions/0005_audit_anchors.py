"""signed checkpoints of the audit chain; the trail refuses UPDATE and DELETE for every role

Whoever could write the database could delete the last records and their events, or edit
a record and its event and recompute every hash after it, and ``audit verify`` answered
intact. ``audit_checkpoint`` keeps the chain head signed with the facility key (also
appended to a file outside the database, lottrack.storage.anchors); triggers refuse UPDATE and
DELETE (and TRUNCATE on PostgreSQL) of audit events and checkpoints, whoever connects, so
only the owner, by disabling them, could still try, and the checkpoints show it.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 11:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APPEND_ONLY = ('audit_event', 'audit_checkpoint')
_PG_FUNCTION = """
CREATE OR REPLACE FUNCTION lottrack_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'lottrack: % is append-only; % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$
"""


def upgrade() -> None:
    op.create_table(
        'audit_checkpoint',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('database_id', sa.String(length=64), nullable=False),
        sa.Column('seq', sa.Integer(), nullable=False),
        sa.Column('hash', sa.String(length=64), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('trigger', sa.String(length=32), nullable=False),
        sa.Column('certificate_sha256', sa.String(length=64), nullable=False),
        sa.Column('signature', sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(_PG_FUNCTION)
        for table in APPEND_ONLY:
            op.execute(f'CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON '
                       f'{table} FOR EACH ROW EXECUTE FUNCTION lottrack_append_only()')
            op.execute(f'CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} '
                       'FOR EACH STATEMENT EXECUTE FUNCTION lottrack_append_only()')
        return
    for table in APPEND_ONLY:
        for verb in ('UPDATE', 'DELETE'):
            op.execute(f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
                       f"BEGIN SELECT RAISE(ABORT, 'lottrack: {table} is append-only; "
                       f"{verb} refused'); END")


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        for table in APPEND_ONLY:
            op.execute(f'DROP TRIGGER IF EXISTS {table}_append_only ON {table}')
            op.execute(f'DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}')
        op.execute('DROP FUNCTION IF EXISTS lottrack_append_only()')
    else:
        for table in APPEND_ONLY:
            for verb in ('update', 'delete'):
                op.execute(f'DROP TRIGGER IF EXISTS {table}_no_{verb}')
    op.drop_table('audit_checkpoint')
