"""The playbook's lifecycle: open steps, re-date, cancel, complete, waive; and the policy.

Every change of a step writes its event in the same transaction. Callers are the
interviews and debriefs services (after a change), the routers, and the sweep.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.api.responses import require_if_match
from app.candidates.erased import refuse_if_candidate_erased
from app.db.engine import Database
from app.debrief_queue import service as debrief_queue
from app.errors import Conflict, NotFound
from app.events import service as events
from app.followups import repository, rules
from app.followups.policy import FollowUpPolicy
from app.followups.rules import InterviewFacts, Kind
from app.followups.schemas import follow_up_payload
from app.models import FollowUp, Interview, Setting

SYSTEM = "system"
OPEN = rules.OPEN_STATUSES

# Marks a scheduled interview completed once its end has passed, with its event; the
# interviews service owns that change and passes it in (interviews call follow-ups).
MarkCompleted = Callable[[AsyncSession, Interview, datetime], Awaitable[None]]


# ---------------------------------------------------------------------------- policy


async def get_policy(session: AsyncSession) -> FollowUpPolicy:
    policy, _ = await repository.load_policy(session)
    return policy


async def read_policy(db: Database) -> tuple[FollowUpPolicy, int, datetime | None]:
    """The policy outside a transaction, with its version (0 while never changed)."""
    return await repository.read_policy(db)


async def replace_policy(
    *, session: AsyncSession, policy: FollowUpPolicy, if_match: str | None, now: datetime
) -> tuple[FollowUpPolicy, Setting]:
    """Replace the policy (If-Match optional); steps already open keep their due times."""
    _, row = await repository.load_policy(session)
    if if_match is not None:
        require_if_match(if_match, row.version if row else 0)
    value = policy.model_dump(mode="json")
    if row is None:
        row = Setting(key=repository.POLICY_KEY, value=value, version=1, updated_at=now)
        session.add(row)
    elif row.value != value:
        row.value = value
        row.version += 1
        row.updated_at = now
    await session.flush()
    return policy, row


# ---------------------------------------------------------------------------- opening


async def facts_for(session: AsyncSession, interview: Interview) -> InterviewFacts:
    return InterviewFacts(
        ends_at=interview.ends_at,
        decision_expected_by=interview.decision_expected_by,
        thank_you_sent_at=await repository.thank_you_sent_at(session, interview.id),
        outcome=interview.outcome,
        next_stage=interview.next_stage,
        outcome_recorded_at=interview.outcome_recorded_at,
        next_final_starts_at=await repository.next_final_start(session, interview),
    )


async def _already_done(
    session: AsyncSession, kind: str, facts: InterviewFacts, interview: Interview
) -> datetime | None:
    """When a step being opened was in fact already done (the debrief came in early, say)."""
    if kind == "debrief_call":
        return await repository.debrief_received_at(session, interview.id)
    if kind == "thank_you_note":
        return facts.thank_you_sent_at
    if kind == "employer_feedback":
        return await repository.feedback_relayed_at(session, interview.id)
    return None


async def open_steps(
    session: AsyncSession,
    interview: Interview,
    *,
    policy: FollowUpPolicy,
    now: datetime,
    mark_completed: MarkCompleted,
) -> list[FollowUp]:
    """Open the steps the interview calls for now and does not have yet."""
    if interview.status in ("cancelled", "no_show"):
        return []
    ended = interview.ends_at <= now
    facts = await facts_for(session, interview)
    wanted = rules.kinds_for(facts, ended=ended)
    have = await repository.kinds_opened(session, interview.id)
    opened = []
    for kind in wanted:
        if kind in have:
            continue
        step = FollowUp(
            interview_id=interview.id,
            candidate_id=interview.candidate_id,
            kind=kind,
            status="pending",
            due_at=rules.due_at(kind, facts, policy),
            opened_at=now,
            late=False,
            reminders_sent=0,
            reminder_interval_seconds=int(
                timedelta(hours=policy.reminder_interval_hours).total_seconds()
            ),
            max_reminders=policy.max_reminders,
            created_at=now,
            updated_at=now,
        )
        session.add(step)
        opened.append(step)
    if ended and interview.follow_ups_opened_at is None:
        interview.follow_ups_opened_at = now
        await mark_completed(session, interview, now)
    await session.flush()
    for step in opened:
        events.record(session, "follow_up.opened", follow_up_payload(step), now=now)
        done_at = await _already_done(session, step.kind, facts, interview)
        if done_at is not None:
            await _finish(session, [step], status="done", at=done_at, by=SYSTEM, now=now)
    return opened


# ---------------------------------------------------------------------------- changes


async def _finish(
    session: AsyncSession,
    steps: list[FollowUp],
    *,
    status: str,
    at: datetime,
    by: str,
    now: datetime,
    reason: str | None = None,
) -> None:
    """Close steps as done, waived or cancelled, and record their events."""
    for step in steps:
        step.status = status
        step.completed_at = at
        step.completed_by = by
        step.late = status == "done" and at > step.due_at
        step.next_notice_at = None
        step.waived_reason = reason
        step.updated_at = now
    await session.flush()  # bumps versions, so the events carry the new ones
    await debrief_queue.steps_changed(session, steps)
    if status in ("done", "waived"):
        event = "follow_up.completed" if status == "done" else "follow_up.waived"
        for step in steps:
            events.record(session, event, follow_up_payload(step), now=now)


async def complete_kind(
    session: AsyncSession,
    interview_id: uuid.UUID,
    kind: Kind,
    *,
    at: datetime,
    by: str,
    now: datetime,
) -> FollowUp | None:
    """Complete the open step of this kind, if any (late if `at` is after it was due)."""
    steps = await repository.steps_of(session, interview_id, statuses=OPEN, kinds=(kind,))
    await _finish(session, steps, status="done", at=at, by=by, now=now)
    return steps[0] if steps else None


async def redate(
    session: AsyncSession,
    interview: Interview,
    *,
    policy: FollowUpPolicy,
    now: datetime,
    kinds: tuple[str, ...] | None = None,
    statuses: tuple[str, ...] = OPEN,
) -> None:
    """Recompute due times of the interview's open steps after it moved or its facts changed."""
    steps = await repository.steps_of(session, interview.id, statuses=statuses, kinds=kinds)
    if not steps:
        return
    facts = await facts_for(session, interview)
    moved = []
    for step in steps:
        due = rules.due_at(step.kind, facts, policy)  # type: ignore[arg-type]
        reopened = step.status == "cancelled"
        if due == step.due_at and not reopened:
            continue
        moved.append(step)
        step.due_at = due
        step.updated_at = now
        if reopened or (step.status == "overdue" and due > now):
            # No longer late (or back from a cancellation): start again as pending.
            step.status = "pending"
            step.overdue_at = None
            step.next_notice_at = None
            step.reminders_sent = 0
            step.escalated_at = None
            step.completed_at = None
            step.completed_by = None
    await session.flush()
    await debrief_queue.steps_changed(session, moved)


