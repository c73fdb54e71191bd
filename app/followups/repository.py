"""SQL for follow-ups, the policy document, and the sweep's bulk statements."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Table, and_, bindparam, exists, func, or_, select, text, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from app.db.engine import Database
from app.db.queries import AnySelect, read_one, sql_text, where_equal
from app.db.statements import Statement
from app.followups.policy import FollowUpPolicy
from app.followups.rules import OPEN_STATUSES
from app.followups.schemas import COLUMN_FIELDS, DERIVED_FIELDS, TIME_FIELDS
from app.models import (
    Candidate,
    Debrief,
    EmployerFeedback,
    FollowUp,
    Interview,
    Setting,
)

POLICY_KEY = "follow_up_policy"
_follow_ups: Table = FollowUp.__table__  # type: ignore[assignment]


_POLICY_VALUE = Statement(select(Setting.value).where(Setting.key == POLICY_KEY))


async def policy_in(session: AsyncSession) -> FollowUpPolicy:
    """The policy as the transaction sees it (its own change included)."""
    rows = await _POLICY_VALUE.fetch(session)
    return FollowUpPolicy.model_validate(rows[0][0]) if rows else FollowUpPolicy()


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


# The statements a debrief or an interview change runs, built once (bench/statements.py).
_KINDS_OPENED = Statement(
    select(FollowUp.kind).where(FollowUp.interview_id == bindparam("interview_id"))
)
_OF_INTERVIEW = (
    select(FollowUp)
    .where(
        FollowUp.interview_id == bindparam("interview_id"),
        FollowUp.status.in_(bindparam("statuses", expanding=True)),
    )
    .order_by(FollowUp.id)
)
_OF_INTERVIEW_BY_KIND = _OF_INTERVIEW.where(FollowUp.kind.in_(bindparam("kinds", expanding=True)))


async def kinds_opened(session: AsyncSession, interview_id: uuid.UUID) -> set[str]:
    return {row[0] for row in await _KINDS_OPENED.fetch(session, interview_id=interview_id)}


async def follow_ups_of(
    session: AsyncSession,
    interview_id: uuid.UUID,
    *,
    statuses: tuple[str, ...],
    kinds: tuple[str, ...] | None = None,
) -> list[FollowUp]:
    params: dict[str, object] = {"interview_id": interview_id, "statuses": list(statuses)}
    stmt = _OF_INTERVIEW
    if kinds is not None:
        stmt, params["kinds"] = _OF_INTERVIEW_BY_KIND, list(kinds)
    return list((await session.execute(stmt, params)).scalars())


# Closing an interview's open follow-up of one kind (a debrief completing its call) on the
# driver (app/db/statements.py): the rows locked as they are read, then written back.
_OPEN_OF_KIND = Statement(
    select(_follow_ups)
    .where(
        FollowUp.interview_id == bindparam("interview_id"),
        FollowUp.kind == bindparam("kind"),
        FollowUp.status.in_([sql_text(status) for status in OPEN_STATUSES]),
    )
    .order_by(FollowUp.id)
    .with_for_update(key_share=True)
)
CLOSING_FIELDS = (
    "status",
    "completed_at",
    "completed_by",
    "late",
    "next_notice_at",
    "waived_reason",
    "updated_at",
    "version",
)
_CLOSE = Statement(
    update(_follow_ups)
    .where(_follow_ups.c.id == bindparam("b_id"))
    .values({name: bindparam(f"b_{name}") for name in CLOSING_FIELDS})
)


async def open_of_kind(
    session: AsyncSession, interview_id: uuid.UUID, kind: str
) -> list[dict[str, Any]]:
    """The interview's open follow-ups of `kind` as rows, locked until the transaction ends."""
    return await _OPEN_OF_KIND.fetch_dicts(session, interview_id=interview_id, kind=kind)


