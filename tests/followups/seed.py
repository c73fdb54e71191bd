"""Many past-due follow-ups at once, written straight to the database (the API would be slow)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import func, insert, select

from app.db.engine import Database
from app.ids import uuid7
from app.models import Candidate, Client, Event, FollowUp, Interview


async def seed_past_due_follow_ups(db: Database, *, count: int, now: datetime) -> None:
    """`count` pending debrief calls, each on its own interview, all due before `now`."""
    ends = now - timedelta(days=2)
    client_id = uuid7()
    candidates, interviews, follow_ups = [], [], []
    for i in range(count):
        candidate_id, interview_id = uuid7(), uuid7()
        candidates.append(
            {
                "id": candidate_id,
                "full_name": f"Seed {i}",
                "status": "active",
                "job_search_active": True,
                "created_at": now,
                "updated_at": now,
                "version": 1,
            }
        )
        interviews.append(
            {
                "id": interview_id,
                "candidate_id": candidate_id,
                "client_id": client_id,
                "job_title": "Analyst",
                "stage": "first",
                "format": "video",
                "starts_at": ends - timedelta(hours=1),
                "ends_at": ends,
                "duration_minutes": 60,
                "interviewers": [],
                "status": "completed",
                "outcome": "pending",
                "follow_ups_opened_at": ends,
                "created_at": now,
                "updated_at": now,
                "version": 1,
            }
        )
        follow_ups.append(
            {
                "id": uuid7(),
                "interview_id": interview_id,
                "candidate_id": candidate_id,
                "kind": "debrief_call",
                "status": "pending",
                "due_at": ends + timedelta(hours=8),
                "opened_at": ends,
                "late": False,
                "reminders_sent": 0,
                "reminder_interval_days": 2,
                "max_reminders": 3,
                "created_at": now,
                "updated_at": now,
                "version": 1,
            }
        )
    async with db.engine.begin() as conn:
        await conn.execute(
            insert(Client.__table__),
            [
                {
                    "id": client_id,
                    "name": "Seed Ltd",
                    "created_at": now,
                    "updated_at": now,
                    "version": 1,
                }
            ],
        )
        for table, rows in (
            (Candidate, candidates),
            (Interview, interviews),
            (FollowUp, follow_ups),
        ):
            for start in range(0, len(rows), 5000):
                await conn.execute(insert(table.__table__), rows[start : start + 5000])


async def overdue_state(db: Database) -> tuple[set[uuid.UUID], list[str]]:
    """The follow-ups flagged overdue, and the follow-up ids of every follow_up.overdue event."""
    async with db.read_engine.connect() as conn:
        flagged = set(
            (await conn.execute(select(FollowUp.id).where(FollowUp.status == "overdue"))).scalars()
        )
        events = (
            await conn.execute(select(Event.data).where(Event.type == "follow_up.overdue"))
        ).scalars()
        return flagged, [e["follow_up"]["id"] for e in events]


async def count_events(db: Database) -> int:
    async with db.read_engine.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(Event))).scalar_one())
