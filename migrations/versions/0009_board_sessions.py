"""board sessions kept on the server

A board cookie holds a random id; this table holds its keyed hash, the API key it signed
in with and when it expires. Signing out deletes the row; the sweep deletes expired ones.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db.columns

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('board_sessions',
    sa.Column('id_hash', sa.String(length=64), nullable=False),
    sa.Column('api_key_id', sa.Uuid(), nullable=False),
    sa.Column('created_at', app.db.columns.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', app.db.columns.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['api_key_id'], ['api_keys.id'], name=op.f('fk_board_sessions_api_key_id_api_keys'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id_hash', name=op.f('pk_board_sessions'))
    )
    with op.batch_alter_table('board_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_board_sessions_api_key_id'), ['api_key_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_board_sessions_expires_at'), ['expires_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('board_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_board_sessions_expires_at'))
        batch_op.drop_index(batch_op.f('ix_board_sessions_api_key_id'))

    op.drop_table('board_sessions')
