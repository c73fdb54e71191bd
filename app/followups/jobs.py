"""The sweep: open the steps of ended interviews, flag what is overdue, remind, escalate;
last, forget stored Idempotency-Key answers past their 24 hours.

The scheduler runs it every minute; `POST /v1/admin/sweeps` and `debrief sweep` run it on
demand. Each batch is one transaction, so a sweep killed halfway leaves whole batches
done and the rest for the next sweep. On PostgreSQL one replica sweeps at a time (a
session advisory lock); every statement is also conditional, so no step is flagged twice.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import text

from app import idempotency
from app.board.repository import delete_expired_sessions
from app.candidates.erasure import retention_sweep
from app.config import Settings
from app.db import Database, transaction
from app.events import service as events
from app.followups import repository, rules, service
from app.followups.schemas import follow_up_payload
from app.observability import SWEEP_SECONDS, SWEEP_STEPS

logger = logging.getLogger("debrief.sweep")

SWEEP_LOCK = 0x44_53_57_50  # "DSWP"
OPEN_BATCH = 200
NOTICE_BATCH = 500
_in_process = asyncio.Lock()


@dataclass
class SweepCounts:
    opened: int = 0
    overdue: int = 0
    reminders: int = 0
    escalated: int = 0
    erased: int = 0
    expired_answers: int = 0
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


async def open_ended_interviews(db: Database, now: datetime) -> int:
    """Open the after-interview steps of every interview that has ended since the last sweep."""
    total = 0
    while True:
        async with transaction(db, now=now) as session:
            policy = await service.get_policy(session)
            batch = await repository.ended_interviews_awaiting_steps(session, now, OPEN_BATCH)
            for interview in batch:
                await service.open_steps(session, interview, policy=policy, now=now)
        total += len(batch)
        if len(batch) < OPEN_BATCH:
            return total


async def rebuild_stale_queue_rows(db: Database) -> int:
    """Write again the queue rows that a change racing another may have left stale
    (PostgreSQL; with one writer at a time SQLite never marks any)."""
    if db.is_sqlite:
        return 0
    async with transaction(db) as session:
        rebuilt = await repository.rebuild_stale_queue_rows(session)
    if rebuilt:
        logger.info("sweep: rebuilt %d queue rows changed during a concurrent change", rebuilt)
    return rebuilt


async def flag_overdue(db: Database, now: datetime) -> int:
    """Flag every pending step past its due time as overdue, with its event, exactly once."""
    async with transaction(db, now=now) as session:
        if not db.is_sqlite:
            return await repository.flag_overdue_with_events(session, now=now)
        flagged = 0
        for interval in await repository.intervals_due(session, now):
            rows = await repository.flag_overdue(
                session,
                now=now,
                interval_seconds=interval,
                first_notice_at=rules.first_notice_at(now, timedelta(seconds=interval)),
            )
            payloads = (follow_up_payload(row) for row in rows)
            flagged += events.record_many(session, "follow_up.overdue", payloads, now=now)
        return flagged


async def send_notices(db: Database, now: datetime) -> tuple[int, int]:
    """Remind about steps still overdue, one interval apart, then escalate each once."""
    reminders = escalated = 0
    while True:
        async with transaction(db, now=now) as session:
            steps = await repository.steps_needing_notice(session, now, NOTICE_BATCH)
            notices = []
            for step in steps:
                notice = rules.notice_for(
                    reminders_sent=step.reminders_sent,
                    max_reminders=step.max_reminders,
                    escalated=step.escalated_at is not None,
                    interval=timedelta(seconds=step.reminder_interval_seconds),
                    now=now,
                )
                step.next_notice_at = notice.next_notice_at if notice else None
                step.updated_at = now
                if notice is not None:
                    if notice.kind == "reminder":
                        step.reminders_sent += 1
                    else:
                        step.escalated_at = now
                    notices.append((step, notice))
            await session.flush()  # versions first: the events carry the new ones
            for step, notice in notices:
                payload = follow_up_payload(step)
                if notice.kind == "reminder":
                    payload["reminder"] = step.reminders_sent
                    events.record(session, "follow_up.reminder", payload, now=now)
                    reminders += 1
                else:
                    owner = await repository.owner_of(session, step.candidate_id)
                    payload["escalated_to"] = {"staff_id": str(owner) if owner else None}
                    events.record(session, "follow_up.escalated", payload, now=now)
                    escalated += 1
        if len(steps) < NOTICE_BATCH:
            return reminders, escalated


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
            counts.opened = await open_ended_interviews(db, now)
            counts.overdue = await flag_overdue(db, now)
            counts.reminders, counts.escalated = await send_notices(db, now)
            # Last, so a row marked while this sweep flagged or reminded is written now.
            await rebuild_stale_queue_rows(db)
            await delete_expired_sessions(db, now)  # board sign-ins past their day
            policy, _, _ = await repository.read_policy(db)
            if settings is not None and policy.retention_days:
                counts.erased = await retention_sweep(
                    db, settings, retention_days=policy.retention_days, now=now
                )
            counts.expired_answers = await idempotency.purge_expired(db, now=now)
    elapsed = time.perf_counter() - started
    counts.duration_ms = round(elapsed * 1000, 1)
    if counts.swept:
        SWEEP_SECONDS.observe(elapsed)
        for what in ("opened", "overdue", "reminders", "escalated", "erased", "expired_answers"):
            SWEEP_STEPS.labels(what).inc(getattr(counts, what))
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
