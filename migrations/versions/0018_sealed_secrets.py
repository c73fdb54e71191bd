"""sealed secrets: webhook secrets and staff chat URLs encrypted at rest

`webhook_endpoints.secret`, `webhook_endpoints.previous_secret` and `staff.chat_url` are
stored sealed (AES-256-GCM under the install's "sealed" key, app/db/sealed.py), so the
columns become text (a sealed value is longer than the secret). The host of a chat URL, no
secret, is kept beside it in `staff.chat_host` to show where messages go.

The rows already there are sealed here, with the key of the runner (`debrief migrate` hands
over the settings' key; `alembic` alone takes DEBRIEF_SECRET_KEY from the environment, see
migrations/env.py). When there is something to seal and no key, the migration stops and
changes nothing: it never leaves a secret in plain text nor seals one with a guessed key.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-04 11:40:00.000000
"""

from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from alembic import context, op

import app.db.columns
from app.db.sealed import Sealer, is_sealed

revision: str = '0018'
down_revision: str | None = '0017'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_endpoints = sa.table(
    'webhook_endpoints',
    sa.column('id', sa.Uuid()),
    sa.column('secret', sa.Text()),
    sa.column('previous_secret', sa.Text()),
)
_staff = sa.table(
    'staff',
    sa.column('id', sa.Uuid()),
    sa.column('chat_url', sa.Text()),
    sa.column('chat_host', sa.String()),
)


def _sealer(waiting: int, doing: str) -> Sealer:
    sealer: Sealer | None = context.config.attributes.get('sealer')
    if sealer is None:
        raise RuntimeError(
            f'{waiting} stored secrets must be {doing} with the install\'s key and none was '
            'given: run `debrief migrate` with DEBRIEF_SECRET_KEY set to the key the service '
            'runs with. Nothing was changed.'
        )
    return sealer


def _rows(conn: sa.Connection) -> tuple[list[Any], list[Any]]:
    endpoints = conn.execute(
        sa.select(_endpoints.c.id, _endpoints.c.secret, _endpoints.c.previous_secret)
    ).all()
    staff = conn.execute(
        sa.select(_staff.c.id, _staff.c.chat_url).where(_staff.c.chat_url.is_not(None))
    ).all()
    return endpoints, staff


def _rewrite(
    conn: sa.Connection, endpoints: list[Any], staff: list[Any], change: Callable[[str], str]
) -> None:
    """Every stored secret through `change` (seal, or open), and each chat URL's host beside
    it (dropped again on the way down)."""
    for ident, secret, previous in endpoints:
        conn.execute(
            _endpoints.update()
            .where(_endpoints.c.id == ident)
            .values(secret=change(secret), previous_secret=change(previous) if previous else None)
        )
    for ident, url in staff:
        changed = change(url)
        plain = changed if is_sealed(url) else url
        conn.execute(
            _staff.update()
            .where(_staff.c.id == ident)
            .values(chat_url=changed, chat_host=urlsplit(plain).hostname)
        )


def upgrade() -> None:
    conn = op.get_bind()
    endpoints, staff = _rows(conn)
    sealer = _sealer(len(endpoints) + len(staff), 'sealed') if endpoints or staff else None

    with op.batch_alter_table('webhook_endpoints', schema=None) as batch_op:
        batch_op.alter_column('secret', existing_type=sa.String(length=100), type_=app.db.columns.SealedText(), existing_nullable=False)
        batch_op.alter_column('previous_secret', existing_type=sa.String(length=100), type_=app.db.columns.SealedText(), existing_nullable=True)
    with op.batch_alter_table('staff', schema=None) as batch_op:
        batch_op.alter_column('chat_url', existing_type=sa.String(length=2000), type_=app.db.columns.SealedText(), existing_nullable=True)
        batch_op.add_column(sa.Column('chat_host', sa.String(length=255), nullable=True))

    if sealer is not None:
        _rewrite(conn, endpoints, staff, sealer.seal)


def downgrade() -> None:
    conn = op.get_bind()
    endpoints, staff = _rows(conn)
    sealer = _sealer(len(endpoints) + len(staff), 'opened') if endpoints or staff else None
    if sealer is not None:
        # Back to plain text, as the older code reads them; nothing changes when a value
        # cannot be opened (the error says so).
        _rewrite(conn, endpoints, staff, sealer.open)

    with op.batch_alter_table('staff', schema=None) as batch_op:
        batch_op.drop_column('chat_host')
        batch_op.alter_column('chat_url', existing_type=app.db.columns.SealedText(), type_=sa.String(length=2000), existing_nullable=True)
    with op.batch_alter_table('webhook_endpoints', schema=None) as batch_op:
        batch_op.alter_column('previous_secret', existing_type=app.db.columns.SealedText(), type_=sa.String(length=100), existing_nullable=True)
        batch_op.alter_column('secret', existing_type=app.db.columns.SealedText(), type_=sa.String(length=100), existing_nullable=False)
