"""true times: when the debrief call took place, and the thank-you note's ideal time

`debriefs.called_at` is when the candidate's call took place (the debrief call's completion);
debriefs already stored take their `received_at`. The reports' index on the debriefs reads it
instead of `received_at`. `follow_ups.ideal_by` is the thank-you note's ideal time; steps
already open have none.

`follow_ups` gets its column by a plain ALTER TABLE, never batch mode, so on SQLite the
queue's triggers on it (migration 0007) stay.

Revision ID: 0014
Revises: 0009
Create Date: 2026-12-08 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db.columns

revision: str = '0014'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('debriefs', sa.Column('called_at', app.db.columns.UTCDateTime(timezone=True), nullable=True))
    op.execute("UPDATE debriefs SET called_at = received_at")
    with op.batch_alter_table('debriefs', schema=None) as batch_op:
        batch_op.alter_column('called_at', existing_type=app.db.columns.UTCDateTime(timezone=True), nullable=False)
        batch_op.drop_index('ix_debriefs_interview_times')
        batch_op.create_index('ix_debriefs_interview_times', ['interview_id', 'called_at', 'thank_you_sent_at'], unique=False)

    op.add_column('follow_ups', sa.Column('ideal_by', app.db.columns.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_column('follow_ups', 'ideal_by')

    with op.batch_alter_table('debriefs', schema=None) as batch_op:
        batch_op.drop_index('ix_debriefs_interview_times')
        batch_op.create_index('ix_debriefs_interview_times', ['interview_id', 'received_at', 'thank_you_sent_at'], unique=False)
        batch_op.drop_column('called_at')
