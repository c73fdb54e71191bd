"""the sweep's client chase emails read only the employer chases flagged overdue lately

`ix_follow_ups_employer_chases` holds the overdue employer chases by the time they went
overdue, so the sweep's search for chases awaiting their email (flagged in the last 14 days)
is a range of it instead of every overdue step's index entry. An index only: SQLite creates
it in place, so the queue's triggers stay.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-04 15:05:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0020'
down_revision: str | None = '0019'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_WHERE = "kind = 'employer_follow_up' AND status = 'overdue'"


def upgrade() -> None:
    op.create_index('ix_follow_ups_employer_chases', 'follow_ups', ['overdue_at'], unique=False, postgresql_where=sa.text(_WHERE), sqlite_where=sa.text(_WHERE))


def downgrade() -> None:
    op.drop_index('ix_follow_ups_employer_chases', table_name='follow_ups', postgresql_where=sa.text(_WHERE), sqlite_where=sa.text(_WHERE))
