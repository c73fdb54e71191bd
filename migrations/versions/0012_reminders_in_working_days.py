"""reminders in working days, numbered employer chases, the silent employer's escalation

- `follow_ups.reminder_interval_seconds` becomes `reminder_interval_days` (working days):
  a step opened before keeps ceil(seconds / 1 day) (48 hours: 2 working days).
- `follow_ups.sequence`: employer chases after a missed decision date count on (2, 3 …),
  so the unique key is (interview, kind, sequence); every step so far is 1.
- `ix_follow_ups_next_notice` covers every step with a notice to come: overdue steps, and
  a done last chase whose employer may still need an escalation.
- The stored follow-up policy's `reminder_interval_hours` becomes
  `reminder_interval_working_days` (and back on downgrade, dropping the fields added here).

SQLite: Alembic's batch mode copies `follow_ups` to change its unique key, and a copy has no
triggers; the table's triggers (whatever revision made them) are read before and created
again after.

Revision ID: 0012
Revises: 0009
Create Date: 2026-12-08 10:00:00.000000
"""

import math
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_DAY = 86400
_POLICY_KEY = 'follow_up_policy'
_ADDED_POLICY_FIELDS = (
    'reminder_interval_working_days',
    'candidate_call_working_hours',
    'employer_follow_up_again_working_days',
    'max_employer_follow_ups',
)
_settings = sa.table(
    'settings',
    sa.column('key', sa.String()),
    sa.column('value', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql')),
)


def _triggers() -> list[str]:
    """SQLite: the statements that create `follow_ups`' triggers."""
    if op.get_bind().dialect.name != 'sqlite':
        return []
    rows = op.get_bind().execute(
        sa.text("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'follow_ups'")
    )
    return [row[0] for row in rows]


def _restore(triggers: list[str]) -> None:
    for statement in triggers:
        op.execute(statement)


def _rewrite_policy(change: Any) -> None:
    bind = op.get_bind()
    row = bind.execute(
        sa.select(_settings.c.value).where(_settings.c.key == _POLICY_KEY)
    ).first()
    if row is None:
        return
    value = dict(row[0])
    change(value)
    bind.execute(
        _settings.update().where(_settings.c.key == _POLICY_KEY).values(value=value)
    )


def _to_days(policy: dict[str, Any]) -> None:
    hours = policy.pop('reminder_interval_hours', None)
    if hours is not None:
        policy.setdefault('reminder_interval_working_days', max(1, math.ceil(hours / 24)))


def _to_hours(policy: dict[str, Any]) -> None:
    days = policy.get('reminder_interval_working_days')
    for name in _ADDED_POLICY_FIELDS:
        policy.pop(name, None)
    if days is not None:
        policy['reminder_interval_hours'] = days * 24


def upgrade() -> None:
    triggers = _triggers()
    with op.batch_alter_table('follow_ups', schema=None) as batch_op:
        batch_op.alter_column(
            'reminder_interval_seconds',
            new_column_name='reminder_interval_days',
            existing_type=sa.Integer(),
            existing_nullable=False,
        )
        batch_op.add_column(
            sa.Column('sequence', sa.Integer(), server_default=sa.text('1'), nullable=False)
        )
        batch_op.drop_constraint('uq_follow_ups_interview_id_kind', type_='unique')
        batch_op.create_unique_constraint(
            batch_op.f('uq_follow_ups_interview_id_kind_sequence'),
            ['interview_id', 'kind', 'sequence'],
        )
        batch_op.drop_index(
            'ix_follow_ups_next_notice',
            postgresql_where=sa.text("status = 'overdue'"),
            sqlite_where=sa.text("status = 'overdue'"),
        )
    _restore(triggers)
    op.execute(
        'UPDATE follow_ups SET reminder_interval_days = CASE WHEN reminder_interval_days <= '
        f'{_DAY} THEN 1 ELSE (reminder_interval_days + {_DAY - 1}) / {_DAY} END'
    )
    op.execute("UPDATE follow_ups SET next_notice_at = NULL WHERE status <> 'overdue'")
    op.create_index(
        'ix_follow_ups_next_notice',
        'follow_ups',
        ['next_notice_at'],
        unique=False,
        postgresql_where=sa.text('next_notice_at IS NOT NULL'),
        sqlite_where=sa.text('next_notice_at IS NOT NULL'),
    )
    _rewrite_policy(_to_days)


def downgrade() -> None:
    _rewrite_policy(_to_hours)
    # Chases after the first, and candidate calls, have no place in the older schema.
    op.execute("DELETE FROM follow_ups WHERE sequence > 1 OR kind = 'candidate_call'")
    op.execute("UPDATE follow_ups SET next_notice_at = NULL WHERE status <> 'overdue'")
    op.drop_index(
        'ix_follow_ups_next_notice',
        table_name='follow_ups',
        postgresql_where=sa.text('next_notice_at IS NOT NULL'),
        sqlite_where=sa.text('next_notice_at IS NOT NULL'),
    )
    op.execute(f'UPDATE follow_ups SET reminder_interval_days = reminder_interval_days * {_DAY}')
    triggers = _triggers()
    with op.batch_alter_table('follow_ups', schema=None) as batch_op:
        batch_op.create_index(
            'ix_follow_ups_next_notice',
            ['next_notice_at'],
            unique=False,
            postgresql_where=sa.text("status = 'overdue'"),
            sqlite_where=sa.text("status = 'overdue'"),
        )
        batch_op.drop_constraint(
            batch_op.f('uq_follow_ups_interview_id_kind_sequence'), type_='unique'
        )
        batch_op.create_unique_constraint(
            'uq_follow_ups_interview_id_kind', ['interview_id', 'kind']
        )
        batch_op.drop_column('sequence')
        batch_op.alter_column(
            'reminder_interval_days',
            new_column_name='reminder_interval_seconds',
            existing_type=sa.Integer(),
            existing_nullable=False,
        )
    _restore(triggers)
