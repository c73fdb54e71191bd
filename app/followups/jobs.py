"""The follow-ups' part of the sweep: open the steps of ended interviews, flag what is
overdue, remind, escalate.

Each batch is one transaction, so a sweep killed halfway leaves whole batches done and the
rest for the next sweep; every statement is also conditional, so no step is flagged twice.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from app.db.engine import Database
from app.db.transaction import transaction
from app.debrief_queue import service as debrief_queue
from app.events import service as events
from app.followups import repository, rules, service
from app.followups.escalation import Escalation, escalation_for
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
    """Flag every pending step past its due time as overdue, with its event, exactly once.
    Its first notice comes one of its own reminder intervals (working days) later."""
    async with transaction(db, now=now) as session:
        policy = await service.get_policy(session)
        flagged = 0
        for interval in await repository.intervals_due(session, now):
            first = rules.first_notice_at(now, interval_days=interval, policy=policy)
            if not db.is_sqlite:
                flagged += await repository.flag_overdue_with_events(
                    session,
                    now=now,
                    interval_days=interval,
                    first_notice_at=first,
                    order_lock=events.EVENT_ORDER_LOCK,
                )
                continue
            rows = await repository.flag_overdue(
                session, now=now, interval_days=interval, first_notice_at=first
            )
            payloads = (follow_up_payload(row) for row in rows)
            flagged += events.record_many(session, "follow_up.overdue", payloads, now=now)
        if flagged:
            await debrief_queue.steps_flagged(session, now)
        return flagged


async def send_notices(db: Database, now: datetime) -> tuple[int, int]:
    """Remind about steps still overdue on their schedule, then escalate each once; escalate
    the last chase of an employer who stayed silent."""
    reminders = escalated = 0
    while True:
        async with transaction(db, now=now) as session:
            policy = await service.get_policy(session)
            steps = await repository.steps_needing_notice(session, now, NOTICE_BATCH)
            notices = []
            escalations: dict[uuid.UUID, Escalation] = {}
            for step in steps:
                if step.status == "done" and not await service.employer_still_silent(
                    session, step, policy=policy
                ):
                    step.next_notice_at = None  # the decision came, or the chase stopped
                    step.updated_at = now
                    continue
                notice = rules.notice_for(
                    status=step.status,
                    overdue_at=step.overdue_at,
                    reminders_sent=step.reminders_sent,
                    max_reminders=step.max_reminders,
                    escalated=step.escalated_at is not None,
                    interval_days=step.reminder_interval_days,
                    policy=policy,
                    now=now,
                )
                step.next_notice_at = notice.next_notice_at if notice else None
                step.updated_at = now
                if notice is not None:
                    if notice.kind == "reminder":
                        step.reminders_sent += 1
                    else:
                        step.escalated_at = now
                        escalation = await escalation_for(session, step.candidate_id)
                        step.escalated_to = escalation.staff_id
                        escalations[step.id] = escalation
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
                    payload["escalated_to"] = escalations[step.id].payload()
                    payload["reason"] = "overdue" if step.status == "overdue" else "no_decision"
                    events.record(session, "follow_up.escalated", payload, now=now)
                    escalated += 1
        if len(steps) < NOTICE_BATCH:
            return reminders, escalated
