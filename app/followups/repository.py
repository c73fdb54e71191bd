"""SQL for follow-up steps, the policy document, and the sweep's bulk statements."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Table, func, select, text, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.engine import Database
from app.db.queries import AnySelect, read_one, where_equal
from app.followups.policy import FollowUpPolicy
from app.followups.schemas import FOLLOW_UP_FIELDS, TIME_FIELDS
from app.models import (
    Candidate,
    Debrief,
    EmployerFeedback,
    FollowUp,
    Interview,
    Setting,
)

POLICY_KEY = "follow_up_policy"
_steps: Table = FollowUp.__table__  # type: ignore[assignment]


async def load_policy(session: AsyncSession) -> tuple[FollowUpPolicy, Setting | None]:
    row = await session.get(Setting, POLICY_KEY)
    policy = FollowUpPolicy.model_validate(row.value) if row else FollowUpPolicy()
    return policy, row


async def read_policy(db: Database) -> tuple[FollowUpPolicy, int, datetime | None]:
    """The policy through the read engine, with its version (0 while never changed)."""
    row = await read_one(
        db,
        select(Setting.value, Setting.version, Setting.updated_at).where(Setting.key == POLICY_KEY),
    )
    if row is None:
        return FollowUpPolicy(), 0, None
    return FollowUpPolicy.model_validate(row["value"]), row["version"], row["updated_at"]


async def kinds_opened(session: AsyncSession, interview_id: uuid.UUID) -> set[str]:
    result = await session.execute(
        select(FollowUp.kind).where(FollowUp.interview_id == interview_id)
    )
    return set(result.scalars())


async def steps_of(
    session: AsyncSession,
    interview_id: uuid.UUID,
    *,
    statuses: tuple[str, ...],
    kinds: tuple[str, ...] | None = None,
) -> list[FollowUp]:
    stmt = select(FollowUp).where(
        FollowUp.interview_id == interview_id, FollowUp.status.in_(statuses)
    )
    if kinds is not None:
        stmt = stmt.where(FollowUp.kind.in_(kinds))
    return list((await session.execute(stmt.order_by(FollowUp.id))).scalars())


async def thank_you_sent_at(session: AsyncSession, interview_id: uuid.UUID) -> datetime | None:
    result = await session.execute(
        select(Debrief.thank_you_sent_at).where(Debrief.interview_id == interview_id)
    )
    return result.scalar_one_or_none()


async def debrief_received_at(session: AsyncSession, interview_id: uuid.UUID) -> datetime | None:
    result = await session.execute(
        select(Debrief.received_at).where(Debrief.interview_id == interview_id)
    )
    return result.scalar_one_or_none()


async def feedback_relayed_at(session: AsyncSession, interview_id: uuid.UUID) -> datetime | None:
    result = await session.execute(
        select(func.min(EmployerFeedback.relayed_to_candidate_at)).where(
            EmployerFeedback.interview_id == interview_id
        )
    )
    return result.scalar_one_or_none()


async def next_final_start(session: AsyncSession, interview: Interview) -> datetime | None:
    """The start of the candidate's next scheduled final interview with the same client."""
    result = await session.execute(
        select(func.min(Interview.starts_at)).where(
            Interview.candidate_id == interview.candidate_id,
            Interview.client_id == interview.client_id,
            Interview.stage == "final",
            Interview.status == "scheduled",
            Interview.starts_at >= interview.ends_at,
            Interview.id != interview.id,
        )
    )
    return result.scalar_one_or_none()


async def interviews_awaiting_prep(
    session: AsyncSession, candidate_id: uuid.UUID, client_id: uuid.UUID
) -> list[Interview]:
    """Interviews of this candidate and client with an open final-round preparation step."""
    stmt = (
        select(Interview)
        .join(FollowUp, FollowUp.interview_id == Interview.id)
        .where(
            Interview.candidate_id == candidate_id,
            Interview.client_id == client_id,
            FollowUp.kind == "final_round_prep",
            FollowUp.status.in_(("pending", "overdue")),
        )
    )
    return list((await session.execute(stmt)).scalars())


