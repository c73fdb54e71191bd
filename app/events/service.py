"""Recording events, and the outbox that writes them in the transaction that caused them.

Events are queued on the unit of work and inserted just before COMMIT under a
transaction-level lock (PostgreSQL), so their `seq` numbers follow commit order: a reader
paging by `seq` never finds a gap filled in later, and a rolled-back change leaves no event.
The transaction's audit rows (app/audit/service.py queues them as it flushes) go out with
them, in the same statement on PostgreSQL: one round trip for both.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.engine import dump_json
from app.db.slices import tick
from app.db.statements import Statement
from app.db.transaction import add_post_commit_hook, add_pre_commit_hook
from app.db.unit_of_work import unit_of_work
from app.ids import uuid7
from app.models import AuditEntry, Event

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


def record(
    session: AsyncSession, event_type: str, data: dict[str, Any], *, now: datetime
) -> uuid.UUID:
    """Queue an event for this transaction; `data` must be JSON-ready."""
    assert event_type in EVENT_TYPES, event_type
    if now.tzinfo is None:  # as `UTCDateTime` refuses it: the rows skip its check on PostgreSQL
        raise ValueError("naive datetimes are not stored; give a time zone")
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
    add_pre_commit_hook(session, write_pending)
    return event_id


def record_many(
    session: AsyncSession, event_type: str, payloads: Iterable[dict[str, Any]], *, now: datetime
) -> int:
    count = 0
    for data in payloads:
        record(session, event_type, data, now=now)
        count += 1
    return count


_COLUMNS = ("id", "type", "occurred_at", "data", "candidate_id")
_AUDIT_COLUMNS = tuple(c.name for c in AuditEntry.__table__.c)  # an audit row gives each
# SQLite: one writer at a time already; `inline`: no RETURNING of the `seq` nobody reads.
_INSERT = Statement(insert(Event).values({c: bindparam(c) for c in _COLUMNS}).inline())
_INSERT_AUDIT = Statement(
    insert(AuditEntry).values({c: bindparam(c) for c in _AUDIT_COLUMNS}).inline()
)
# PostgreSQL: the feed's order lock, the audit rows and the events in one statement, one
# round trip. The lock is taken before the first event draws its `seq`: every event comes out
# of a join with the CTE that takes it, which runs once, on the first row's way out; the
# events keep their order. A data-modifying CTE runs whether or not it is read.
# The rows go as two JSON documents, one for each table, unpacked by the server: asyncpg
# would encode an array a column element by element, about 5 ms for a bulk call's 1,000
# events and 1,000 audit rows without handing the event loop back (app/db/slices.py); a
# document is written a row at a time here (`_document`) and sent as it is.
_AUDITED = (
    "audited AS (INSERT INTO audit_entries "
    "(id, occurred_at, actor, action, object_type, object_id, fields, request_id) "
    "SELECT CAST(a->>'id' AS uuid), CAST(a->>'occurred_at' AS timestamptz), a->>'actor', "
    "a->>'action', a->>'object_type', a->>'object_id', a->'fields', a->>'request_id' "
    "FROM jsonb_array_elements(CAST(:audit AS jsonb)) AS a)"
)
_LOCKED_INSERT = Statement(
    text(
        f"WITH ordered AS MATERIALIZED (SELECT pg_advisory_xact_lock(:key)), {_AUDITED} "  # noqa: S608 (constants only)
        "INSERT INTO events (id, type, occurred_at, data, candidate_id) "
        "SELECT CAST(e->>'id' AS uuid), e->>'type', CAST(e->>'occurred_at' AS timestamptz), "
        "e->'data', CAST(e->>'candidate_id' AS uuid) FROM ordered, "
        "jsonb_array_elements(CAST(:events AS jsonb)) WITH ORDINALITY AS x(e, n) ORDER BY x.n"
    )
)
# PostgreSQL, a transaction with audit rows and no events: no lock to take.
_AUDIT_ONLY = Statement(text(f"WITH {_AUDITED} SELECT 1"))


async def _document(rows: list[dict[str, Any]]) -> str:
    """`rows` as one JSON array, written a row at a time, handing the event loop back between
    rows (app/db/slices.py). Times keep their offset and microseconds, ids are written as
    text; the server casts both back."""
    parts = []
    for row in rows:
        await tick()
        parts.append(dump_json(row))
    return f"[{','.join(parts)}]"


async def write_pending(session: AsyncSession) -> None:
    """The outbox: the transaction's events, in the order they were recorded, and its audit
    rows, just before COMMIT (`app.db.transaction.commit` runs it after the last flush). On
    PostgreSQL the events go under the feed's order lock (`EVENT_ORDER_LOCK`), so `seq` order
    is commit order."""
    work = unit_of_work(session)
    pending, work.events = work.events, []
    for observe in work.event_observers if pending else ():
        await observe(session, pending)
    audit, work.audit = work.audit, []
    if not (pending or audit):
        return
    if session.get_bind().dialect.name != "postgresql":
        if audit:
            await _INSERT_AUDIT.executemany(session, audit)
        if pending:
            await _INSERT.executemany(session, pending)
    elif pending:
        await _LOCKED_INSERT.fetch(
            session,
            key=EVENT_ORDER_LOCK,
            events=await _document(pending),
            audit=await _document(audit),
        )
    else:
        await _AUDIT_ONLY.fetch(session, audit=await _document(audit))
    if pending:  # wakes the webhook sender of the app that wrote them
        add_post_commit_hook(session, work.events_committed.notify)
