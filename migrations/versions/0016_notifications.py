"""notifications: the outbox of messages to candidates and staff

`notifications` holds each message as rendered (one per recipient and channel) with its
status and a stable Message-ID; `notification_attempts` each try and the server's answer;
`notification_subjects` the candidates a message names (for erasure and export);
`notification_suppressions` keyed hashes of addresses never mailed again; `staff_digest_days`
the last day each staff member's morning digest was considered. Staff choose a channel.

Revision ID: 0016
Revises: 0014
Create Date: 2026-12-04 03:23:14.931214
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db.columns
from sqlalchemy import Text  # noqa: F401 - autogenerate writes JSONB(astext_type=Text())

revision: str = '0016'
down_revision: str | None = '0015'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('notification_suppressions',
    sa.Column('address_hash', sa.String(length=64), nullable=False),
    sa.Column('reason', sa.String(length=16), nullable=False),
    sa.Column('created_at', app.db.columns.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('address_hash', name=op.f('pk_notification_suppressions'))
    )
    op.create_table('staff_digest_days',
    sa.Column('staff_id', sa.Uuid(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], name=op.f('fk_staff_digest_days_staff_id_staff'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('staff_id', name=op.f('pk_staff_digest_days'))
    )
    op.create_table('notifications',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('channel', sa.String(length=8), nullable=False),
    sa.Column('recipient', sa.String(length=320), nullable=False),
    sa.Column('recipient_name', sa.String(length=200), nullable=True),
    sa.Column('candidate_id', sa.Uuid(), nullable=True),
    sa.Column('staff_id', sa.Uuid(), nullable=True),
    sa.Column('interview_id', sa.Uuid(), nullable=True),
    sa.Column('subject', sa.String(length=500), nullable=False),
    sa.Column('body_text', sa.Text(), nullable=False),
    sa.Column('body_html', sa.Text(), nullable=True),
    sa.Column('message_id', sa.String(length=255), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('status_reason', sa.String(length=500), nullable=True),
    sa.Column('send_after', app.db.columns.UTCDateTime(timezone=True), nullable=False),
    sa.Column('next_attempt_at', app.db.columns.UTCDateTime(timezone=True), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('sent_at', app.db.columns.UTCDateTime(timezone=True), nullable=True),
    sa.Column('dedupe_key', sa.String(length=200), nullable=True),
    sa.Column('resent_from', sa.Uuid(), nullable=True),
    sa.Column('created_at', app.db.columns.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', app.db.columns.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['candidate_id'], ['candidates.id'], name=op.f('fk_notifications_candidate_id_candidates')),
    sa.ForeignKeyConstraint(['interview_id'], ['interviews.id'], name=op.f('fk_notifications_interview_id_interviews')),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], name=op.f('fk_notifications_staff_id_staff')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notifications')),
    sa.UniqueConstraint('dedupe_key', name=op.f('uq_notifications_dedupe_key')),
    sa.UniqueConstraint('message_id', name=op.f('uq_notifications_message_id'))
    )
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notifications_candidate_id'), ['candidate_id'], unique=False)
        batch_op.create_index('ix_notifications_due', ['next_attempt_at'], unique=False, postgresql_where=sa.text("status = 'pending'"), sqlite_where=sa.text("status = 'pending'"))
        batch_op.create_index('ix_notifications_interview_kind', ['interview_id', 'kind'], unique=False)
        batch_op.create_index(batch_op.f('ix_notifications_staff_id'), ['staff_id'], unique=False)

    op.create_table('notification_attempts',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('notification_id', sa.Uuid(), nullable=False),
    sa.Column('attempted_at', app.db.columns.UTCDateTime(timezone=True), nullable=False),
    sa.Column('finished_at', app.db.columns.UTCDateTime(timezone=True), nullable=True),
    sa.Column('outcome', sa.String(length=16), nullable=True),
    sa.Column('code', sa.Integer(), nullable=True),
    sa.Column('answer', sa.String(length=1000), nullable=True),
    sa.Column('duration_ms', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['notification_id'], ['notifications.id'], name=op.f('fk_notification_attempts_notification_id_notifications'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notification_attempts'))
    )
    with op.batch_alter_table('notification_attempts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notification_attempts_attempted_at'), ['attempted_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_notification_attempts_notification_id'), ['notification_id'], unique=False)

    op.create_table('notification_subjects',
    sa.Column('notification_id', sa.Uuid(), nullable=False),
    sa.Column('candidate_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['notification_id'], ['notifications.id'], name=op.f('fk_notification_subjects_notification_id_notifications'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('notification_id', 'candidate_id', name=op.f('pk_notification_subjects'))
    )
    with op.batch_alter_table('notification_subjects', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notification_subjects_candidate_id'), ['candidate_id'], unique=False)

    with op.batch_alter_table('staff', schema=None) as batch_op:
        batch_op.add_column(sa.Column('notify_via', sa.String(length=8), server_default='email', nullable=False))
        batch_op.add_column(sa.Column('chat_url', sa.String(length=2000), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('staff', schema=None) as batch_op:
        batch_op.drop_column('chat_url')
        batch_op.drop_column('notify_via')

    with op.batch_alter_table('notification_subjects', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notification_subjects_candidate_id'))

    op.drop_table('notification_subjects')
    with op.batch_alter_table('notification_attempts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notification_attempts_notification_id'))
        batch_op.drop_index(batch_op.f('ix_notification_attempts_attempted_at'))

    op.drop_table('notification_attempts')
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notifications_staff_id'))
        batch_op.drop_index('ix_notifications_interview_kind')
        batch_op.drop_index('ix_notifications_due', postgresql_where=sa.text("status = 'pending'"), sqlite_where=sa.text("status = 'pending'"))
        batch_op.drop_index(batch_op.f('ix_notifications_candidate_id'))

    op.drop_table('notifications')
    op.drop_table('staff_digest_days')
    op.drop_table('notification_suppressions')
