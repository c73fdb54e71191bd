"""SQL for debriefs and employer feedback."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession

from app.candidates.erased import refuse_if_erased
from app.db.engine import Database
from app.db.queries import AnySelect, read_one
from app.db.statements import Statement, refresh_loaded
from app.models import Candidate, Debrief, EmployerFeedback, EmployerLink, Interview


async def read_debrief(db: Database, interview_id: uuid.UUID) -> RowMapping | None:
    return await read_one(db, select(Debrief.__table__).where(Debrief.interview_id == interview_id))


DEBRIEF_COLUMNS = tuple(c.name for c in Debrief.__table__.c)
# A first debrief is one row written as it is, without the ORM's flush (app/db/statements.py).
_INSERT_DEBRIEF = Statement(insert(Debrief).values({c: bindparam(c) for c in DEBRIEF_COLUMNS}))


async def insert_debrief(session: AsyncSession, row: dict[str, Any]) -> None:
    """Store a new debrief; `row` gives every column."""
    await _INSERT_DEBRIEF.executemany(session, [row])


# An amendment reads the debrief and writes it back on the driver too. Its writers hold the
# interview's lock (`interview_for_debrief`), so the row needs none of its own. It is read
# with the candidate's `erased_at` (app/candidates/erased.py): one round trip for both, after
# the interview's lock, as the erased check must be.
_debriefs = Debrief.__table__
_DEBRIEF_OF = Statement(
    select(Candidate.erased_at.label("candidate_erased_at"), *_debriefs.c)
    .select_from(
        Candidate.__table__.outerjoin(
            _debriefs, _debriefs.c.interview_id == bindparam("interview_id")
        )
    )
    .where(Candidate.id == bindparam("candidate_id"))
)
_KEPT = ("id", "interview_id", "created_at")  # never changed by an amendment
_UPDATE_DEBRIEF = Statement(
    update(Debrief)
    .where(Debrief.id == bindparam("b_id"))
    .values({c: bindparam(f"b_{c}") for c in DEBRIEF_COLUMNS if c not in _KEPT})
)


async def debrief_of(
    session: AsyncSession, interview_id: uuid.UUID, candidate_id: uuid.UUID
) -> dict[str, Any] | None:
    """The interview's debrief as a row, or None; CandidateErased if its candidate (the
    interview's) was erased."""
    row = await _DEBRIEF_OF.fetch_one(session, interview_id=interview_id, candidate_id=candidate_id)
    if row is None:
        return None
    refuse_if_erased(candidate_id, row.pop("candidate_erased_at"))
    return row if row["id"] is not None else None


async def update_debrief(session: AsyncSession, row: dict[str, Any]) -> None:
    """Store an amended debrief; `row` gives every column."""
    await _UPDATE_DEBRIEF.executemany(session, [{f"b_{k}": v for k, v in row.items()}])
    refresh_loaded(session, Debrief, [row])


# The interview a debrief is recorded for, locked as `get_for_update` locks it, read on the
# driver: the columns the debrief and its follow-ups need (followups.DebriefedInterview).
_INTERVIEW_LOCKED = Statement(
    select(
        Interview.id,
        Interview.candidate_id,
        Interview.status,
        Interview.starts_at,
        Interview.decision_expected_by,
    )
    .where(Interview.id == bindparam("interview_id"))
    .with_for_update(key_share=True)
)


async def interview_for_debrief(
    session: AsyncSession, interview_id: uuid.UUID
) -> dict[str, Any] | None:
    return await _INTERVIEW_LOCKED.fetch_one(session, interview_id=interview_id)


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


_LINK_COLUMNS = [c for c in EmployerLink.__table__.c if c.name != "token_hash"]


def select_employer_links(interview_id: uuid.UUID) -> AnySelect:
    return select(*_LINK_COLUMNS).where(EmployerLink.interview_id == interview_id)
