"""employer links: a client contact answers for an interview through a personal link

`employer_links` holds each link (only a keyed hash of its token), whom it was made for,
and the answer it brought; clients gain a default contact and the `auto_chase` opt-in;
employer feedback says whether the employer lets the agency relay it verbatim. Only columns
are added to `clients` (SQLite adds them in place), so the queue's triggers stay.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-04 11:19:20.868739
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db.columns
from sqlalchemy import Text  # noqa: F401 - autogenerate writes JSONB(astext_type=Text())

revision: str = '0019'
down_revision: str | None = '0018'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('employer_links',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('interview_id', sa.Uuid(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('contact_name', sa.String(length=200), nullable=True),
    sa.Column('contact_email', sa.String(length=320), nullable=True),
    sa.Column('created_at', app.db.columns.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=80), nullable=False),
    sa.Column('expires_at', app.db.columns.UTCDateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', app.db.columns.UTCDateTime(timezone=True), nullable=True),
    sa.Column('deferred_at', app.db.columns.UTCDateTime(timezone=True), nullable=True),
    sa.Column('answered_at', app.db.columns.UTCDateTime(timezone=True), nullable=True),
    sa.Column('answer', sa.String(length=16), nullable=True),
    sa.Column('feedback_id', sa.Uuid(), nullable=True),
    sa.ForeignKeyConstraint(['feedback_id'], ['employer_feedback.id'], name=op.f('fk_employer_links_feedback_id_employer_feedback')),
    sa.ForeignKeyConstraint(['interview_id'], ['interviews.id'], name=op.f('fk_employer_links_interview_id_interviews')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_employer_links')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_employer_links_token_hash'))
    )
    with op.batch_alter_table('employer_links', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_employer_links_interview_id'), ['interview_id'], unique=False)

    # Plain ALTER TABLE ... ADD COLUMN (batch mode would copy `clients` and drop the queue's
    # triggers on SQLite).
    op.add_column('clients', sa.Column('contact_name', sa.String(length=200), nullable=True))
    op.add_column('clients', sa.Column('contact_email', sa.String(length=320), nullable=True))
    op.add_column('clients', sa.Column('auto_chase', sa.Boolean(), server_default=sa.false(), nullable=False))
    op.add_column('employer_feedback', sa.Column('relay_allowed', sa.Boolean(), nullable=True))



def downgrade() -> None:
    # Plain ALTER TABLE ... DROP COLUMN (SQLite 3.35+), for the same reason as above.
    op.drop_column('employer_feedback', 'relay_allowed')
    op.drop_column('clients', 'auto_chase')
    op.drop_column('clients', 'contact_email')
    op.drop_column('clients', 'contact_name')

    with op.batch_alter_table('employer_links', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_employer_links_interview_id'))

    op.drop_table('employer_links')
