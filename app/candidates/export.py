"""Everything held on one person, for a subject access request."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select

from app import idempotency
from app.candidates.repository import select_candidates
from app.candidates.schemas import CandidateExport
from app.db import Database
from app.errors import NotFound
from app.models import Candidate, Debrief, DebriefLink, EmployerFeedback, Event, FollowUp, Interview
from app.repository import read_all, read_one


async def gather(db: Database, candidate_id: uuid.UUID, *, now: datetime) -> CandidateExport:
    candidate = await read_one(db, select_candidates().where(Candidate.id == candidate_id))
    if candidate is None:
        raise NotFound(f"There is no candidate with id {candidate_id}.")
    theirs = select(Interview.id).where(Interview.candidate_id == candidate_id)

    async def rows(stmt: Any) -> list[Any]:
        return list(await read_all(db, stmt))

    return CandidateExport.model_validate(
        {
            "exported_at": now,
            "candidate": candidate,
            "interviews": await rows(
                select(Interview.__table__)
                .where(Interview.candidate_id == candidate_id)
                .order_by(Interview.starts_at)
            ),
            "debriefs": await rows(
                select(Debrief.__table__).where(Debrief.interview_id.in_(theirs))
            ),
            "employer_feedback": await rows(
                select(EmployerFeedback.__table__).where(EmployerFeedback.interview_id.in_(theirs))
            ),
            "follow_ups": await rows(
                select(FollowUp.__table__)
                .where(FollowUp.candidate_id == candidate_id)
                .order_by(FollowUp.due_at)
            ),
            "debrief_links": await rows(
                select(
                    DebriefLink.id,
                    DebriefLink.interview_id,
                    DebriefLink.created_at,
                    DebriefLink.expires_at,
                    DebriefLink.used_at,
                ).where(DebriefLink.interview_id.in_(theirs))
            ),
            "events": await rows(
                select(Event.id, Event.type, Event.occurred_at, Event.data)
                .where(Event.candidate_id == candidate_id)
                .order_by(Event.seq)
            ),
            "idempotent_answers": await idempotency.answers_about(db, candidate_id),
        }
    )
