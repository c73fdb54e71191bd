"""Recording events: rows in the outbox, written in the transaction that caused them.

Events are queued on the session and inserted just before COMMIT under a transaction-level
lock (PostgreSQL), so their `seq` numbers follow commit order: a reader paging by `seq`
never finds a gap filled in later, and a rolled-back change leaves no event.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.transaction import add_post_commit_hook, add_pre_commit_hook
from app.db.unit_of_work import unit_of_work
from app.ids import uuid7
from app.models import Event

# pg_advisory_xact_lock key serialising event writers from their insert to their commit.
EVENT_ORDER_LOCK = 0x44_45_42_52  # "DEBR"

EVENT_TYPES = (
    "candidate.created",
    "candidate.updated",
    "candidate.erased",
    "interview.scheduled",
    "interview.updated",
    "interview.cancelled",
    "interview.completed",
    "interview.outcome_recorded",
    "debrief.received",
    "employer_feedback.received",
    "follow_up.opened",
    "follow_up.overdue",
    "follow_up.reminder",
    "follow_up.escalated",
    "follow_up.completed",
    "follow_up.waived",
)


def subject_of(data: dict[str, Any]) -> uuid.UUID | None:
    """The candidate an event's data is about (each payload names them in one of these)."""
    for holder, key in (
        ("candidate", "id"),
        ("interview", "candidate_id"),
        ("follow_up", "candidate_id"),
    ):
        if isinstance(data.get(holder), dict) and data[holder].get(key):
            return uuid.UUID(str(data[holder][key]))
    return uuid.UUID(str(data["candidate_id"])) if data.get("candidate_id") else None


# PostgreSQL: the order lock, then the events in the order they were recorded (so their `seq`
# numbers follow it), from one JSON array; `seq` is drawn as each row is inserted, after the
# lock is held.
_INSERT_IN_ORDER = text("""
WITH ordered AS (SELECT pg_advisory_xact_lock(:order_lock))
INSERT INTO events (id, type, occurred_at, data, candidate_id)
SELECT e.id, e.type, e.occurred_at, e.data, e.candidate_id
  FROM ordered
 CROSS JOIN ROWS FROM (
       jsonb_to_recordset(CAST(:rows AS jsonb))
           AS (id uuid, type text, occurred_at timestamptz, data jsonb, candidate_id uuid)
       ) WITH ORDINALITY AS e(id, type, occurred_at, data, candidate_id, n)
 ORDER BY e.n
""")


def record(
    session: AsyncSession, event_type: str, data: dict[str, Any], *, now: datetime
) -> uuid.UUID:
    """Queue an event for this transaction; `data` must be JSON-ready."""
    assert event_type in EVENT_TYPES, event_type
    event_id = uuid7()
    unit_of_work(session).events.append(
        {
            "id": event_id,
            "type": event_type,
            "occurred_at": now,
            "data": data,
            "candidate_id": subject_of(data),
        }
    )
    add_pre_commit_hook(session, _write_pending)
    return event_id


def record_many(
    session: AsyncSession, event_type: str, payloads: Iterable[dict[str, Any]], *, now: datetime
) -> int:
    count = 0
    for data in payloads:
        record(session, event_type, data, now=now)
        count += 1
    return count


async def take_order_lock(session: AsyncSession) -> None:
    """Serialise event writers until commit, so `seq` order is commit order (PostgreSQL)."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": EVENT_ORDER_LOCK})


async def _write_pending(session: AsyncSession) -> None:
    work = unit_of_work(session)
    pending, work.events = work.events, []
    if not pending:
        return
    for observe in work.event_observers:
        await observe(session, pending)
    if session.get_bind().dialect.name == "postgresql":
        # The lock and the rows in one statement: the lock is held from here to COMMIT, one
        # round trip shorter than taking it first (every event writer queues on it).
        rows = orjson.dumps(pending).decode()
        await session.execute(_INSERT_IN_ORDER, {"order_lock": EVENT_ORDER_LOCK, "rows": rows})
    else:
        await session.execute(insert(Event), pending)
    # Wakes the webhook sender of the app that wrote them.
    add_post_commit_hook(session, work.events_committed.notify)


def checkpoint(session: AsyncSession) -> int:
    """How many events are queued now; `rewind` drops those queued after (a savepoint undone)."""
    return len(unit_of_work(session).events)


def rewind(session: AsyncSession, checkpoint: int) -> None:
    del unit_of_work(session).events[checkpoint:]
