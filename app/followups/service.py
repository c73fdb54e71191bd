"""The playbook's lifecycle: open follow-ups, re-date, cancel, complete, waive; and the policy.

Every change of a follow-up writes its event in the same transaction. Callers are the
interviews and debriefs services (after a change), the routers, and the sweep.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit import service as audit
from app.db.engine import Database
from app.db.statements import refresh_loaded
from app.db.unit_of_work import unit_of_work
from app.db.versions import require_if_match
from app.debrief_queue import service as debrief_queue
from app.errors import CandidateErased, Conflict, NotFound, ValidationFailed
from app.events import service as events
from app.followups import repository, rules
from app.followups.policy import FollowUpPolicy
from app.followups.rules import InterviewFacts, Kind, WaiverReason
from app.followups.schemas import follow_up_payload
from app.models import FollowUp, Interview, Setting
from app.staff import service as staff

SYSTEM = "system"
OPEN = rules.OPEN_STATUSES


@dataclass(frozen=True, slots=True)
class DebriefedInterview:
    """What a debrief's follow-ups need of its interview: read as a row by the debriefs
    service (app/debriefs/repository.py), not loaded as an `Interview`."""

    id: uuid.UUID
    candidate_id: uuid.UUID
    status: str
    starts_at: datetime
    decision_expected_by: date | None


# Marks a scheduled interview completed once its end has passed, with its event; the
# interviews service owns that change and passes it in (interviews call follow-ups).
MarkCompleted = Callable[[AsyncSession, Interview, datetime], Awaitable[None]]


# ---------------------------------------------------------------------------- policy


_POLICY = "follow_up_policy"


async def get_policy(session: AsyncSession) -> FollowUpPolicy:
    """The policy, read once per transaction: a debrief's follow-ups and the messages it
    calls for each need it."""
    memo = unit_of_work(session).memo
    policy: FollowUpPolicy | None = memo.get(_POLICY)
    if policy is None:
        policy = memo[_POLICY] = await repository.policy_in(session)
    return policy


async def read_policy(db: Database) -> tuple[FollowUpPolicy, int, datetime | None]:
    """The policy outside a transaction, with its version (0 while never changed)."""
    return await repository.read_policy(db)


async def replace_policy(
    *, session: AsyncSession, policy: FollowUpPolicy, if_match: str | None, now: datetime
) -> tuple[FollowUpPolicy, Setting]:
    """Replace the policy (If-Match optional); follow-ups already open keep their due times."""
    contact = policy.escalation_contact_id
    if contact is not None and not await staff.active_staff_exists(session, contact):
        raise ValidationFailed.field("escalation_contact_id", "no active staff member has this id")
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
    unit_of_work(session).memo[_POLICY] = policy
    return policy, row


# ---------------------------------------------------------------------------- opening


async def facts_for(session: AsyncSession, interview: Interview) -> InterviewFacts:
    candidate_status, erased = await repository.candidate_state(session, interview.candidate_id)
    prepares = (interview.outcome == "next_round" and interview.next_stage == "final") or (
        interview.stage == "final" and interview.status == "scheduled"
    )
    return InterviewFacts(
        ends_at=interview.ends_at,
        decision_expected_by=interview.decision_expected_by,
        thank_you_sent_at=await repository.thank_you_sent_at(session, interview.id),
        outcome=interview.outcome,
        next_stage=interview.next_stage,
        outcome_recorded_at=interview.outcome_recorded_at,
        next_final_starts_at=await repository.next_final_start(session, interview),
        stage=interview.stage,
        status=interview.status,
        starts_at=interview.starts_at,
        candidate_status=candidate_status,
        candidate_erased=erased,
        tracked=interview.follow_ups_tracked,
        final_prep_elsewhere=prepares and await repository.final_prep_elsewhere(session, interview),
    )


async def tracks_follow_ups(
    session: AsyncSession, *, ends_at: datetime, requested: bool | None, now: datetime
) -> bool:
    """Whether a new interview's follow-ups are tracked: as the sender asked, else unless it
    ended more than the policy's history window ago."""
    policy = await get_policy(session)
    return rules.tracks_follow_ups(ends_at, requested=requested, now=now, policy=policy)