async def ended_interviews_awaiting_steps(
    session: AsyncSession, now: datetime, limit: int
) -> list[Interview]:
    """Ended interviews whose steps are not open yet (locked; other sweepers skip them)."""
    stmt = (
        select(Interview)
        .where(Interview.ends_at <= now, Interview.follow_ups_opened_at.is_(None))
        .where(Interview.status.in_(("scheduled", "completed")))
        .order_by(Interview.ends_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list((await session.execute(stmt)).scalars())


async def intervals_due(session: AsyncSession, now: datetime) -> list[int]:
    """The reminder intervals among steps that are pending and past due (usually one)."""
    stmt = (
        select(_steps.c.reminder_interval_seconds)
        .where(_steps.c.status == "pending", _steps.c.due_at <= now)
        .distinct()
    )
    return list((await session.execute(stmt)).scalars())


async def flag_overdue(
    session: AsyncSession, *, now: datetime, interval_seconds: int, first_notice_at: datetime
) -> list[RowMapping]:
    """Mark every pending step past its due time overdue, once; returns the flagged rows."""
    stmt = (
        update(_steps)
        .where(
            _steps.c.status == "pending",
            _steps.c.due_at <= now,
            _steps.c.reminder_interval_seconds == interval_seconds,
        )
        .values(
            status="overdue",
            overdue_at=now,
            next_notice_at=first_notice_at,
            updated_at=now,
            version=_steps.c.version + 1,
        )
        .returning(*_steps.c)
    )
    return list((await session.execute(stmt)).mappings().all())


def _iso_utc_sql(column: str) -> str:
    """PostgreSQL text for a timestamp exactly as the API writes it: 2026-03-04T10:00:00Z,
    with six digits of microseconds only when there are some."""
    return (
        f"CASE WHEN {column} IS NULL THEN NULL ELSE "
        f"to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS') || "
        f"CASE WHEN extract(microseconds FROM {column})::bigint % 1000000 = 0 THEN '' "
        f"ELSE to_char({column} AT TIME ZONE 'UTC', '.US') END || 'Z' END"
    )


_PAYLOAD_SQL = ", ".join(
    f"'{name}', {_iso_utc_sql(name) if name in TIME_FIELDS else name}" for name in FOLLOW_UP_FIELDS
)
# One statement flags the steps and writes their events: no row travels to Python and back.
# The event-order lock is taken inside it, after the UPDATE has finished (the `ordered` CTE
# reads every flagged row first) and before any event row gets its `seq` (the ORDER BY sorts
# the whole result before the first insert). So `seq` follows commit order, and the sweep never
# waits for a row while holding the lock that committing API requests wait for. The steps are
# locked in id order first (`due`), as every writer locking several debrief calls does
# (app/debrief_queue), so two such writers never wait for each other.
_FLAG_WITH_EVENTS_SQL = text(f"""
WITH due AS (
    SELECT id FROM follow_ups WHERE status = 'pending' AND due_at <= :now
     ORDER BY id FOR NO KEY UPDATE
), flagged AS (
    UPDATE follow_ups
       SET status = 'overdue', overdue_at = :now,
           next_notice_at = :now + make_interval(secs => reminder_interval_seconds),
           updated_at = :now, version = version + 1
      FROM due
     WHERE follow_ups.id = due.id AND follow_ups.status = 'pending'
    RETURNING follow_ups.*
), ordered AS (
    SELECT pg_advisory_xact_lock(:order_lock) FROM (SELECT count(*) FROM flagged) AS done
)
INSERT INTO events (id, type, occurred_at, data, candidate_id)
SELECT gen_random_uuid(), 'follow_up.overdue', :now,
       jsonb_build_object('follow_up', jsonb_build_object({_PAYLOAD_SQL})), flagged.candidate_id
  FROM flagged CROSS JOIN ordered
 ORDER BY flagged.due_at, flagged.id
""")  # noqa: S608 - assembled from constants, never from input


async def flag_overdue_with_events(session: AsyncSession, *, now: datetime, order_lock: int) -> int:
    """PostgreSQL: flag every pending step past due and insert its event, in one statement,
    under the event writers' `order_lock`. The first notice comes one of the step's own
    reminder intervals later."""
    result = await session.execute(_FLAG_WITH_EVENTS_SQL, {"now": now, "order_lock": order_lock})
    return int(result.rowcount)  # type: ignore[attr-defined]


async def steps_needing_notice(session: AsyncSession, now: datetime, limit: int) -> list[FollowUp]:
    stmt = (
        select(FollowUp)
        .where(FollowUp.status == "overdue", FollowUp.next_notice_at <= now)
        .order_by(FollowUp.next_notice_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list((await session.execute(stmt)).scalars())


async def owner_of(session: AsyncSession, candidate_id: uuid.UUID) -> uuid.UUID | None:
    result = await session.execute(select(Candidate.owner_id).where(Candidate.id == candidate_id))
    return result.scalar_one_or_none()


def select_follow_ups(
    *,
    status: str | None = None,
    kind: str | None = None,
    owner_id: uuid.UUID | None = None,
    candidate_id: uuid.UUID | None = None,
    interview_id: uuid.UUID | None = None,
    due_before: datetime | None = None,
) -> AnySelect:
    stmt = where_equal(
        select(_steps),
        (_steps.c.status, status),
        (_steps.c.kind, kind),
        (_steps.c.candidate_id, candidate_id),
        (_steps.c.interview_id, interview_id),
    )
    if owner_id is not None:
        stmt = stmt.join(Candidate, Candidate.id == _steps.c.candidate_id).where(
            Candidate.owner_id == owner_id
        )
    if due_before is not None:
        stmt = stmt.where(_steps.c.due_at < due_before)
    return stmt
