"""quality records: OOS investigations, deviations, specification approvals

New tables only (design §6.6–§6.8): an out-of-specification result opens an
``investigation``; retests recorded against it are listed in ``investigation_retest`` with
their reasons; ``deviation`` records a planned or unplanned departure on a lot and
``deviation_link`` the entries and exceptional releases that name one; ``spec_approval``
is QA's signed approval that puts a proposed specification version in force. Versions
imported before this revision were in force at once and stay so: the setting
``spec_approved_through`` records the newest of them (an audited insert), and
``specifications.current_spec`` counts every version up to it as approved. No existing
row changes.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 11:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from lottrack.storage import audit
from lottrack.storage.models import Setting, utcnow

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _stamp(name: str, nullable: bool = False) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        'investigation',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('lot_id', sa.Integer(), sa.ForeignKey('lot.id'), nullable=False),
        sa.Column('result_id', sa.Integer(), sa.ForeignKey('qc_result.id'), nullable=False),
        sa.Column('spec_item_id', sa.Integer(), sa.ForeignKey('spec_item.id'), nullable=False),
        sa.Column('result_text', sa.String(length=400), nullable=False),
        _stamp('opened_at'),
        sa.Column('opened_by', sa.Integer(), sa.ForeignKey('user.id'), nullable=False),
        sa.Column('conclusion', sa.String(length=24), nullable=True),
        sa.Column('conclusion_text', sa.String(length=2000), nullable=False),
        _stamp('closed_at', nullable=True),
        sa.Column('closed_by', sa.Integer(), sa.ForeignKey('user.id'), nullable=True),
        sa.Column('signature_id', sa.Integer(), sa.ForeignKey('signature.id'), nullable=True),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('result_id'),
    )
    op.create_index('ix_investigation_lot_id', 'investigation', ['lot_id'])
    op.create_table(
        'investigation_retest',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('investigation_id', sa.Integer(), sa.ForeignKey('investigation.id'),
                  nullable=False),
        sa.Column('result_id', sa.Integer(), sa.ForeignKey('qc_result.id'), nullable=False),
        sa.Column('reason', sa.String(length=500), nullable=False),
        _stamp('recorded_at'),
        sa.Column('recorded_by', sa.Integer(), sa.ForeignKey('user.id'), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('result_id'),
    )
    op.create_index('ix_investigation_retest_investigation_id', 'investigation_retest',
                    ['investigation_id'])
    op.create_table(
        'deviation',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('lot_id', sa.Integer(), sa.ForeignKey('lot.id'), nullable=False),
        sa.Column('planned', sa.Boolean(), nullable=False),
        sa.Column('description', sa.String(length=2000), nullable=False),
        sa.Column('impact', sa.String(length=2000), nullable=False),
        sa.Column('corrective_action', sa.String(length=2000), nullable=False),
        _stamp('opened_at'),
        sa.Column('opened_by', sa.Integer(), sa.ForeignKey('user.id'), nullable=False),
        sa.Column('closure', sa.String(length=2000), nullable=False),
        _stamp('closed_at', nullable=True),
        sa.Column('closed_by', sa.Integer(), sa.ForeignKey('user.id'), nullable=True),
        sa.Column('signature_id', sa.Integer(), sa.ForeignKey('signature.id'), nullable=True),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_deviation_lot_id', 'deviation', ['lot_id'])
    op.create_table(
        'deviation_link',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('deviation_id', sa.Integer(), sa.ForeignKey('deviation.id'), nullable=False),
        sa.Column('record_type', sa.String(length=64), nullable=False),
        sa.Column('record_id', sa.Integer(), nullable=False),
        sa.Column('note', sa.String(length=500), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_deviation_link_deviation_id', 'deviation_link', ['deviation_id'])
    op.create_index('ix_deviation_link_record', 'deviation_link', ['record_type', 'record_id'])
    op.create_table(
        'spec_approval',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('spec_id', sa.Integer(), sa.ForeignKey('specification.id'), nullable=False),
        _stamp('approved_at'),
        sa.Column('approved_by', sa.Integer(), sa.ForeignKey('user.id'), nullable=False),
        sa.Column('signature_id', sa.Integer(), sa.ForeignKey('signature.id'), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('spec_id'),
    )


    _approve_existing_versions(op.get_bind())


def _approve_existing_versions(conn: sa.engine.Connection) -> None:
    """Versions in force before approvals existed stay approved (an audited setting)."""
    top = conn.execute(sa.text("SELECT max(version) FROM specification")).scalar()
    if not top:
        return  # a new database: init seeds version 1 after the migrations
    table = Setting.__table__  # type: ignore[attr-defined]
    values = {"key": "spec_approved_through", "value": str(int(top))}
    conn.execute(table.insert().values(**values))
    audit.append_events(conn, [{
        "at": utcnow(), "user_id": None, "username": "lottrack (schema upgrade)",
        "action": "insert", "entity": table.name, "entity_id": values["key"],
        "changes": audit.canonical_json({k: [None, v] for k, v in values.items()}),
        "reason": "schema 0006: specification versions need QA approval from now on; "
                  "those already in force stay in force",
        "row_hash": audit.row_hash(table, values),
    }])


def downgrade() -> None:
    for table in ('spec_approval', 'deviation_link', 'deviation', 'investigation_retest',
                  'investigation'):
        op.drop_table(table)
    op.execute("DELETE FROM setting WHERE key = 'spec_approved_through'")