async def write_closed(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Store the closing fields (`CLOSING_FIELDS`) of these rows, one round trip."""
    await _CLOSE.executemany(
        session,
        [{"b_id": row["id"], **{f"b_{n}": row[n] for n in CLOSING_FIELDS}} for row in rows],
    )


async def employer_follow_ups(session: AsyncSession, interview_id: uuid.UUID) -> list[FollowUp]:
    """The interview's employer chases, first to last."""
    stmt = (
        select(FollowUp)
        .where(FollowUp.interview_id == interview_id, FollowUp.kind == "employer_follow_up")
        .order_by(FollowUp.sequence)
    )
    return list((await session.execute(stmt)).scalars())


async def thank_you_sent_at(session: AsyncSession, interview_id: uuid.UUID) -> datetime | None:
    result = await session.execute(
        select(Debrief.thank_you_sent_at).where(Debrief.interview_id == interview_id)
    )
    return result.scalar_one_or_none()


async def debrief_called_at(session: AsyncSession, interview_id: uuid.UUID) -> datetime | None:
    result = await session.execute(
        select(Debrief.called_at).where(Debrief.interview_id == interview_id)
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
    """Interviews of this candidate and client with an open final-round preparation follow-up."""
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


async def candidate_state(session: AsyncSession, candidate_id: uuid.UUID) -> tuple[str, bool]:
    """The candidate's status, and whether they were erased."""
    row = (
        await session.execute(
            select(Candidate.status, Candidate.erased_at).where(Candidate.id == candidate_id)
        )
    ).one()
    return row.status, row.erased_at is not None


async def candidate_erased_at(
    session: AsyncSession, candidate_id: uuid.UUID
) -> tuple[bool, datetime | None]:
    """Whether the candidate exists, and when they were erased; share-locked, so an erasure
    under way finishes first (the lock order of app/candidates/erased.py)."""
    stmt = (
        select(Candidate.erased_at).where(Candidate.id == candidate_id).with_for_update(read=True)
    )
    row = (await session.execute(stmt)).one_or_none()
    return (row is not None), (row.erased_at if row is not None else None)


def _live_prep(follow_up: Any) -> Any:
    """A final-round preparation follow-up that stands for its final: open, done, or waived by
    hand (a waiver by the service means it no longer applies)."""
    return and_(
        follow_up.kind == "final_round_prep",
        or_(
            follow_up.status.in_(("pending", "overdue", "done")),
            and_(follow_up.status == "waived", follow_up.completed_by != "system"),
        ),
    )


async def lock_final_prep(session: AsyncSession, interview: Interview) -> None:
    """PostgreSQL: one transaction at a time decides on final-round preparation for one
    candidate and employer, so two never both open one for the same final (SQLite has one
    writer at a time already)."""
    if session.get_bind().dialect.name != "postgresql":
        return
    name = f"final_round_prep:{interview.candidate_id}:{interview.client_id}"
    await session.execute(
        text("SELECT pg_advisory_xact_lock(hashtextextended(:name, 0))"), {"name": name}
    )


async def final_prep_elsewhere(session: AsyncSession, interview: Interview) -> bool:
    """Whether the final this interview would prepare for has a preparation follow-up elsewhere.

    An interview that leads to a final (`next_round` to `final`): its next scheduled final
    with the client has one of its own. A final: an earlier interview of the candidate with
    the client led to it (no other final between them) and has one."""
    same_pair = (
        Interview.candidate_id == interview.candidate_id,
        Interview.client_id == interview.client_id,
    )
    follow_up = aliased(FollowUp)
    if interview.outcome == "next_round" and interview.next_stage == "final":
        next_final = (
            select(Interview.id)
            .where(
                *same_pair,
                Interview.stage == "final",
                Interview.status == "scheduled",
                Interview.starts_at >= interview.ends_at,
                Interview.id != interview.id,
            )
            .order_by(Interview.starts_at, Interview.id)
            .limit(1)
            .scalar_subquery()
        )
        stmt = select(follow_up.id).where(
            follow_up.interview_id == next_final, _live_prep(follow_up)
        )
        return (await session.execute(stmt.limit(1))).first() is not None
    earlier = aliased(Interview)
    between = aliased(Interview)
    stmt = (
        select(earlier.id)
        .join(follow_up, follow_up.interview_id == earlier.id)
        .where(
            earlier.candidate_id == interview.candidate_id,
            earlier.client_id == interview.client_id,
            earlier.id != interview.id,
            earlier.outcome == "next_round",
            earlier.next_stage == "final",
            earlier.ends_at <= interview.starts_at,
            _live_prep(follow_up),
            ~exists().where(
                between.candidate_id == interview.candidate_id,
                between.client_id == interview.client_id,
                between.stage == "final",
                between.status.in_(("scheduled", "completed")),
                between.id.not_in((interview.id, earlier.id)),
                between.starts_at >= earlier.ends_at,
                between.starts_at < interview.starts_at,
            ),
        )
        .limit(1)
    )
    return (await session.execute(stmt)).first() is not None


async def interviews_leading_to_final_without_prep(
    session: AsyncSession, candidate_id: uuid.UUID, client_id: uuid.UUID
) -> list[Interview]:
    """Interviews of this candidate and client whose outcome leads to a final and that have
    no preparation follow-up (a final's own one stood for theirs)."""
    stmt = select(Interview).where(
        Interview.candidate_id == candidate_id,
        Interview.client_id == client_id,
        Interview.outcome == "next_round",
        Interview.next_stage == "final",
        ~exists().where(FollowUp.interview_id == Interview.id, FollowUp.kind == "final_round_prep"),
    )
    return list((await session.execute(stmt)).scalars())


async def interviews_with_follow_ups_to_reconsider(
    session: AsyncSession, candidate_id: uuid.UUID
) -> list[Interview]:
    """A candidate's interviews with open follow-ups, or follow-ups the service waived (locked)."""
    stmt = (
        select(Interview)
        .where(
            Interview.candidate_id == candidate_id,
            exists().where(
                FollowUp.interview_id == Interview.id,
                or_(
                    FollowUp.status.in_(("pending", "overdue")),
                    and_(FollowUp.status == "waived", FollowUp.completed_by == "system"),
                ),
            ),
        )
        .order_by(Interview.id)
        .with_for_update()
    )
    return list((await session.execute(stmt)).scalars())


async def ended_interviews_awaiting_follow_ups(
    session: AsyncSession, now: datetime, limit: int
) -> list[Interview]:
    """Ended interviews whose follow-ups are not open yet (locked; other sweepers skip them)."""
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
    """The reminder intervals (working days) among follow-ups that are pending and past due
    (usually one)."""
    stmt = (
        select(_follow_ups.c.reminder_interval_days)
        .where(_follow_ups.c.status == "pending", _follow_ups.c.due_at <= now)
        .distinct()
    )
    return list((await session.execute(stmt)).scalars())


async def flag_overdue(
    session: AsyncSession, *, now: datetime, interval_days: int, first_notice_at: datetime
) -> list[RowMapping]:
    """Mark every pending follow-up past its due time overdue, once; returns the flagged rows."""
    stmt = (
        update(_follow_ups)
        .where(
            _follow_ups.c.status == "pending",
            _follow_ups.c.due_at <= now,
            _follow_ups.c.reminder_interval_days == interval_days,
        )
        .values(
            status="overdue",
            overdue_at=now,
            next_notice_at=first_notice_at,
            updated_at=now,
            version=_follow_ups.c.version + 1,
        )
        .returning(*_follow_ups.c)
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


# What the API shows but does not store, as `rules.next_reminder_at` computes it.
_DERIVED_SQL = {
    "next_reminder_at": "CASE WHEN status = 'overdue' AND reminders_sent < max_reminders "
    f"THEN {_iso_utc_sql('next_notice_at')} END",
}
if set(_DERIVED_SQL) != DERIVED_FIELDS:
    raise RuntimeError("every derived field of a follow-up needs its SQL here")
_PAYLOAD_SQL = ", ".join(
    [f"'{name}', {_iso_utc_sql(name) if name in TIME_FIELDS else name}" for name in COLUMN_FIELDS]
    + [f"'{name}', {sql}" for name, sql in _DERIVED_SQL.items()]
)
# One statement flags the follow-ups and writes their events: no row travels to Python and back.
# The event-order lock is taken inside it, after the UPDATE has finished (the `ordered` CTE
# reads every flagged row first) and before any event row gets its `seq` (the ORDER BY sorts
# the whole result before the first insert). So `seq` follows commit order, and the sweep never
# waits for a row while holding the lock that committing API requests wait for. The follow-ups are
# locked in id order first (`due`), as every writer locking several debrief calls does
# (app/debrief_queue), so two such writers never wait for each other.
_FLAG_WITH_EVENTS_SQL = text(f"""
WITH due AS (
    SELECT id FROM follow_ups
     WHERE status = 'pending' AND due_at <= :now AND reminder_interval_days = :interval_days
     ORDER BY id FOR NO KEY UPDATE
), flagged AS (
    UPDATE follow_ups
       SET status = 'overdue', overdue_at = :now, next_notice_at = :first_notice_at,
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


async def flag_overdue_with_events(
    session: AsyncSession,
    *,
    now: datetime,
    interval_days: int,
    first_notice_at: datetime,
    order_lock: int,
) -> int:
    """PostgreSQL: flag every pending follow-up past due with this reminder interval and insert its
    event, in one statement, under the event writers' `order_lock`."""
    result = await session.execute(
        _FLAG_WITH_EVENTS_SQL,
        {
            "now": now,
            "interval_days": interval_days,
            "first_notice_at": first_notice_at,
            "order_lock": order_lock,
        },
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


async def follow_ups_needing_notice(
    session: AsyncSession, now: datetime, limit: int
) -> list[FollowUp]:
    """Overdue follow-ups whose next reminder or escalation is due, and done last chases whose
    escalation is (`next_notice_at` is set on no other follow-up)."""
    stmt = (
        select(FollowUp)
        .where(FollowUp.next_notice_at <= now)
        .order_by(FollowUp.next_notice_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list((await session.execute(stmt)).scalars())


async def candidate_status(session: AsyncSession, candidate_id: uuid.UUID) -> str | None:
    """The candidate's status; None once erased."""
    result = await session.execute(
        select(Candidate.status).where(Candidate.id == candidate_id, Candidate.erased_at.is_(None))
    )
    return result.scalar_one_or_none()


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
    escalated_to: uuid.UUID | None = None,
) -> AnySelect:
    stmt = where_equal(
        select(_follow_ups),
        (_follow_ups.c.status, status),
        (_follow_ups.c.kind, kind),
        (_follow_ups.c.candidate_id, candidate_id),
        (_follow_ups.c.interview_id, interview_id),
        (_follow_ups.c.escalated_to, escalated_to),
    )
    if owner_id is not None:
        stmt = stmt.join(Candidate, Candidate.id == _follow_ups.c.candidate_id).where(
            Candidate.owner_id == owner_id
        )
    if due_before is not None:
        stmt = stmt.where(_follow_ups.c.due_at < due_before)
    return stmt
