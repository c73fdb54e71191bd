"""the queue's rows hold when the next reminder goes

`debrief_queue` gains its follow-up's `max_reminders` and `next_notice_at`, written with the
rest of the row (`app/debrief_queue`), so a page of `GET /v1/debriefs/overdue` reads one table
again instead of looking up each row's follow-up by its primary key. Every row is written
again from the live join.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-04 15:45:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db.columns

revision: str = '0022'
down_revision: str | None = '0021'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_FILL = """
UPDATE debrief_queue
   SET max_reminders = (SELECT f.max_reminders FROM follow_ups AS f
                         WHERE f.id = debrief_queue.follow_up_id),
       next_notice_at = (SELECT f.next_notice_at FROM follow_ups AS f
                          WHERE f.id = debrief_queue.follow_up_id)
"""


def upgrade() -> None:
    op.add_column('debrief_queue', sa.Column('max_reminders', sa.Integer(), nullable=True))
    op.add_column('debrief_queue', sa.Column('next_notice_at', app.db.columns.UTCDateTime(timezone=True), nullable=True))
    op.execute(_FILL)
    # SQLite cannot change a column's nullability in place: batch mode copies the table (a
    # derived table with no triggers since 0017), PostgreSQL alters it.
    with op.batch_alter_table('debrief_queue') as batch_op:
        batch_op.alter_column('max_reminders', existing_type=sa.Integer(), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table('debrief_queue') as batch_op:
        batch_op.drop_column('next_notice_at')
        batch_op.drop_column('max_reminders')
