"""The import jobs' rows. Every change after the job is created is a conditional UPDATE on
its status, so a job the sweep has failed is never brought back to life."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import RowMapping, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.engine import Database
from app.db.queries import AnySelect, read_one, where_equal
from app.models import ImportJob

_OPEN = ("queued", "running")


def select_jobs(*, status: str | None, kind: str | None) -> AnySelect:
    stmt = select(ImportJob.__table__)
    return where_equal(stmt, (ImportJob.status, status), (ImportJob.kind, kind))


async def read_job(db: Database, job_id: uuid.UUID) -> RowMapping | None:
    return await read_one(db, select(ImportJob.__table__).where(ImportJob.id == job_id))


async def active_job(session: AsyncSession) -> uuid.UUID | None:
    """The import queued or running now, if any."""
    found: uuid.UUID | None = await session.scalar(
        select(ImportJob.id).where(ImportJob.active.is_(True))
    )
    return found


async def claim(session: AsyncSession, job_id: uuid.UUID, now: datetime) -> bool:
    """queued → running; False if it is no longer queued."""
    result = await session.execute(
        update(ImportJob)
        .where(ImportJob.id == job_id, ImportJob.status == "queued")
        .values(status="running", started_at=now, heartbeat_at=now)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def record_progress(
    session: AsyncSession,
    job_id: uuid.UUID,
    *,
    processed: int,
    errors: list[dict[str, Any]],
    error_count: int,
    now: datetime,
) -> bool:
    """Rows checked so far and the errors found; False if the job is no longer running."""
    result = await session.execute(
        update(ImportJob)
        .where(ImportJob.id == job_id, ImportJob.status == "running")
        .values(rows_processed=processed, errors=errors, error_count=error_count, heartbeat_at=now)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def lock_running(session: AsyncSession, job_id: uuid.UUID) -> bool:
    """Hold a running job until this transaction ends (a sweep on another replica skips
    it); False if it is no longer running."""
    found = await session.scalar(
        select(ImportJob.id)
        .where(ImportJob.id == job_id, ImportJob.status == "running")
        .with_for_update()
    )
    return found is not None


async def succeed(
    session: AsyncSession, job_id: uuid.UUID, *, counts: dict[str, int], now: datetime
) -> None:
    await session.execute(
        update(ImportJob)
        .where(ImportJob.id == job_id)
        .values(
            status="succeeded",
            active=None,
            rows_created=counts["created"],
            rows_updated=counts["updated"],
            rows_unchanged=counts["unchanged"],
            finished_at=now,
            heartbeat_at=now,
        )
    )


async def fail(
    session: AsyncSession,
    job_id: uuid.UUID,
    *,
    detail: str,
    errors: list[dict[str, Any]] | None,
    error_count: int | None,
    now: datetime,
) -> bool:
    """A queued or running job ends failed (nothing of it was written); False if it had
    ended already."""
    values: dict[str, Any] = {
        "status": "failed",
        "active": None,
        "detail": detail[:500],
        "finished_at": now,
        "heartbeat_at": now,
    }
    if errors is not None:
        values.update(errors=errors, error_count=error_count)
    result = await session.execute(
        update(ImportJob)
        .where(ImportJob.id == job_id, ImportJob.status.in_(_OPEN))
        .values(**values)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def fail_stale(session: AsyncSession, *, before: datetime, detail: str, now: datetime) -> int:
    """Fail the open jobs whose heartbeat is older than `before`, skipping any a live
    transaction holds (one writing its rows, on PostgreSQL)."""
    stale = (
        await session.scalars(
            select(ImportJob.id)
            .where(ImportJob.active.is_(True), ImportJob.heartbeat_at < before)
            .with_for_update(skip_locked=True)
        )
    ).all()
    if not stale:
        return 0
    result = await session.execute(
        update(ImportJob)
        .where(ImportJob.id.in_(stale), ImportJob.status.in_(_OPEN))
        .values(status="failed", active=None, detail=detail, finished_at=now)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