async def steps_still_open(session: AsyncSession, interview_id: uuid.UUID) -> list[FollowUp]:
    """The pending and overdue steps of one interview."""
    return await repository.steps_of(session, interview_id, statuses=OPEN)


async def cancel_open_steps(session: AsyncSession, interview: Interview, *, now: datetime) -> int:
    steps = await repository.steps_of(session, interview.id, statuses=OPEN)
    await _finish(session, steps, status="cancelled", at=now, by=SYSTEM, now=now)
    return len(steps)


_TIMING = {"starts_at", "ends_at", "duration_minutes"}


async def interview_changed(
    session: AsyncSession,
    interview: Interview,
    changed: list[str],
    *,
    actor: str,
    now: datetime,
    mark_completed: MarkCompleted,
    created: bool = False,
) -> None:
    """Bring an interview's steps in line with a change to it (or its creation)."""
    policy = await get_policy(session)
    changed_set = set(changed)
    if interview.status in ("cancelled", "no_show"):
        if "status" in changed_set:
            await cancel_open_steps(session, interview, now=now)
        return
    if "status" in changed_set:
        await redate(session, interview, policy=policy, now=now, statuses=("cancelled",))
    if changed_set & (_TIMING | {"decision_expected_by"}):
        await redate(session, interview, policy=policy, now=now)
    if "outcome" in changed_set and interview.outcome != "pending":
        await complete_kind(session, interview.id, "employer_follow_up", at=now, by=actor, now=now)
    await open_steps(session, interview, policy=policy, now=now, mark_completed=mark_completed)
    if interview.stage == "final" and (created or changed_set & (_TIMING | {"stage", "status"})):
        for earlier in await repository.interviews_awaiting_prep(
            session, interview.candidate_id, interview.client_id
        ):
            await redate(session, earlier, policy=policy, now=now, kinds=("final_round_prep",))


async def debrief_recorded(
    session: AsyncSession,
    interview: Interview,
    *,
    thank_you_sent_at: datetime | None,
    actor: str,
    now: datetime,
) -> None:
    """A debrief completes the debrief call (late or not); a thank-you note completes its step."""
    await complete_kind(session, interview.id, "debrief_call", at=now, by=actor, now=now)
    if thank_you_sent_at is not None:
        await complete_kind(
            session, interview.id, "thank_you_note", at=thank_you_sent_at, by=actor, now=now
        )
        if interview.decision_expected_by is None:
            policy = await get_policy(session)
            await redate(session, interview, policy=policy, now=now, kinds=("employer_follow_up",))


async def feedback_relayed(
    session: AsyncSession,
    interview_id: uuid.UUID,
    *,
    relayed_at: datetime,
    actor: str,
    now: datetime,
) -> None:
    await complete_kind(
        session, interview_id, "employer_feedback", at=relayed_at, by=actor, now=now
    )


# ---------------------------------------------------------------------------- by hand


async def _open_step(session: AsyncSession, step_id: uuid.UUID) -> FollowUp:
    step = await session.get(FollowUp, step_id, with_for_update=True)
    if step is None:
        raise NotFound(f"There is no follow-up with id {step_id}.")
    if step.status not in OPEN:
        raise Conflict(f"This follow-up is already {step.status}.")
    return step


async def complete(
    *, session: AsyncSession, step_id: uuid.UUID, actor: str, now: datetime
) -> FollowUp:
    """Mark a step done now; it is `late` if past its due time."""
    step = await _open_step(session, step_id)
    await _finish(session, [step], status="done", at=now, by=actor, now=now)
    return step


async def waive(
    *, session: AsyncSession, step_id: uuid.UUID, reason: str, actor: str, now: datetime
) -> FollowUp:
    """Waive a step that does not apply, with the reason (not for an erased person: the
    reason is free text about them; mark the step done instead)."""
    candidate_id = (
        await session.execute(select(FollowUp.candidate_id).where(FollowUp.id == step_id))
    ).scalar_one_or_none()
    if candidate_id is not None:
        await refuse_if_candidate_erased(session, candidate_id, wait=True)
    step = await _open_step(session, step_id)
    await _finish(session, [step], status="waived", at=now, by=actor, now=now, reason=reason)
    return step