async def _already_done(
    session: AsyncSession, kind: str, facts: InterviewFacts, interview: Interview
) -> datetime | None:
    """When a follow-up being opened was in fact already done (the debrief came in early, say)."""
    if kind == "debrief_call":
        return await repository.debrief_called_at(session, interview.id)
    if kind == "thank_you_note":
        return facts.thank_you_sent_at
    if kind == "employer_feedback":
        return await repository.feedback_relayed_at(session, interview.id)
    return None


def _new_follow_up(
    interview: Interview | DebriefedInterview,
    kind: Kind,
    *,
    due_at: datetime,
    policy: FollowUpPolicy,
    now: datetime,
    ideal_by: datetime | None = None,
    sequence: int = 1,
) -> FollowUp:
    return FollowUp(
        interview_id=interview.id,
        candidate_id=interview.candidate_id,
        kind=kind,
        sequence=sequence,
        status="pending",
        due_at=due_at,  # rules.due_at: never before the end, but a final's own preparation
        ideal_by=ideal_by,
        opened_at=now,
        late=False,
        reminders_sent=0,
        reminder_interval_days=policy.reminder_interval_working_days,
        max_reminders=policy.max_reminders,
        created_at=now,
        updated_at=now,
    )


async def open_follow_ups(
    session: AsyncSession,
    interview: Interview,
    *,
    policy: FollowUpPolicy,
    now: datetime,
    mark_completed: MarkCompleted,
) -> list[FollowUp]:
    """Open the follow-ups the interview calls for now and does not have yet."""
    if interview.status in ("cancelled", "no_show"):
        return []
    ended = interview.ends_at <= now
    facts = await facts_for(session, interview)
    wanted = rules.kinds_for(facts, ended=ended, now=now)
    have = await repository.kinds_opened(session, interview.id)
    if "final_round_prep" in wanted and "final_round_prep" not in have:
        # Decided again under the lock: two requests never both open one for the same final.
        await repository.lock_final_prep(session, interview)
        facts = await facts_for(session, interview)
        wanted = rules.kinds_for(facts, ended=ended, now=now)
    opened = []
    for kind in wanted:
        if kind in have:
            continue
        follow_up = _new_follow_up(
            interview,
            kind,
            due_at=rules.due_at(kind, facts, policy),
            ideal_by=rules.ideal_by(kind, facts, policy),
            policy=policy,
            now=now,
        )
        session.add(follow_up)
        opened.append(follow_up)
    if ended and interview.follow_ups_opened_at is None:
        interview.follow_ups_opened_at = now
        await mark_completed(session, interview, now)
    await session.flush()
    for follow_up in opened:
        events.record(session, "follow_up.opened", follow_up_payload(follow_up), now=now)
        done_at = await _already_done(session, follow_up.kind, facts, interview)
        if done_at is not None:
            await _finish(session, [follow_up], status="done", at=done_at, by=SYSTEM, now=now)
    if "employer_follow_up" in have:
        await _after_employer_follow_up(session, interview, facts=facts, policy=policy, now=now)
    return opened


# ------------------------------------------------------------- employer chases, cooling


async def _after_employer_follow_up(
    session: AsyncSession,
    interview: Interview,
    *,
    facts: InterviewFacts,
    policy: FollowUpPolicy,
    now: datetime,
) -> None:
    """After the last employer chase was done with the decision still awaited: open the next
    chase, or (after the policy's number of chases) set when the employer's silence is
    escalated; and forget that escalation once it no longer applies."""
    chases = await repository.employer_follow_ups(session, interview.id)
    last = chases[-1] if chases else None
    if last is None or last.status != "done" or last.completed_at is None:
        return  # still being chased, or the chase was waived or cancelled: nothing follows
    after = rules.after_employer_follow_up(
        facts, sequence=last.sequence, done_at=last.completed_at, policy=policy
    )
    if after is not None and after.kind == "chase":
        follow_up = _new_follow_up(
            interview,
            "employer_follow_up",
            due_at=after.at,
            policy=policy,
            now=now,
            sequence=last.sequence + 1,
        )
        session.add(follow_up)
        await session.flush()
        events.record(session, "follow_up.opened", follow_up_payload(follow_up), now=now)
        return
    escalate_at = after.at if after is not None and last.escalated_at is None else None
    if last.next_notice_at != escalate_at:
        last.next_notice_at = escalate_at
        last.updated_at = now
        await session.flush()


