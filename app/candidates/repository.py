"""SQL for candidates."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from app.models import Candidate
from app.repository import AnySelect, where_equal


def select_candidates(
    *,
    status: str | None = None,
    owner_id: uuid.UUID | None = None,
    external_id: str | None = None,
    email: str | None = None,
    job_search_active: bool | None = None,
) -> AnySelect:
    return where_equal(
        select(Candidate.__table__),
        (Candidate.status, status),
        (Candidate.owner_id, owner_id),
        (Candidate.external_id, external_id),
        (Candidate.email, email),
        (Candidate.job_search_active, job_search_active),
    )
