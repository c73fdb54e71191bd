"""The overdue queue's invariant, checked against the tables (app/debrief_queue): its rows are
exactly the overdue debrief calls, each equal to the join of the call with its candidate,
interview and client. `tests/conftest.py` checks it after every test of the suite."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from app.db.engine import Database
from app.models import Candidate, Client, DebriefQueueEntry, FollowUp, Interview


async def queue_rows(db: Database) -> list[tuple[Any, ...]]:
    q = DebriefQueueEntry.__table__.c
    async with db.read_engine.connect() as conn:
        rows = await conn.execute(select(DebriefQueueEntry.__table__).order_by(q.follow_up_id))
        return [tuple(r) for r in rows]


async def joined_rows(db: Database) -> list[tuple[Any, ...]]:
    """What the queue should hold: the overdue debrief calls joined with what they show."""
    stmt = (
        select(
            FollowUp.id,
            FollowUp.due_at,
            FollowUp.reminders_sent,
            FollowUp.max_reminders,
            FollowUp.next_notice_at,
            Candidate.id,
            Candidate.full_name,
            Candidate.phone,
            Candidate.owner_id,
            Interview.id,
            Interview.job_title,
            Interview.ends_at,
            Client.id,
            Client.name,
        )
        .join(Interview, Interview.id == FollowUp.interview_id)
        .join(Candidate, Candidate.id == FollowUp.candidate_id)
        .join(Client, Client.id == Interview.client_id)
        .where(FollowUp.status == "overdue", FollowUp.kind == "debrief_call")
        .order_by(FollowUp.id)
    )
    async with db.read_engine.connect() as conn:
        return [tuple(r) for r in await conn.execute(stmt)]


async def assert_in_follow_up(db: Database) -> None:
    assert await queue_rows(db) == await joined_rows(db)
