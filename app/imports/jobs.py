"""Running an import job, in the background of the process that received the file (or in
the foreground of `debrief import`), and failing the jobs whose process died.

A job claims itself (queued → running), then rehearses its rows chunk by chunk: each chunk
through the real bulk upserts in a transaction that is rolled back, after which the rows
checked and the rows refused are committed to the job, with a heartbeat. Any refused row and
the job ends failed with nothing written. Otherwise every row is written in one transaction
that also marks the job succeeded, so the rows and the job's success commit together.

The rows live only in this process's memory. If it dies, the job's heartbeat stops and the
sweep (any replica's) fails it after `STALE_AFTER`; nothing of it was written. While the
rows are being written the job's row is locked (PostgreSQL), so no sweep fails a job that is
alive but busy; on SQLite the write lock does the same.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.exc import StaleDataError

from app.config import Settings
from app.db.engine import Database
from app.db.transaction import open_unit_of_work, rollback, transaction
from app.imports import repository, service
from app.imports.csv_file import MAX_REPORTED_ERRORS, ImportFile, ImportRow, RowError

logger = logging.getLogger("debrief.imports")

# Rows per rehearsal transaction (one step of progress) and per call of a bulk upsert.
CHUNK_ROWS = 100
# A job whose heartbeat is this old has no live process behind it.
STALE_AFTER = timedelta(minutes=2)
ORPHANED = (
    "The process running this import stopped before it finished; nothing was written. "
    "Send the file again."
)
STOPPED = "The service stopped while this import ran; nothing was written. Send the file again."
CONFLICTED = (
    "Another change to the same objects was made while this import was written; nothing "
    "was written. Send the file again."
)
BROKE = "The import stopped on an unexpected error (it is logged); nothing was written."

AfterChunk = Callable[[uuid.UUID], Awaitable[None]]


class _Refused(Exception):
    def __init__(self, errors: list[RowError]) -> None:
        super().__init__(f"{len(errors)} row errors")
        self.errors = errors


def _chunks(rows: list[ImportRow], size: int) -> Iterator[list[ImportRow]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def _listed(errors: list[RowError]) -> list[dict[str, Any]]:
    return [
        {"row": e.row, "field": e.field, "message": e.message} for e in errors[:MAX_REPORTED_ERRORS]
    ]


def _refused_detail(errors: list[RowError], total: int) -> str:
    bad = len({e.row for e in errors})
    return (
        f"{bad} of {total} rows were refused; nothing was written. Fix them and send the "
        "file again."
    )


@asynccontextmanager
async def _rehearsal(db: Database, *, now: datetime, actor: str) -> AsyncIterator[AsyncSession]:
    """A transaction like `transaction()`'s that is always rolled back."""
    async with db.sessionmaker() as session:
        open_unit_of_work(session, db, now=now, actor=actor)
        try:
            yield session
        finally:
            await rollback(session)


async def run_import(
    db: Database,
    settings: Settings,
    job_id: uuid.UUID,
    file: ImportFile,
    *,
    actor: str,
    clock: Callable[[], datetime],
    chunk_rows: int = CHUNK_ROWS,
    after_chunk: AfterChunk | None = None,
) -> None:
    """Run a queued job to its end: succeeded with every row written, or failed with none."""
    try:
        now = clock()
        async with transaction(db, now=now) as session:
            if not await repository.claim(session, job_id, now):
                return
        errors: list[RowError] = []
        processed = 0
        for chunk in _chunks(file.rows, chunk_rows):
            now = clock()
            async with _rehearsal(db, now=now, actor=actor) as session:
                _, refused = await service.upsert_rows(
                    session=session,
                    settings=settings,
                    kind=file.kind,
                    rows=chunk,
                    actor=actor,
                    now=now,
                )
            errors += refused
            processed += len(chunk)
            now = clock()
            async with transaction(db, now=now) as session:
                running = await repository.record_progress(
                    session,
                    job_id,
                    processed=processed,
                    errors=_listed(errors),
                    error_count=len(errors),
                    now=now,
                )
            if not running:
                return  # failed by the sweep meanwhile: nothing more is done
            if after_chunk is not None:
                await after_chunk(job_id)
        if errors:
            raise _Refused(errors)
        await _write(db, settings, job_id, file, actor=actor, now=clock(), chunk_rows=chunk_rows)
    except _Refused as refused:
        await _fail(
            db,
            job_id,
            clock(),
            _refused_detail(refused.errors, len(file.rows)),
            refused.errors,
        )
    except asyncio.CancelledError:
        await _fail(db, job_id, clock(), STOPPED)
        raise
    except (IntegrityError, StaleDataError):
        await _fail(db, job_id, clock(), CONFLICTED)
    except Exception:
        logger.exception("import %s failed", job_id)
        await _fail(db, job_id, clock(), BROKE)


