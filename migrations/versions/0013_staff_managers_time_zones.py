"""staff managers and time zones; whom a step was escalated to

`staff.manager_id` (another staff member, whom their escalations go to) and
`staff.timezone` (an IANA name; empty means the policy's). `follow_ups.escalated_to`
names the staff member a step was escalated to, with a partial index for a manager's
board. Existing rows get NULLs: nobody has a manager until an admin names one.

`follow_ups` carries the queue's triggers (0007): on SQLite its column is added and dropped
with plain ALTER TABLE (no foreign key, so no batch copy that would drop the triggers).

Revision ID: 0013
Revises: 0009
Create Date: 2026-12-08 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0013'
down_revision: str | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OPEN = "status IN ('pending', 'overdue')"


def upgrade() -> None:
    # staff has no triggers: batch mode's table copy on SQLite loses nothing.
    with op.batch_alter_table('staff', schema=None) as batch_op:
        batch_op.add_column(sa.Column('manager_id', sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column('timezone', sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f('ix_staff_manager_id'), ['manager_id'], unique=False)
        batch_op.create_foreign_key(
            batch_op.f('fk_staff_manager_id_staff'), 'staff', ['manager_id'], ['id']
        )
    op.add_column('follow_ups', sa.Column('escalated_to', sa.Uuid(), nullable=True))
    op.create_index(
        op.f('ix_follow_ups_escalated_to'),
        'follow_ups',
        ['escalated_to'],
        unique=False,
        postgresql_where=sa.text(_OPEN),
        sqlite_where=sa.text(_OPEN),
    )


def downgrade() -> None:
    op.drop_index(
        op.f('ix_follow_ups_escalated_to'),
        table_name='follow_ups',
        postgresql_where=sa.text(_OPEN),
        sqlite_where=sa.text(_OPEN),
    )
    op.drop_column('follow_ups', 'escalated_to')
    with op.batch_alter_table('staff', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_staff_manager_id_staff'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_staff_manager_id'))
        batch_op.drop_column('timezone')
        batch_op.drop_column('manager_id')
