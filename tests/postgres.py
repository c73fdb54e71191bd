"""Watching PostgreSQL from a test: wait until another process is running a statement."""

from __future__ import annotations

import asyncio
import time

from sqlalchemy import TextClause, text

from app.db.engine import Database

_RUNNING = text(
    "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND pid <> pg_backend_pid()"
    " AND datname = current_database() AND query LIKE :pattern"
)

_WAITING = text(
    "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND pid <> pg_backend_pid()"
    " AND datname = current_database() AND query LIKE :pattern AND wait_event_type = 'Lock'"
)


_WAITING_FOR_A_ROW = text(
    "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND pid <> pg_backend_pid()"
    " AND datname = current_database() AND query LIKE :pattern AND wait_event_type = 'Lock'"
    " AND wait_event IN ('transactionid', 'tuple')"
)


async def wait_until_running(db: Database, pattern: str) -> None:
    """Until a statement matching `pattern` (SQL LIKE) runs in another session (a minute
    at the most)."""
    await _wait_for(db, _RUNNING, pattern, f"no statement like {pattern!r} started")


async def wait_until_waiting_for_a_lock(db: Database, pattern: str) -> None:
    """Until a statement matching `pattern` waits for a lock in another session."""
    await _wait_for(db, _WAITING, pattern, f"no statement like {pattern!r} waited for a lock")


async def _wait_for(db: Database, query: TextClause, pattern: str, failure: str) -> None:
    deadline = time.monotonic() + 60
    async with db.read_engine.connect() as conn:
        while time.monotonic() < deadline:
            if (await conn.execute(query, {"pattern": pattern})).scalar_one():
                return
            await asyncio.sleep(0.002)
    raise AssertionError(failure)


async def wait_until_waiting_for_a_row(db: Database, pattern: str) -> None:
    """Until a statement matching `pattern` waits for a row another transaction holds."""
    await _wait_for(
        db, _WAITING_FOR_A_ROW, pattern, f"no statement like {pattern!r} waited for a row"
    )
