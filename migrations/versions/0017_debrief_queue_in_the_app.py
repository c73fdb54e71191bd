"""the recruiters' queue written by the application, not by triggers

`debrief_queue` stays; its rows are now written in the same transaction by the code that
changes what they show (`app/debrief_queue`). This drops migration 0007's triggers, its
PL/pgSQL functions and the stale-marks table, and writes every row again from the live join
(a row marked stale when this runs is then right). The downgrade puts 0007's triggers,
functions and table back, by running 0007's own statements, and writes the rows again.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-02 10:00:00.000000
"""

import importlib.util
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

import sqlalchemy as sa
from alembic import op

revision: str = '0017'
down_revision: str | None = '0016'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _revision_0007() -> ModuleType:
    path = Path(__file__).with_name('0007_debrief_queue.py')
    spec = importlib.util.spec_from_file_location('debrief_migration_0007', path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _rewrite_rows(queue: ModuleType) -> None:
    op.execute('DELETE FROM debrief_queue')
    op.execute(f"INSERT INTO debrief_queue ({queue._COLUMNS}) {queue._rows('follow_ups')}")


def upgrade() -> None:
    queue = _revision_0007()
    postgresql = op.get_bind().dialect.name == 'postgresql'
    for trigger, table in queue._TRIGGERS:
        op.execute(f'DROP TRIGGER IF EXISTS {trigger}' + (f' ON {table}' if postgresql else ''))
    if postgresql:
        for function in ('debrief_queue_follow_ups', 'debrief_queue_candidates', 'debrief_queue_interviews', 'debrief_queue_clients'):
            op.execute(f'DROP FUNCTION IF EXISTS {function}()')
    # IF EXISTS: on SQLite (no transactional DDL) a later revision failing in the same run
    # leaves this one done but unrecorded, and the next run repeats it.
    op.execute('DROP TABLE IF EXISTS debrief_queue_stale')
    _rewrite_rows(queue)


def downgrade() -> None:
    queue = _revision_0007()
    op.create_table('debrief_queue_stale',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('follow_up_id', sa.Uuid(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_debrief_queue_stale'))
    )
    statements = queue._POSTGRESQL if op.get_bind().dialect.name == 'postgresql' else queue._SQLITE
    for statement in statements:
        op.execute(statement)
    _rewrite_rows(queue)
