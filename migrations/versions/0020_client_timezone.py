"""client time zone: a client's contact is chased in their own working hours

`clients.timezone` (an IANA zone, null: the policy's) places the chase emails of clients that
opted in within the policy's business hours in the contact's own zone. A plain column add.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-04 14:55:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("clients", sa.Column("timezone", sa.String(length=64), nullable=True))


def downgrade() -> None:
    op.drop_column("clients", "timezone")
