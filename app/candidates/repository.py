"""SQL for candidates."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import String, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from app.db.queries import AnySelect, Prepared, sql_text, where_equal
from app.models import Candidate, FollowUp


class _joined(FunctionElement[str]):
    """The values joined with commas. Like `func.aggregate_strings`, but with the comma in
    the SQL text rather than a parameter rendered at execution, so the statement can be
    compiled once for good (see `Prepared`)."""

    type = String()
    inherit_cache = True
    name = "joined"


@compiles(_joined)
def _group_concat(element: _joined, compiler: Any, **kw: Any) -> str:
    return f"group_concat({compiler.process(element.clauses, **kw)}, ',')"


@compiles(_joined, "postgresql")
def _string_agg(element: _joined, compiler: Any, **kw: Any) -> str:
    return f"string_agg({compiler.process(element.clauses, **kw)}, ',')"


def _overdue_kinds(candidate_id: Any) -> Any:
    """`debrief_call,thank_you_note`: the kinds of follow-up overdue for a candidate."""
    return (
        select(_joined(FollowUp.kind))
        .where(FollowUp.candidate_id == candidate_id, FollowUp.status == sql_text("overdue"))
        .scalar_subquery()
    )


def select_candidates(
    *,
    status: str | None = None,
    owner_id: uuid.UUID | None = None,
    external_id: str | None = None,
    email: str | None = None,
    job_search_active: bool | None = None,
) -> AnySelect:
    """Candidates with `overdue_kinds`, from which their `flags` are made."""
    return where_equal(
        select(Candidate.__table__, _overdue_kinds(Candidate.id).label("overdue_kinds")).where(
            Candidate.erased_at.is_(None)
        ),
        (Candidate.status, status),
        (Candidate.owner_id, owner_id),
        (Candidate.external_id, external_id),
        (Candidate.email, email),
        (Candidate.job_search_active, job_search_active),
    )


# One candidate by id: the most frequent read of all.
BY_ID = Prepared(select_candidates().where(Candidate.id == bindparam("candidate_id")))


async def overdue_kinds(session: AsyncSession, candidate_id: uuid.UUID) -> str | None:
    result = await session.execute(select(_overdue_kinds(candidate_id)))
    return result.scalar_one_or_none()


async def lock_if_status_changes(
    session: AsyncSession, statuses: dict[str, str]
) -> list[uuid.UUID]:
    """The candidates (by external_id) whose status differs from the one given, locked
    FOR NO KEY UPDATE (as an erasure), in id order."""
    if not statuses:
        return []
    stmt = (
        select(Candidate.id, Candidate.external_id, Candidate.status)
        .where(Candidate.external_id.in_(list(statuses)))
        .order_by(Candidate.id)
        .with_for_update(key_share=True)
    )
    rows = (await session.execute(stmt)).all()
    return [row.id for row in rows if statuses[row.external_id] != row.status]
