"""Once a person is erased nothing about them is written again: no debrief, feedback, link,
waiver, interview or form answer. Every write about a candidate asks here first.

Lock order (PostgreSQL): an erasure locks the candidate, then their interviews, then the
rest. A write that already holds one of the interviews reads the candidate without a lock:
if the erasure is under way it waits for that interview, and the erasure, coming after it,
empties what it wrote. A write that holds nothing yet (a new interview, a waiver) share-locks
the candidate, so it waits for an erasure under way and then sees it.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.statements import Statement
from app.errors import CandidateErased
from app.models import Candidate

# Built once and run on the transaction's own connection (app/db/statements.py): every write
# about a candidate asks.
_SELECT = select(Candidate.erased_at).where(Candidate.id == bindparam("candidate_id"))
_ERASED = Statement(_SELECT)
_ERASED_LOCKED = Statement(_SELECT.with_for_update(read=True))


async def refuse_if_candidate_erased(
    session: AsyncSession, candidate_id: uuid.UUID, *, wait: bool = False
) -> bool:
    """Raise CandidateErased if this candidate was erased; False if there is no such
    candidate. `wait` share-locks the row first (for callers that hold no interview)."""
    stmt = _ERASED_LOCKED if wait else _ERASED
    rows = await stmt.fetch(session, candidate_id=candidate_id)
    if not rows:
        return False
    refuse_if_erased(candidate_id, rows[0][0])
    return True


def refuse_if_erased(candidate_id: uuid.UUID, erased_at: datetime | None) -> None:
    """Raise CandidateErased if `erased_at`, the candidate's, read by the caller (in a
    statement of its own that reads more), says they were erased."""
    if erased_at is not None:
        raise CandidateErased(
            f"Candidate {candidate_id} was erased on {erased_at:%Y-%m-%d}; nothing more "
            "is recorded about an erased person."
        )