async def employer_still_silent(
    session: AsyncSession, follow_up: FollowUp, *, policy: FollowUpPolicy
) -> bool:
    """Whether a done employer chase awaiting its escalation should still be escalated: the
    last chase of a live interview and candidate, the decision still awaited."""
    interview = await session.get(Interview, follow_up.interview_id)
    if interview is None or interview.status in ("cancelled", "no_show"):
        return False
    if await repository.candidate_status(session, follow_up.candidate_id) != "active":
        return False
    chases = await repository.employer_follow_ups(session, interview.id)
    if (
        follow_up.kind != "employer_follow_up"
        or chases[-1].id != follow_up.id
        or follow_up.completed_at is None
    ):
        return False
    after = rules.after_employer_follow_up(
        await facts_for(session, interview),
        sequence=follow_up.sequence,
        done_at=follow_up.completed_at,
        policy=policy,
    )
    return after is not None and after.kind == "escalation"


async def candidate_cooling(
    session: AsyncSession,
    interview: Interview | DebriefedInterview,
    *,
    policy: FollowUpPolicy,
    now: datetime,
) -> FollowUp | None:
    """A debrief says the candidate is cooling: open the owner's call to them (once)."""
    if interview.status in ("cancelled", "no_show"):
        return None
    if "candidate_call" in await repository.kinds_opened(session, interview.id):
        return None
    due = rules.candidate_call_due(now, policy)
    follow_up = _new_follow_up(interview, "candidate_call", due_at=due, policy=policy, now=now)
    session.add(follow_up)
    await session.flush()
    events.record(session, "follow_up.opened", follow_up_payload(follow_up), now=now)
    return follow_up


async def _due_again(
    session: AsyncSession, follow_up: FollowUp, facts: InterviewFacts, policy: FollowUpPolicy
) -> datetime:
    """A follow-up's due time after its interview's facts changed."""
    if follow_up.kind == "candidate_call":
        return follow_up.due_at  # counted from the debrief, not from the interview
    if follow_up.kind == "employer_follow_up" and follow_up.sequence > 1:
        chases = await repository.employer_follow_ups(session, follow_up.interview_id)
        previous = [c.completed_at for c in chases if c.sequence == follow_up.sequence - 1]
        since = previous[0] if previous and previous[0] is not None else follow_up.opened_at
        due = rules.employer_follow_up_again_due(facts.decision_expected_by, since, policy)
        return max(due, facts.ends_at)
    return rules.due_at(follow_up.kind, facts, policy)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------- changes


def _closing(
    status: str, *, at: datetime, by: str, due_at: datetime, now: datetime, reason: str | None
) -> dict[str, Any]:
    """The fields a follow-up closed as done, waived or cancelled takes."""
    return {
        "status": status,
        "completed_at": at,
        "completed_by": by,
        "late": status == "done" and at > due_at,
        "next_notice_at": None,
        "waived_reason": reason,
        "updated_at": now,
    }


async def _finish(
    session: AsyncSession,
    follow_ups: list[FollowUp],
    *,
    status: str,
    at: datetime,
    by: str,
    now: datetime,
    reason: str | None = None,
) -> None:
    """Close follow-ups as done, waived or cancelled, and record their events."""
    were_overdue = {follow_up.id for follow_up in follow_ups if follow_up.status == "overdue"}
    for follow_up in follow_ups:
        values = _closing(status, at=at, by=by, due_at=follow_up.due_at, now=now, reason=reason)
        for name, value in values.items():
            setattr(follow_up, name, value)
    await session.flush()  # bumps versions, so the events carry the new ones
    await debrief_queue.follow_ups_changed(session, follow_ups, were_overdue=were_overdue)
    if status in ("done", "waived"):
        event = "follow_up.completed" if status == "done" else "follow_up.waived"
        for follow_up in follow_ups:
            events.record(session, event, follow_up_payload(follow_up), now=now)


