"""The follow-ups' part of the sweep: open the follow-ups of ended interviews, flag what is
overdue, remind, escalate.

Each batch is one transaction, so a sweep killed halfway leaves whole batches done and the
rest for the next sweep; every statement is also conditional, so no follow-up is flagged twice.
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
    """Open the after-interview follow-ups of every interview that ended since the last sweep."""
    total = 0
    while True:
        async with transaction(db, now=now) as session:
            policy = await service.get_policy(session)
            batch = await repository.ended_interviews_awaiting_follow_ups(session, now, OPEN_BATCH)
            for interview in batch:
                await service.open_follow_ups(
                    session, interview, policy=policy, now=now, mark_completed=mark_completed
                )
        total += len(batch)
        if len(batch) < OPEN_BATCH:
            return total


async def flag_overdue(db: Database, now: datetime) -> int:
    """Flag every pending follow-up past its due time as overdue, with its event, exactly once.
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
            await debrief_queue.follow_ups_flagged(session, now)
        return flagged


async def send_notices(db: Database, now: datetime) -> tuple[int, int]:
    """Remind about follow-ups still overdue on their schedule, then escalate each once; escalate
    the last chase of an employer who stayed silent."""
    reminders = escalated = 0
    while True:
        async with transaction(db, now=now) as session:
            policy = await service.get_policy(session)
            follow_ups = await repository.follow_ups_needing_notice(session, now, NOTICE_BATCH)
            notices = []
            escalations: dict[uuid.UUID, Escalation] = {}
            for follow_up in follow_ups:
                if follow_up.status == "done" and not await service.employer_still_silent(
                    session, follow_up, policy=policy
                ):
                    follow_up.next_notice_at = None  # the decision came, or the chase stopped
                    follow_up.updated_at = now
                    continue
                notice = rules.notice_for(
                    status=follow_up.status,
                    overdue_at=follow_up.overdue_at,
                    reminders_sent=follow_up.reminders_sent,
                    max_reminders=follow_up.max_reminders,
                    escalated=follow_up.escalated_at is not None,
                    interval_days=follow_up.reminder_interval_days,
                    policy=policy,
                    now=now,
                )
                follow_up.next_notice_at = notice.next_notice_at if notice else None
                follow_up.updated_at = now
                if notice is not None:
                    if notice.kind == "reminder":
                        follow_up.reminders_sent += 1
                    else:
                        follow_up.escalated_at = now
                        escalation = await escalation_for(
                            session, follow_up.candidate_id, policy=policy
                        )
                        follow_up.escalated_to = escalation.staff_id
                        escalations[follow_up.id] = escalation
                    notices.append((follow_up, notice))
            await session.flush()  # versions first: the events carry the new ones
            await debrief_queue.follow_ups_changed(session, follow_ups)
            for follow_up, notice in notices:
                payload = follow_up_payload(follow_up)
                if notice.kind == "reminder":
                    payload["reminder"] = follow_up.reminders_sent
                    events.record(session, "follow_up.reminder", payload, now=now)
                    reminders += 1
                else:
                    payload["escalated_to"] = escalations[follow_up.id].payload()
                    payload["reason"] = (
                        "overdue" if follow_up.status == "overdue" else "no_decision"
                    )
                    events.record(session, "follow_up.escalated", payload, now=now)
                    escalated += 1
        if len(follow_ups) < NOTICE_BATCH:
            return reminders, escalated