async def _write(
    db: Database,
    settings: Settings,
    job_id: uuid.UUID,
    file: ImportFile,
    *,
    actor: str,
    now: datetime,
    chunk_rows: int,
) -> None:
    """Every row, and the job's success, in one transaction."""
    async with transaction(db, now=now, actor=actor) as session:
        if not await repository.lock_running(session, job_id):
            return
        totals: Counter[str] = Counter()
        for chunk in _chunks(file.rows, chunk_rows):
            counts, refused = await service.upsert_rows(
                session=session,
                settings=settings,
                kind=file.kind,
                rows=chunk,
                actor=actor,
                now=now,
            )
            if refused:  # changed since the rehearsal
                raise _Refused(refused)
            totals.update(counts)
        await repository.succeed(
            session,
            job_id,
            counts={what: totals[what] for what in ("created", "updated", "unchanged")},
            now=now,
        )


async def _fail(
    db: Database,
    job_id: uuid.UUID,
    now: datetime,
    detail: str,
    errors: list[RowError] | None = None,
) -> None:
    try:
        async with transaction(db, now=now) as session:
            await repository.fail(
                session,
                job_id,
                detail=detail,
                errors=_listed(errors) if errors is not None else None,
                error_count=len(errors) if errors is not None else None,
                now=now,
            )
    except Exception:  # the database is away: the sweep fails the job once it is back
        logger.exception("import %s: could not record its failure", job_id)


async def fail_orphans(db: Database, now: datetime) -> int:
    """The sweep's part: fail the jobs whose process stopped (no heartbeat for 2 minutes)."""
    async with transaction(db, now=now) as session:
        return await repository.fail_stale(
            session, before=now - STALE_AFTER, detail=ORPHANED, now=now
        )


class ImportRunner:
    """The import jobs this process runs in the background, each started once the request
    that created it has committed."""

    def __init__(self, db: Database, settings: Settings, clock: Callable[[], datetime]) -> None:
        self.db = db
        self.settings = settings
        self.clock = clock
        self.chunk_rows = CHUNK_ROWS
        # Awaited after each chunk's progress is stored (tests hold a job there).
        self.after_chunk: AfterChunk | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    def starter(self, file: ImportFile, actor: str) -> Callable[[uuid.UUID], None]:
        """What starts the job of `file` in the background, given its id."""

        def start(job_id: uuid.UUID) -> None:
            task = asyncio.create_task(
                run_import(
                    self.db,
                    self.settings,
                    job_id,
                    file,
                    actor=actor,
                    clock=self.clock,
                    chunk_rows=self.chunk_rows,
                    after_chunk=self._after_chunk,
                ),
                name=f"import {job_id}",
            )
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

        return start

    async def _after_chunk(self, job_id: uuid.UUID) -> None:
        if self.after_chunk is not None:
            await self.after_chunk(job_id)

    async def wait(self) -> None:
        """Until the jobs running here have ended."""
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def stop(self) -> None:
        """Stop the jobs running here; each is marked failed, with nothing written."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
