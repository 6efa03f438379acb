"""accounts remember their previous password hashes

A new password may not be any of the last five (design §6.9): ``user.password_history``
holds the hashes of the previous ones, newest first (empty for every existing account).
Every user row gets a ``migrate`` audit event with its new hash (a row's hash covers
every column).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 11:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from lottrack.storage import audit
from lottrack.storage.models.accounts import User

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('user', sa.Column('password_history', sa.String(length=2000),
                                    nullable=False, server_default=''))
    audit.record_schema_change(op.get_bind(), User.__table__, ['password_history'],
                               "schema 0004: accounts remember previous password hashes")


def downgrade() -> None:
    op.execute('ALTER TABLE "user" DROP COLUMN password_history')
