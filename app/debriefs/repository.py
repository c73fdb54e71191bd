"""SQL for debriefs and employer feedback."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.engine import Database
from app.db.queries import AnySelect, read_one
from app.models import Candidate, Debrief, EmployerFeedback, Interview


async def erased_at_and_debrief(
    session: AsyncSession, candidate_id: uuid.UUID, interview_id: uuid.UUID
) -> tuple[datetime | None, Debrief | None]:
    """When the interview's candidate was erased (None: never) and the interview's debrief
    (None: none yet), in one query. Run after the interview is locked, so both are read as
    they stand once any writer before has committed."""
    stmt = (
        select(Candidate.erased_at, Debrief)
        .select_from(Candidate)
        .outerjoin(Debrief, Debrief.interview_id == interview_id)
        .where(Candidate.id == candidate_id)
    )
    row = (await session.execute(stmt)).first()
    return (None, None) if row is None else (row[0], row[1])


async def read_debrief(db: Database, interview_id: uuid.UUID) -> RowMapping | None:
    return await read_one(db, select(Debrief.__table__).where(Debrief.interview_id == interview_id))


async def interview_exists(db: Database, interview_id: uuid.UUID) -> bool:
    return await read_one(db, select(Interview.id).where(Interview.id == interview_id)) is not None


def select_employer_feedback(interview_id: uuid.UUID) -> AnySelect:
    return select(EmployerFeedback.__table__).where(EmployerFeedback.interview_id == interview_id)


async def read_employer_feedback(
    db: Database, interview_id: uuid.UUID, feedback_id: uuid.UUID
) -> RowMapping | None:
    return await read_one(
        db,
        select(EmployerFeedback.__table__).where(
            EmployerFeedback.id == feedback_id, EmployerFeedback.interview_id == interview_id
        ),
    )
