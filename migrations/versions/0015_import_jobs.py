"""import jobs

A CSV import (`POST /v1/imports`, `debrief import`) is a job: its kind, status, progress and
the rows refused (row, column and message, never a value). `active` is true while a job is
queued or running and NULL afterwards; its unique constraint lets one import run at a time.

Revision ID: 0015
Revises: 0009
Create Date: 2026-12-04 03:23:24.784032
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db.columns
from sqlalchemy import Text  # noqa: F401 - autogenerate writes JSONB(astext_type=Text())
from sqlalchemy.dialects import postgresql

revision: str = '0015'
down_revision: str | None = '0014'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('import_jobs',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=True),
    sa.Column('rows_total', sa.Integer(), nullable=False),
    sa.Column('rows_processed', sa.Integer(), nullable=False),
    sa.Column('rows_created', sa.Integer(), nullable=False),
    sa.Column('rows_updated', sa.Integer(), nullable=False),
    sa.Column('rows_unchanged', sa.Integer(), nullable=False),
    sa.Column('errors', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.Column('error_count', sa.Integer(), nullable=False),
    sa.Column('detail', sa.String(length=500), nullable=True),
    sa.Column('created_by', sa.String(length=80), nullable=False),
    sa.Column('created_at', app.db.columns.UTCDateTime(timezone=True), nullable=False),
    sa.Column('started_at', app.db.columns.UTCDateTime(timezone=True), nullable=True),
    sa.Column('heartbeat_at', app.db.columns.UTCDateTime(timezone=True), nullable=False),
    sa.Column('finished_at', app.db.columns.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_import_jobs')),
    sa.UniqueConstraint('active', name=op.f('uq_import_jobs_active'))
    )


def downgrade() -> None:
    op.drop_table('import_jobs')
