"""The follow-ups' part of the sweep: open the steps of ended interviews, flag what is
overdue, remind, escalate.

Each batch is one transaction, so a sweep killed halfway leaves whole batches done and the
rest for the next sweep; every statement is also conditional, so no step is flagged twice.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from app.db.engine import Database
from app.db.transaction import transaction
from app.debrief_queue import service as debrief_queue
from app.events import service as events
from app.followups import repository, rules, service
from app.followups.schemas import follow_up_payload

OPEN_BATCH = 200
NOTICE_BATCH = 500


async def open_ended_interviews(
    db: Database, now: datetime, *, mark_completed: service.MarkCompleted
) -> int:
    """Open the after-interview steps of every interview that has ended since the last sweep."""
    total = 0
    while True:
        async with transaction(db, now=now) as session:
            policy = await service.get_policy(session)
            batch = await repository.ended_interviews_awaiting_steps(session, now, OPEN_BATCH)
            for interview in batch:
                await service.open_steps(
                    session, interview, policy=policy, now=now, mark_completed=mark_completed
                )
        total += len(batch)
        if len(batch) < OPEN_BATCH:
            return total


async def flag_overdue(db: Database, now: datetime) -> int:
    """Flag every pending step past its due time as overdue, with its event, exactly once."""
    async with transaction(db, now=now) as session:
        if not db.is_sqlite:
            flagged = await repository.flag_overdue_with_events(
                session, now=now, order_lock=events.EVENT_ORDER_LOCK
            )
            if flagged:
                await debrief_queue.steps_flagged(session, now)
            return flagged
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
        if flagged:
            await debrief_queue.steps_flagged(session, now)
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
            await debrief_queue.steps_changed(session, steps)
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
