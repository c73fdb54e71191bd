"""The sweep: open the follow-ups of ended interviews, flag what is overdue, remind, escalate;
then housekeeping: board sign-ins past their day, the retention policy's erasures, stored
Idempotency-Key answers past their 24 hours, CSV imports whose process died.

The scheduler runs it every minute; `POST /v1/admin/sweeps` and `debrief sweep` run it on
demand. On PostgreSQL one replica sweeps at a time (a session advisory lock).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime

from prometheus_client import Counter, Histogram
from sqlalchemy import text

from app.api import idempotency
from app.board import session as board_sessions
from app.candidates import erasure
from app.config import Settings
from app.db.engine import Database
from app.followups import jobs as followups
from app.followups import service as followups_service
from app.imports import jobs as imports
from app.interviews import service as interviews
from app.notifications import jobs as notifications

logger = logging.getLogger("debrief.sweep")
SWEEP_SECONDS = Histogram("debrief_sweep_duration_seconds", "Time a follow-up sweep took.")
SWEEP_WORK = Counter("debrief_sweep_steps_total", "What sweeps did.", ["what"])

SWEEP_LOCK = 0x44_53_57_50  # "DSWP"
_in_process = asyncio.Lock()


@dataclass
class SweepCounts:
    opened: int = 0
    overdue: int = 0
    reminders: int = 0
    escalated: int = 0
    erased: int = 0
    expired_answers: int = 0
    failed_imports: int = 0
    swept: bool = True
    duration_ms: float = 0.0


@asynccontextmanager
async def leadership(db: Database, *, wait_seconds: float) -> AsyncIterator[bool]:
    """Yield True while this process is the one sweeper (across replicas on PostgreSQL)."""
    deadline = time.monotonic() + wait_seconds
    async with _in_process:
        if db.is_sqlite:
            yield True  # one writer at a time already; the statements are conditional
            return
        async with db.reading() as conn:
            while True:
                got = (
                    await conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": SWEEP_LOCK})
                ).scalar()
                if got or time.monotonic() >= deadline:
                    break
                await asyncio.sleep(0.2)
            try:
                yield bool(got)
            finally:
                if got:
                    await conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": SWEEP_LOCK})


async def sweep(
    db: Database,
    clock: Callable[[], datetime],
    *,
    wait_seconds: float = 0,
    settings: Settings | None = None,
) -> SweepCounts:
    """One full sweep; `swept` is False if another replica was sweeping."""
    started = time.perf_counter()
    counts = SweepCounts()
    async with leadership(db, wait_seconds=wait_seconds) as leader:
        if not leader:
            counts.swept = False
        else:
            now = clock()
            counts.opened = await followups.open_ended_interviews(
                db, now, mark_completed=interviews.mark_completed
            )
            counts.overdue = await followups.flag_overdue(db, now)
            counts.reminders, counts.escalated = await followups.send_notices(db, now)
            if settings is not None:  # late calls' nudges, morning digests
                await notifications.plan(db, now, settings=settings)
            await board_sessions.delete_expired(db, now)  # board sign-ins past their day
            policy, _, _ = await followups_service.read_policy(db)
            if settings is not None and policy.retention_days:
                counts.erased = await erasure.retention_sweep(
                    db, settings, retention_days=policy.retention_days, now=now
                )
            counts.expired_answers = await idempotency.purge_expired(db, now=now)
            counts.failed_imports = await imports.fail_orphans(db, now)  # process died
    elapsed = time.perf_counter() - started
    counts.duration_ms = round(elapsed * 1000, 1)
    if counts.swept:
        SWEEP_SECONDS.observe(elapsed)
        for what in (
            "opened",
            "overdue",
            "reminders",
            "escalated",
            "erased",
            "expired_answers",
            "failed_imports",
        ):
            SWEEP_WORK.labels(what).inc(getattr(counts, what))
    if counts.opened or counts.overdue or counts.reminders or counts.escalated:
        logger.info(
            "sweep: opened %d, overdue %d, reminders %d, escalated %d in %.0f ms",
            counts.opened,
            counts.overdue,
            counts.reminders,
            counts.escalated,
            counts.duration_ms,
        )
    return counts
