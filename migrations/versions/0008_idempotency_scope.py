"""idempotency answers scoped to the API key id, with the candidates they are about

Stored answers now belong to the sending key's id (not a hash of whatever Authorization
header came), keep no answer that carried a secret (`body` NULL), and name the candidates
they concern in `idempotency_subjects`, so erasure deletes them and the export shows them.

Rows stored before this revision: those whose scope matches a key get that key's id and
lose their body (it may hold a secret or personal data, and nothing says whom it is about):
a retry of such a request within its 24 hours is told its answer cannot be replayed, instead
of the change running twice. Rows matching no key are deleted.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # idempotency_keys has no triggers: batch mode's table copy on SQLite loses nothing.
    with op.batch_alter_table('idempotency_keys', schema=None) as batch_op:
        batch_op.add_column(sa.Column('key_id', sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column('path', sa.String(length=2000), nullable=True))
        batch_op.alter_column('body', existing_type=sa.Text(), nullable=True)
    op.execute(
        'UPDATE idempotency_keys SET body = NULL, key_id = '
        '(SELECT api_keys.id FROM api_keys WHERE api_keys.key_hash = idempotency_keys.scope)'
    )
    op.execute('DELETE FROM idempotency_keys WHERE key_id IS NULL')
    with op.batch_alter_table('idempotency_keys', schema=None) as batch_op:
        batch_op.drop_constraint('uq_idempotency_keys_scope_key', type_='unique')
        batch_op.drop_column('scope')
        batch_op.alter_column('key_id', existing_type=sa.Uuid(), nullable=False)
        batch_op.create_unique_constraint(
            batch_op.f('uq_idempotency_keys_key_id_key'), ['key_id', 'key']
        )
        batch_op.create_foreign_key(
            batch_op.f('fk_idempotency_keys_key_id_api_keys'),
            'api_keys',
            ['key_id'],
            ['id'],
            ondelete='CASCADE',
        )
    op.create_table('idempotency_subjects',
    sa.Column('answer_id', sa.Uuid(), nullable=False),
    sa.Column('candidate_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['answer_id'], ['idempotency_keys.id'], name=op.f('fk_idempotency_subjects_answer_id_idempotency_keys'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('answer_id', 'candidate_id', name=op.f('pk_idempotency_subjects'))
    )
    with op.batch_alter_table('idempotency_subjects', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_idempotency_subjects_candidate_id'), ['candidate_id'], unique=False)


def downgrade() -> None:
    # Answers stored since cannot be given back their sender's secret hash: forget them all
    # (they are a 24-hour cache of replies).
    with op.batch_alter_table('idempotency_subjects', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_idempotency_subjects_candidate_id'))
    op.drop_table('idempotency_subjects')
    op.execute('DELETE FROM idempotency_keys')
    with op.batch_alter_table('idempotency_keys', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_idempotency_keys_key_id_api_keys'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('uq_idempotency_keys_key_id_key'), type_='unique')
        batch_op.drop_column('key_id')
        batch_op.drop_column('path')
        batch_op.add_column(sa.Column('scope', sa.String(length=64), nullable=False))
        batch_op.alter_column('body', existing_type=sa.Text(), nullable=False)
        batch_op.create_unique_constraint(
            batch_op.f('uq_idempotency_keys_scope_key'), ['scope', 'key']
        )
