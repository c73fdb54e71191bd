"""stamps of the read models whose pages the processes keep

`read_model_stamps` holds a random stamp per read model (`debrief_queue` for now), written by
every transaction that changes the model's table, last before its COMMIT (app/db/stamps.py). A
process answers a kept page of `GET /v1/debriefs/overdue` again while the stamp is unchanged.
The queue gets its first stamp here; a model with no stamp row has its pages read afresh.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-05 00:45:00.000000
"""

from collections.abc import Sequence

import secrets

import sqlalchemy as sa
from alembic import op

revision: str = '0023'
down_revision: str | None = '0022'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'read_model_stamps',
        sa.Column('name', sa.String(length=64), nullable=False),
        sa.Column('stamp', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('name', name=op.f('pk_read_model_stamps')),
    )
    op.execute(
        sa.text("INSERT INTO read_model_stamps (name, stamp) VALUES ('debrief_queue', :stamp)")
        .bindparams(stamp=secrets.randbits(62))
    )


def downgrade() -> None:
    op.drop_table('read_model_stamps')
