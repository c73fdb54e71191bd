"""SQL of the overdue queue: its rows written from the live join, and the page read."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Insert,
    Table,
    bindparam,
    delete,
    exists,
    func,
    insert,
    select,
    tuple_,
)
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.queries import AnySelect, Prepared, among, sql_text, uuid_text, where_equal
from app.db.stamps import touch
from app.models import Candidate, Client, DebriefQueueEntry, FollowUp, Interview

_queue: Table = DebriefQueueEntry.__table__  # type: ignore[assignment]
q = _queue.c
# The read model's name for its stamp: a statement that changes rows touches it, and the
# processes' kept pages of the queue are read again (app/db/stamps.py).
STAMP = "debrief_queue"
# Written into the SQL, not bound (`sql_text` says why).
_CALL = sql_text("debrief_call")
_OVERDUE = sql_text("overdue")
_PENDING = sql_text("pending")


def _joined() -> AnySelect:
    """The overdue debrief calls with what their rows show, in the table's column order."""
    return (
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
        .where(FollowUp.status == _OVERDUE, FollowUp.kind == _CALL)
    )


def _insert_from(rows: AnySelect) -> Insert:
    return insert(_queue).from_select([c.name for c in _queue.c], rows)


# Built once: every change of a debrief call's step deletes its row.
_DELETE_ROWS = delete(_queue).where(q.follow_up_id.in_(bindparam("ids", expanding=True)))


async def write_rows(
    session: AsyncSession, dropped: Collection[uuid.UUID], written: Collection[uuid.UUID]
) -> None:
    """Delete the rows of the follow-ups `dropped`, then write those of `written` (a subset) that
    are overdue debrief calls, from the live join."""
    changed = 0
    if dropped:
        changed += _count(await session.execute(_DELETE_ROWS, {"ids": list(dropped)}))
    if written:
        stmt = _insert_from(_joined().where(FollowUp.id.in_(list(written))))
        changed += _count(await session.execute(stmt))
    if changed:
        touch(session, STAMP)


def _count(result: Any) -> int:
    return int(result.rowcount)


_MISSING = ~exists().where(q.follow_up_id == FollowUp.id)


async def insert_flagged(session: AsyncSession, now: datetime) -> None:
    """The rows of the debrief calls flagged overdue at `now` that have none yet."""
    result = await session.execute(
        _insert_from(_joined().where(FollowUp.overdue_at == now, _MISSING))
    )
    if _count(result):
        touch(session, STAMP)


async def lock_interviews(session: AsyncSession, which: ColumnElement[bool]) -> list[uuid.UUID]:
    """Key-share-lock the interviews matching `which`, in id order, waiting for whoever holds
    one for update (a writer that may open its follow-ups); their ids."""
    stmt = (
        select(Interview.id)
        .where(which)
        .order_by(Interview.id)
        .with_for_update(read=True, key_share=True)
    )
    return list((await session.execute(stmt)).scalars())


async def lock_open_calls(session: AsyncSession, which: ColumnElement[bool]) -> list[uuid.UUID]:
    """Lock the open debrief calls matching `which`, in id order, waiting for whoever holds
    one; their ids."""
    stmt = (
        select(FollowUp.id)
        .where(which, FollowUp.kind == _CALL, FollowUp.status.in_([_PENDING, _OVERDUE]))
        .order_by(FollowUp.id)
        .with_for_update(key_share=True)
    )
    return list((await session.execute(stmt)).scalars())


# Which rows, by many ids (a bulk call's changed rows): `among`, one array on PostgreSQL.
def calls_of(session: AsyncSession, interview_ids: Collection[uuid.UUID]) -> ColumnElement[bool]:
    return among(session, FollowUp.interview_id, list(interview_ids))


def interviews_of_candidates(
    session: AsyncSession, ids: Collection[uuid.UUID]
) -> ColumnElement[bool]:
    return among(session, Interview.candidate_id, list(ids))


def interviews_of_clients(session: AsyncSession, ids: Collection[uuid.UUID]) -> ColumnElement[bool]:
    return among(session, Interview.client_id, list(ids))


def interviews(session: AsyncSession, ids: Collection[uuid.UUID]) -> ColumnElement[bool]:
    return among(session, Interview.id, list(ids))


async def rebuild(session: AsyncSession) -> int:
    """Every row written again from the live join (but one a sweep has just written, for a
    call opened meanwhile); how many there are."""
    await session.execute(delete(_queue))
    await session.execute(_insert_from(_joined().where(_MISSING)))
    touch(session, STAMP)
    return int((await session.execute(select(func.count()).select_from(_queue))).scalar_one())


# ---------------------------------------------------------------------------- the page


def select_overdue_debriefs(*, owner_id: Any, client_id: Any) -> AnySelect:
    """The recruiters' queue: overdue debrief calls with who to call, about what, and what
    gives when the next reminder goes; one table, read in its index order. `app/followups/
    queue.py` unpacks each row in this column order: change both together."""
    stmt = select(
        uuid_text(q.follow_up_id).label("follow_up_id"),
        q.due_at,
        q.reminders_sent,
        q.max_reminders,
        q.next_notice_at,
        uuid_text(q.candidate_id).label("candidate_id"),
        q.full_name,
        q.phone,
        uuid_text(q.owner_id).label("owner_id"),
        uuid_text(q.interview_id).label("interview_id"),
        q.job_title,
        q.ends_at,
        uuid_text(q.client_id).label("client_id"),
        q.client_name,
    )
    return where_equal(stmt, (q.owner_id, owner_id), (q.client_id, client_id))


@functools.cache
def overdue_page(*, by_owner: bool, by_client: bool, after: bool) -> Prepared:
    """The queue's page query, built once per combination of filters: most overdue first,
    then by id; `after` continues from a cursor (`after_at`, `after_id`). Take a page of
    it with `.limited(rows)`."""
    stmt = select_overdue_debriefs(
        owner_id=bindparam("owner_id") if by_owner else None,
        client_id=bindparam("client_id") if by_client else None,
    )
    if after:
        after_at = bindparam("after_at", type_=q.due_at.type)
        after_id = bindparam("after_id", type_=q.follow_up_id.type)
        stmt = stmt.where(tuple_(q.due_at, q.follow_up_id) > tuple_(after_at, after_id))
    return Prepared(stmt.order_by(q.due_at, q.follow_up_id))
