"""indexes for the reports

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22 05:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('debriefs', schema=None) as batch_op:
        batch_op.create_index('ix_debriefs_interview_times', ['interview_id', 'received_at', 'thank_you_sent_at'], unique=False)

    with op.batch_alter_table('follow_ups', schema=None) as batch_op:
        batch_op.create_index('ix_follow_ups_debrief_call', ['interview_id', 'due_at', 'status', 'overdue_at', 'escalated_at'], unique=False, postgresql_where=sa.text("kind = 'debrief_call'"), sqlite_where=sa.text("kind = 'debrief_call'"))


def downgrade() -> None:
    with op.batch_alter_table('follow_ups', schema=None) as batch_op:
        batch_op.drop_index('ix_follow_ups_debrief_call', postgresql_where=sa.text("kind = 'debrief_call'"), sqlite_where=sa.text("kind = 'debrief_call'"))

    with op.batch_alter_table('debriefs', schema=None) as batch_op:
        batch_op.drop_index('ix_debriefs_interview_times')
