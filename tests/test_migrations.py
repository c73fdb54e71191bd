"""Migrations on a database that already holds an agency's data."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from app.db import Database
from app.followups import jobs
from app.migrations import alembic_config, upgrade
from tests.conftest import new_postgres_database, on_postgres
from tests.followups.seed import seed_past_due_steps
from tests.followups.test_queue_table import joined_rows, queue_rows


async def downgrade(database_url: str, revision: str) -> None:
    def run(connection: object) -> None:
        config = alembic_config(database_url)
        config.attributes["connection"] = connection
        command.downgrade(config, revision)

    engine = create_async_engine(database_url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(run)
    finally:
        await engine.dispose()


@pytest.fixture
async def scratch_url(database_url: str, tmp_path: Path) -> AsyncIterator[str]:
    """An empty database of the suite's kind, dropped afterwards."""
    if not on_postgres():
        yield f"sqlite+aiosqlite:///{tmp_path / 'scratch.db'}"
        return
    async with new_postgres_database(database_url, "debrief_scratch") as url:
        yield url


async def test_the_queue_table_is_filled_from_the_overdue_calls_already_there(
    scratch_url: str,
) -> None:
    await upgrade(scratch_url)
    db = Database(scratch_url)
    try:
        now = datetime.now(UTC)
        await seed_past_due_steps(db, count=30, now=now)
        assert (await jobs.sweep(db, lambda: now)).overdue == 30
        expected = await joined_rows(db)
        assert len(expected) == 30
        await db.dispose()
        await downgrade(scratch_url, "0006")
        await upgrade(scratch_url)
        db = Database(scratch_url)
        assert await queue_rows(db) == expected
        # The triggers are back too: a rename reaches the queue.
        async with db.engine.begin() as conn:
            await conn.execute(text("UPDATE candidates SET full_name = 'Renamed'"))
        assert {row[4] for row in await queue_rows(db)} == {"Renamed"}
        assert await queue_rows(db) == await joined_rows(db)
    finally:
        await db.dispose()