async def complete_kind(
    session: AsyncSession,
    interview_id: uuid.UUID,
    kind: Kind,
    *,
    at: datetime,
    by: str,
    now: datetime,
) -> None:
    """Complete the open follow-up of this kind, if any (late if `at` is after it was due).

    The rows are read, closed and written with two statements on the driver
    (app/db/statements.py), audited and evented as `_finish` does through the ORM; objects
    of them loaded earlier in the transaction are given the new values."""
    rows = await repository.open_of_kind(session, interview_id, kind)
    if not rows:
        return
    # Only an overdue call has a queue row (rule 1); one closed on time costs no statement.
    overdue = [row["id"] for row in rows if row["status"] == "overdue"]
    changes = []
    for row in rows:
        values = _closing("done", at=at, by=by, due_at=row["due_at"], now=now, reason=None)
        changes.append((row["id"], [n for n, v in values.items() if row[n] != v]))
        row.update(values, version=row["version"] + 1)
    await repository.write_closed(session, rows)
    refresh_loaded(session, FollowUp, rows)
    audit.record(session, FollowUp, "update", changes)
    if kind == "debrief_call":
        await debrief_queue.calls_closed(session, overdue)
    for row in rows:
        events.record(session, "follow_up.completed", follow_up_payload(row), now=now)


async def redate(
    session: AsyncSession,
    interview: Interview,
    *,
    policy: FollowUpPolicy,
    now: datetime,
    kinds: tuple[str, ...] | None = None,
    statuses: tuple[str, ...] = OPEN,
) -> None:
    """Recompute the due times of the interview's open follow-ups after it moved or its facts
    changed."""
    follow_ups = await repository.follow_ups_of(
        session, interview.id, statuses=statuses, kinds=kinds
    )
    if not follow_ups:
        return
    facts = await facts_for(session, interview)
    moved, back = [], []
    for follow_up in follow_ups:
        due = await _due_again(session, follow_up, facts, policy)
        ideal = rules.ideal_by(follow_up.kind, facts, policy)  # type: ignore[arg-type]
        reopened = follow_up.status == "cancelled"
        if due == follow_up.due_at and ideal == follow_up.ideal_by and not reopened:
            continue
        moved.append(follow_up)
        if reopened:
            back.append(follow_up)
        follow_up.due_at = due
        follow_up.ideal_by = ideal
        follow_up.updated_at = now
        if reopened or (follow_up.status == "overdue" and due > now):
            # No longer late (or back from a cancellation): start again as pending.
            follow_up.status = "pending"
            follow_up.overdue_at = None
            follow_up.next_notice_at = None
            follow_up.reminders_sent = 0
            follow_up.escalated_at = None
            follow_up.escalated_to = None
            follow_up.completed_at = None
            follow_up.completed_by = None
    await session.flush()
    await debrief_queue.follow_ups_changed(session, moved)
    for follow_up in back:  # as `_reopen` does: one already done is done at once
        done_at = await _already_done(session, follow_up.kind, facts, interview)
        if done_at is not None:
            await _finish(session, [follow_up], status="done", at=done_at, by=SYSTEM, now=now)


async def _reopen(
    session: AsyncSession,
    interview: Interview,
    follow_ups: list[FollowUp],
    facts: InterviewFacts,
    *,
    policy: FollowUpPolicy,
    now: datetime,
) -> None:
    """Open again follow-ups the service had waived, re-dated, each with a new opened event."""
    for follow_up in follow_ups:
        follow_up.status = "pending"
        follow_up.due_at = rules.due_at(follow_up.kind, facts, policy)  # type: ignore[arg-type]
        follow_up.waived_reason = None
        follow_up.completed_at = None
        follow_up.completed_by = None
        follow_up.overdue_at = None
        follow_up.next_notice_at = None
        follow_up.reminders_sent = 0
        follow_up.escalated_at = None
        follow_up.late = False
        follow_up.updated_at = now
    await session.flush()
    for follow_up in follow_ups:
        events.record(session, "follow_up.opened", follow_up_payload(follow_up), now=now)
        done_at = await _already_done(session, follow_up.kind, facts, interview)
        if done_at is not None:  # the debrief came in meanwhile, say
            await _finish(session, [follow_up], status="done", at=done_at, by=SYSTEM, now=now)


