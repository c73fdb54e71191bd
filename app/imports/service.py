"""CSV imports of clients, candidates and interviews: one pipeline for the API and the CLI.

A file is read and checked whole first (`csv_file.read_csv`): a bad file is refused (422)
and no job exists. A good one becomes a queued job; its rows go through the bulk upserts of
their domain (the same services, events, audit and follow-ups as the API), first as a
rehearsal rolled back chunk by chunk (progress, and the rows the database refuses), then for
real in one transaction, so a job either writes every row or none (`app.imports.jobs`).
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.candidates import service as candidates
from app.clients import service as clients
from app.config import Settings
from app.db.engine import Database
from app.db.transaction import add_post_commit_hook
from app.errors import Conflict
from app.imports import repository
from app.imports.csv_file import ImportFile, ImportKind, ImportRow, RowError, read_csv, row_errors
from app.imports.schemas import ImportJobOut
from app.interviews import service as interviews
from app.models import ImportJob
from app.schemas.fields import phones_read_in

# Who `debrief import` acts as in the job and the audit log.
CLI_ACTOR = "system:import"


async def read_file(kind: ImportKind, content: bytes, *, settings: Settings) -> ImportFile:
    """The file checked whole (in a worker thread: thousands of rows), or a 422."""

    def check() -> ImportFile:
        with phones_read_in(settings.default_phone_region):
            return read_csv(kind, content, max_rows=settings.import_max_rows)

    return await asyncio.to_thread(check)


async def queue_import(
    *,
    session: AsyncSession,
    file: ImportFile,
    actor: str,
    now: datetime,
    start: Callable[[uuid.UUID], None],
) -> ImportJob:
    """Create the job; `start` is called with its id once the transaction has committed.
    One import runs at a time (409 while another is queued or running)."""
    running = await repository.active_job(session)
    if running is not None:
        raise Conflict(
            f"Import {running} is still running; wait for it to finish "
            f"(GET /v1/imports/{running}), then send this file again."
        )
    job = ImportJob(
        kind=file.kind,
        status="queued",
        active=True,
        rows_total=len(file.rows),
        rows_processed=0,
        rows_created=0,
        rows_updated=0,
        rows_unchanged=0,
        errors=[],
        error_count=0,
        created_by=actor,
        created_at=now,
        heartbeat_at=now,
    )
    session.add(job)
    await session.flush()
    job_id = job.id
    add_post_commit_hook(session, lambda: start(job_id))
    return job


async def upsert_rows(
    *,
    session: AsyncSession,
    settings: Settings,
    kind: ImportKind,
    rows: list[ImportRow],
    actor: str,
    now: datetime,
) -> tuple[Counter[str], list[RowError]]:
    """Rows through their domain's bulk upsert (at most 1,000): how many were created,
    updated or left unchanged, and the rows refused."""
    items = [row.item for row in rows]
    with phones_read_in(settings.default_phone_region):  # a job or the CLI: no request's region
        if kind == "clients":
            out = await clients.upsert_clients(session=session, items=items, atomic=False, now=now)
        elif kind == "candidates":
            out = await candidates.upsert_candidates(
                session=session, settings=settings, items=items, atomic=False, now=now
            )
        else:
            out = await interviews.upsert_interviews(
                session=session, settings=settings, items=items, atomic=False, actor=actor, now=now
            )
    counts: Counter[str] = Counter(r.status for r in out.results if r.status != "error")
    return counts, list(row_errors(kind, rows, out.results))


async def get_job(db: Database, job_id: uuid.UUID) -> ImportJobOut | None:
    """The job as it stands now (read from the database: any replica's jobs)."""
    row = await repository.read_job(db, job_id)
    return ImportJobOut.model_validate(row) if row is not None else None
