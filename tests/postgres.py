"""Watching PostgreSQL from a test: wait until another process is running a statement."""

from __future__ import annotations

import asyncio
import time

from sqlalchemy import text

from app.db import Database

_RUNNING = text(
    "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND pid <> pg_backend_pid()"
    " AND datname = current_database() AND query LIKE :pattern"
)


async def wait_until_running(db: Database, pattern: str) -> None:
    """Until a statement matching `pattern` (SQL LIKE) runs in another session (a minute
    at the most)."""
    deadline = time.monotonic() + 60
    async with db.read_engine.connect() as conn:
        while time.monotonic() < deadline:
            if (await conn.execute(_RUNNING, {"pattern": pattern})).scalar_one():
                return
            await asyncio.sleep(0.002)
    raise AssertionError(f"no statement like {pattern!r} started")