async def reconsider(
    session: AsyncSession, interview: Interview, *, policy: FollowUpPolicy, now: datetime
) -> None:
    """Waive the open follow-ups a change closed (the change is the reason, `rules.CLOSES`), and
    open again those the service waived for a change since undone."""
    follow_ups = await repository.follow_ups_of(session, interview.id, statuses=(*OPEN, "waived"))
    if not follow_ups:
        return
    facts = await facts_for(session, interview)
    closed = rules.kinds_closed(facts)
    waive_for: dict[WaiverReason, list[FollowUp]] = {}
    reopen = []
    for follow_up in follow_ups:
        kind: Kind = follow_up.kind  # type: ignore[assignment]
        if follow_up.status in OPEN:
            if kind in closed:
                waive_for.setdefault(closed[kind], []).append(follow_up)
        elif (
            follow_up.completed_by == SYSTEM
            and follow_up.waived_reason is not None
            and rules.reopens(kind, follow_up.waived_reason, facts, now=now, policy=policy)
        ):
            reopen.append(follow_up)
    for reason, group in waive_for.items():
        await _finish(session, group, status="waived", at=now, by=SYSTEM, now=now, reason=reason)
    if reopen:
        await _reopen(session, interview, reopen, facts, policy=policy, now=now)


async def hold_for_candidate_change(session: AsyncSession, candidate_id: uuid.UUID) -> None:
    """Lock the interviews `candidate_changed` will go through, before the candidate's own row
    changes (on PostgreSQL that change locks their open debrief calls for the queue)."""
    await repository.interviews_with_follow_ups_to_reconsider(session, candidate_id)


async def candidate_changed(
    session: AsyncSession, candidate_id: uuid.UUID, *, now: datetime
) -> None:
    """Bring a candidate's follow-ups in line with their status (withdrawn, placed, archived,
    erased, or back to active). The caller holds the candidate's row."""
    interviews = await repository.interviews_with_follow_ups_to_reconsider(session, candidate_id)
    if not interviews:
        return
    policy = await get_policy(session)
    for interview in interviews:
        await reconsider(session, interview, policy=policy, now=now)


async def follow_ups_still_open(session: AsyncSession, interview_id: uuid.UUID) -> list[FollowUp]:
    """The pending and overdue follow-ups of one interview."""
    return await repository.follow_ups_of(session, interview_id, statuses=OPEN)


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
    """Bring an interview's follow-ups in line with a change to it (or its creation)."""
    policy = await get_policy(session)
    changed_set = set(changed)
    if changed_set & {"status", "outcome", "follow_ups_tracked"}:
        await reconsider(session, interview, policy=policy, now=now)
    if interview.status not in ("cancelled", "no_show"):
        if "status" in changed_set:
            # Follow-ups cancelled before waivers had reasons come back too.
            await redate(session, interview, policy=policy, now=now, statuses=("cancelled",))
        if changed_set & (_TIMING | {"decision_expected_by"}):
            await redate(session, interview, policy=policy, now=now)
        if "outcome" in changed_set and interview.outcome not in ("pending", "withdrawn"):
            # The employer has decided. (A withdrawal is the candidate's: the chase is waived.)
            await complete_kind(
                session, interview.id, "employer_follow_up", at=now, by=actor, now=now
            )
        await open_follow_ups(
            session, interview, policy=policy, now=now, mark_completed=mark_completed
        )
    if (interview.stage == "final" or "stage" in changed_set) and (
        created or changed_set & (_TIMING | {"stage", "status"})
    ):
        await _final_changed(
            session, interview, policy=policy, now=now, mark_completed=mark_completed
        )


async def _final_changed(
    session: AsyncSession,
    interview: Interview,
    *,
    policy: FollowUpPolicy,
    now: datetime,
    mark_completed: MarkCompleted,
) -> None:
    """A final was booked, moved, cancelled or is no longer a final: the interviews that lead
    to it re-date their preparation, or open it if the final's own no longer stands for it."""
    pair = (interview.candidate_id, interview.client_id)
    for earlier in await repository.interviews_awaiting_prep(session, *pair):
        await redate(session, earlier, policy=policy, now=now, kinds=("final_round_prep",))
    for earlier in await repository.interviews_leading_to_final_without_prep(session, *pair):
        if earlier.id != interview.id:
            await open_follow_ups(
                session, earlier, policy=policy, now=now, mark_completed=mark_completed
            )


