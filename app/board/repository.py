"""SQL for the recruiters' board: what is overdue or due today, with who to call."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import case, delete, func, or_, select
from sqlalchemy.engine import RowMapping
from sqlalchemy.orm import aliased

from app.db.engine import Database
from app.db.queries import read_all, read_one, where_equal
from app.db.transaction import transaction
from app.models import (
    ApiKey,
    BoardSession,
    Candidate,
    Client,
    EmployerFeedback,
    FollowUp,
    Interview,
    Staff,
)

LIMIT = 300


async def open_work(
    db: Database, *, due_by: datetime, owner_id: uuid.UUID | None, client_id: uuid.UUID | None
) -> list[RowMapping]:
    """Overdue follow-ups, and pending ones due by `due_by`, earliest first; a relay of the
    employer's feedback with the feedback staff may send on word for word (`relay_feedback_id`:
    allowed by the employer, not yet relayed, with words in it)."""
    relayable = (
        select(EmployerFeedback.id)
        .where(
            EmployerFeedback.interview_id == FollowUp.interview_id,
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
            FollowUp.id,
            FollowUp.kind,
            FollowUp.sequence,
            FollowUp.status,
            FollowUp.due_at,
            FollowUp.reminders_sent,
            FollowUp.max_reminders,
            FollowUp.next_notice_at,
            FollowUp.version,
            Interview.id.label("interview_id"),
            Interview.job_title,
            Interview.ends_at,
            Candidate.id.label("candidate_id"),
            Candidate.full_name,
            Candidate.phone,
            Candidate.owner_id,
            Client.name.label("client_name"),
            case((FollowUp.kind == "employer_feedback", relayable)).label("relay_feedback_id"),
        )
        .join(Interview, Interview.id == FollowUp.interview_id)
        .join(Candidate, Candidate.id == FollowUp.candidate_id)
        .join(Client, Client.id == Interview.client_id)
        .where(
            or_(
                FollowUp.status == "overdue",
                (FollowUp.status == "pending") & (FollowUp.due_at <= due_by),
            )
        )
    )
    stmt = where_equal(stmt, (Candidate.owner_id, owner_id), (Interview.client_id, client_id))
    return await read_all(db, stmt.order_by(FollowUp.due_at, FollowUp.id).limit(LIMIT))


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
        .where(FollowUp.escalated_to == staff_id, FollowUp.status.in_(("pending", "overdue")))
    )
    return await read_all(db, stmt.order_by(FollowUp.due_at, FollowUp.id).limit(LIMIT))


async def recruiters(db: Database) -> list[RowMapping]:
    return await read_all(
        db,
        select(Staff.id, Staff.full_name).where(Staff.active.is_(True)).order_by(Staff.full_name),
    )


async def clients_with_open_work(db: Database) -> list[RowMapping]:
    stmt = (
        select(Client.id, Client.name)
        .where(
            Client.id.in_(
                select(Interview.client_id)
                .join(FollowUp, FollowUp.interview_id == Interview.id)
                .where(FollowUp.status.in_(("pending", "overdue")))
            )
        )
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
