"""SQL for the recruiters' board: what is overdue or due today, with who to call."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, case, delete, func, or_, select, union_all
from sqlalchemy.engine import RowMapping
from sqlalchemy.orm import aliased

from app.db.engine import Database
from app.db.queries import AnySelect, read_all, read_one, sql_text, where_equal
from app.db.transaction import transaction
from app.models import (
    ApiKey,
    BoardSession,
    Candidate,
    Client,
    DebriefQueueEntry,
    EmployerFeedback,
    FollowUp,
    Interview,
    Staff,
)

LIMIT = 300
# Rows a section of the board shows at a time; the rest are on its further pages.
PAGE = 50
# Written into the SQL, not bound, so the partial indexes of open follow-ups serve the board
# (`sql_text` says why).
_CALL = sql_text("debrief_call")
_OVERDUE = sql_text("overdue")
_PENDING = sql_text("pending")
_OPEN = (_PENDING, _OVERDUE)
_queue = DebriefQueueEntry.__table__.c


async def overdue_calls(
    db: Database,
    *,
    me: uuid.UUID | None,
    owner_id: uuid.UUID | None,
    client_id: uuid.UUID | None,
    page: int,
) -> tuple[list[RowMapping], int]:
    """Who has not called in: the overdue debrief calls, read from the queue's own table (a row
    per overdue call with what the board shows, kept by `app/debrief_queue`). `me`'s candidates
    first, then the most overdue first; one page of them, and how many there are."""
    stmt = select(
        _queue.follow_up_id.label("id"),
        _queue.due_at,
        _queue.reminders_sent,
        _queue.max_reminders,
        _queue.next_notice_at,
        _queue.interview_id,
        _queue.job_title,
        _queue.ends_at,
        _queue.candidate_id,
        _queue.full_name,
        _queue.phone,
        _queue.owner_id,
        _queue.client_name,
    )
    stmt = where_equal(stmt, (_queue.owner_id, owner_id), (_queue.client_id, client_id))
    order = [*_mine_first(_queue.owner_id, me, owner_id), _queue.due_at, _queue.follow_up_id]
    return await _page(db, stmt, order, page)


async def other_work(
    db: Database,
    *,
    due_by: datetime,
    me: uuid.UUID | None,
    owner_id: uuid.UUID | None,
    client_id: uuid.UUID | None,
    page: int,
) -> tuple[list[RowMapping], int]:
    """Every other open follow-up that is overdue, or pending and due by `due_by`: `me`'s
    candidates first, then the earliest due; one page of them, and how many there are. With
    a relay of the employer's feedback, the feedback staff may send on word for word
    (`relay_feedback_id`: allowed by the employer, not yet relayed, with words in it)."""
    fields = (
        FollowUp.id,
        FollowUp.interview_id,
        FollowUp.candidate_id,
        FollowUp.kind,
        FollowUp.sequence,
        FollowUp.status,
        FollowUp.due_at,
        FollowUp.reminders_sent,
        FollowUp.max_reminders,
        FollowUp.next_notice_at,
    )
    # Two ranges of two partial indexes, not one scan of every follow-up.
    due = union_all(
        select(*fields).where(FollowUp.status == _OVERDUE, FollowUp.kind != _CALL),
        select(*fields).where(FollowUp.status == _PENDING, FollowUp.due_at <= due_by),
    ).subquery("due")
    relayable = (
        select(EmployerFeedback.id)
        .where(
            EmployerFeedback.interview_id == due.c.interview_id,
            EmployerFeedback.relay_allowed.is_(True),
            EmployerFeedback.relayed_to_candidate_at.is_(None),
            or_(
                func.length(EmployerFeedback.strengths) > 0,
                func.length(EmployerFeedback.improvements) > 0,
            ),
        )
        .order_by(EmployerFeedback.created_at.desc(), EmployerFeedback.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    stmt = (
        select(
            due.c.id,
            due.c.kind,
            due.c.sequence,
            due.c.status,
            due.c.due_at,
            due.c.reminders_sent,
            due.c.max_reminders,
            due.c.next_notice_at,
            Interview.id.label("interview_id"),
            Interview.job_title,
            Candidate.full_name,
            Candidate.phone,
            Candidate.owner_id,
            Client.name.label("client_name"),
            case((due.c.kind == sql_text("employer_feedback"), relayable)).label(
                "relay_feedback_id"
            ),
        )
        .join(Interview, Interview.id == due.c.interview_id)
        .join(Candidate, Candidate.id == due.c.candidate_id)
        .join(Client, Client.id == Interview.client_id)
    )
    stmt = where_equal(stmt, (Candidate.owner_id, owner_id), (Interview.client_id, client_id))
    order = [*_mine_first(Candidate.owner_id, me, owner_id), due.c.due_at, due.c.id]
    return await _page(db, stmt, order, page)


def _mine_first(
    owner: Any, me: uuid.UUID | None, owner_id: uuid.UUID | None
) -> list[ColumnElement[Any]]:
    """The ordering that puts `me`'s candidates first, when the page is everyone's."""
    if me is None or owner_id is not None:
        return []
    return [case((owner == me, 0), else_=1)]


async def _page(
    db: Database, stmt: AnySelect, order: list[Any], page: int
) -> tuple[list[RowMapping], int]:
    """Page `page` (from 1) of `stmt`'s rows in `order`, and how many rows there are in all:
    counted with the page in one statement, or alone when the page is past the end."""
    counted = stmt.add_columns(func.count().over().label("total"))
    rows = await read_all(db, counted.order_by(*order).offset((page - 1) * PAGE).limit(PAGE))
    if rows:
        return rows, int(rows[0]["total"])
    if page == 1:
        return [], 0
    total = await read_one(db, select(func.count().label("n")).select_from(stmt.subquery()))
    return [], int(total["n"]) if total else 0


async def escalated_to(db: Database, staff_id: uuid.UUID) -> list[RowMapping]:
    """Open follow-ups escalated to this staff member (their team's), with whose they are."""
    owner = aliased(Staff)
    stmt = (
        select(
            FollowUp.id,
            FollowUp.kind,
            FollowUp.status,
            FollowUp.due_at,
            FollowUp.reminders_sent,
            FollowUp.escalated_at,
            Interview.job_title,
            Candidate.full_name,
            Candidate.phone,
            owner.full_name.label("owner_name"),
            Client.name.label("client_name"),
        )
        .join(Interview, Interview.id == FollowUp.interview_id)
        .join(Candidate, Candidate.id == FollowUp.candidate_id)
        .join(Client, Client.id == Interview.client_id)
        .outerjoin(owner, owner.id == Candidate.owner_id)
        .where(FollowUp.escalated_to == staff_id, FollowUp.status.in_(_OPEN))
    )
    return await read_all(db, stmt.order_by(FollowUp.due_at, FollowUp.id).limit(LIMIT))


async def recruiters(db: Database) -> list[RowMapping]:
    return await read_all(
        db,
        select(Staff.id, Staff.full_name).where(Staff.active.is_(True)).order_by(Staff.full_name),
    )


async def clients_with_open_work(db: Database) -> list[RowMapping]:
    """The clients of the interviews with an open follow-up, by name (the filter's list)."""
    # Each open follow-up's client looked up by its interview's key: PostgreSQL would
    # otherwise hash every interview for a join with the few open ones (12 against 5 ms at
    # 60,000 interviews); SQLite takes the same path either way.
    client_of = (
        select(Interview.client_id)
        .where(Interview.id == FollowUp.interview_id)
        .correlate(FollowUp)
        .scalar_subquery()
    )
    stmt = (
        select(Client.id, Client.name)
        .where(Client.id.in_(select(client_of).where(FollowUp.status.in_(_OPEN))))
        .order_by(Client.name)
        .limit(LIMIT)
    )
    return await read_all(db, stmt)


async def live_session(
    db: Database, session_hash: str, *, now: datetime, roles: tuple[str, ...]
) -> RowMapping | None:
    """The unexpired session with this hash, if its key is live, of a staff role and its
    staff member (if any) active; with the key and its staff member's name and time zone."""
    stmt = (
        select(
            ApiKey.id, ApiKey.name, ApiKey.role, ApiKey.staff_id, Staff.full_name, Staff.timezone
        )
        .join(BoardSession, BoardSession.api_key_id == ApiKey.id)
        .outerjoin(Staff, Staff.id == ApiKey.staff_id)
        .where(
            BoardSession.id_hash == session_hash,
            BoardSession.expires_at > now,
            ApiKey.revoked_at.is_(None),
            ApiKey.role.in_(roles),
            (ApiKey.staff_id.is_(None)) | (Staff.active.is_(True)),
        )
    )
    return await read_one(db, stmt)


async def delete_expired_sessions(db: Database, now: datetime) -> int:
    async with transaction(db, now=now) as session:
        result = await session.execute(delete(BoardSession).where(BoardSession.expires_at <= now))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
