"""the sweep's searches read what may be due, not the history

- `ix_follow_ups_employer_chases` holds the overdue employer chases by the time they went
  overdue: the search for chases awaiting their client email (flagged in the last 14 days)
  is a range of it, not every overdue follow-up's entry.
- `ix_follow_ups_late_calls` holds the overdue debrief calls by the time they went overdue:
  the search for late calls awaiting their nudge (flagged in the last 14 days) is a range of
  it, not every overdue call that ever had a link email.
- `ix_candidates_retention` holds the candidates not yet erased by their last change: the
  retention policy's search for the inactive is a range of it, not a scan of every candidate.

Indexes only: SQLite creates them in place, without copying the tables.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-04 15:05:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0021'
down_revision: str | None = '0020'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_CHASES = "kind = 'employer_follow_up' AND status = 'overdue'"
_NOT_ERASED = "erased_at IS NULL"
_LATE_CALLS = "kind = 'debrief_call' AND status = 'overdue'"


def upgrade() -> None:
    op.create_index('ix_follow_ups_employer_chases', 'follow_ups', ['overdue_at'], unique=False, postgresql_where=sa.text(_CHASES), sqlite_where=sa.text(_CHASES))
    op.create_index('ix_follow_ups_late_calls', 'follow_ups', ['overdue_at'], unique=False, postgresql_where=sa.text(_LATE_CALLS), sqlite_where=sa.text(_LATE_CALLS))
    op.create_index('ix_candidates_retention', 'candidates', ['updated_at'], unique=False, postgresql_where=sa.text(_NOT_ERASED), sqlite_where=sa.text(_NOT_ERASED))


def downgrade() -> None:
    op.drop_index('ix_candidates_retention', table_name='candidates', postgresql_where=sa.text(_NOT_ERASED), sqlite_where=sa.text(_NOT_ERASED))
    op.drop_index('ix_follow_ups_late_calls', table_name='follow_ups', postgresql_where=sa.text(_LATE_CALLS), sqlite_where=sa.text(_LATE_CALLS))
    op.drop_index('ix_follow_ups_employer_chases', table_name='follow_ups', postgresql_where=sa.text(_CHASES), sqlite_where=sa.text(_CHASES))