async def debrief_recorded(
    session: AsyncSession,
    interview: DebriefedInterview,
    *,
    first: bool,
    called_at: datetime,
    thank_you_sent_at: datetime | None,
    corrected: Mapping[Kind, datetime] | None = None,
    actor: str,
    now: datetime,
    still_interested: str | None = None,
) -> None:
    """The `first` debrief completes the debrief call when the call took place (late or not);
    a thank-you note completes its follow-up when it was sent; a candidate no longer (surely)
    interested gets a call from their owner. `corrected` holds, by kind, the times the debrief
    said before and now corrects: a follow-up done at the old time is re-timed.

    An amendment looks for no open call: none is open once the interview has a debrief (one
    opened or reopened later is done at once, `_already_done`)."""
    if first:
        await complete_kind(session, interview.id, "debrief_call", at=called_at, by=actor, now=now)
    new_times: dict[Kind, datetime | None] = {
        "debrief_call": called_at,
        "thank_you_note": thank_you_sent_at,
    }
    for kind, was in (corrected or {}).items():
        at = new_times.get(kind)
        if at is not None:
            await _retime(session, interview.id, kind, was=was, at=at, now=now)
    if rules.candidate_is_cooling(still_interested):
        await candidate_cooling(session, interview, policy=await get_policy(session), now=now)
    if thank_you_sent_at is not None:
        await complete_kind(
            session, interview.id, "thank_you_note", at=thank_you_sent_at, by=actor, now=now
        )
        if interview.decision_expected_by is None:
            policy = await get_policy(session)
            loaded = await session.get(Interview, interview.id)  # locked by the debrief already
            assert loaded is not None
            await redate(session, loaded, policy=policy, now=now, kinds=("employer_follow_up",))


async def _retime(
    session: AsyncSession,
    interview_id: uuid.UUID,
    kind: Kind,
    *,
    was: datetime,
    at: datetime,
    now: datetime,
) -> None:
    """A follow-up done at `was` by a time now corrected is done at `at` instead, by the same
    person, late or not by the new time; its `follow_up.completed` is sent again."""
    done = await repository.follow_ups_of(session, interview_id, statuses=("done",), kinds=(kind,))
    for follow_up in done:
        if follow_up.completed_at == was and was != at:
            by = follow_up.completed_by or SYSTEM
            await _finish(session, [follow_up], status="done", at=at, by=by, now=now)


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


async def _open_follow_up(session: AsyncSession, follow_up_id: uuid.UUID) -> FollowUp:
    follow_up = await session.get(FollowUp, follow_up_id, with_for_update=True)
    if follow_up is None:
        raise NotFound(f"There is no follow-up with id {follow_up_id}.")
    if follow_up.status not in OPEN:
        raise Conflict(f"This follow-up is already {follow_up.status}.")
    return follow_up


async def complete(
    *, session: AsyncSession, follow_up_id: uuid.UUID, actor: str, now: datetime
) -> FollowUp:
    """Mark a follow-up done now; it is `late` if past its due time. An employer chase done while
    the decision is still awaited is followed by the next chase (or the escalation)."""
    follow_up = await _open_follow_up(session, follow_up_id)
    await _finish(session, [follow_up], status="done", at=now, by=actor, now=now)
    if follow_up.kind == "employer_follow_up":
        interview = await session.get(Interview, follow_up.interview_id)
        if interview is not None and interview.status not in ("cancelled", "no_show"):
            await _after_employer_follow_up(
                session,
                interview,
                facts=await facts_for(session, interview),
                policy=await get_policy(session),
                now=now,
            )
    return follow_up


async def waive(
    *, session: AsyncSession, follow_up_id: uuid.UUID, reason: str, actor: str, now: datetime
) -> FollowUp:
    """Waive a follow-up that does not apply, with the reason (not for an erased person: the
    reason is free text about them; mark the follow-up done instead)."""
    candidate_id = (
        await session.execute(select(FollowUp.candidate_id).where(FollowUp.id == follow_up_id))
    ).scalar_one_or_none()
    if candidate_id is not None:
        # Share-locked (app/candidates/erased.py): an erasure under way finishes first.
        _, erased_at = await repository.candidate_erased_at(session, candidate_id)
        if erased_at is not None:
            raise CandidateErased(
                f"Candidate {candidate_id} was erased on {erased_at:%Y-%m-%d}; nothing more "
                "is recorded about an erased person."
            )
    follow_up = await _open_follow_up(session, follow_up_id)
    await _finish(session, [follow_up], status="waived", at=now, by=actor, now=now, reason=reason)
    return follow_up
