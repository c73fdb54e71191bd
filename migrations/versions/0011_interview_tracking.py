"""interviews: whether their follow-up steps are tracked

An interview recorded long after it ended (history), or sent with `track_follow_ups: false`,
opens no steps; the sweep reads this column. Existing interviews stay tracked.

Added without a batch copy: on SQLite that would drop the queue's triggers on `interviews`
(migration 0007).

Revision ID: 0011
Revises: 0009
Create Date: 2026-12-10 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0011'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        'interviews',
        sa.Column('follow_ups_tracked', sa.Boolean(), server_default=sa.true(), nullable=False),
    )


def downgrade() -> None:
    op.drop_column('interviews', 'follow_ups_tracked')
