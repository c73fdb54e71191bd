"""SQL for interviews."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select

from app.db.queries import AnySelect, where_equal
from app.models import Interview


def select_interviews(
    *,
    candidate_id: uuid.UUID | None = None,
    client_id: uuid.UUID | None = None,
    status: str | None = None,
    outcome: str | None = None,
    stage: str | None = None,
    external_id: str | None = None,
    starts_after: datetime | None = None,
    starts_before: datetime | None = None,
) -> AnySelect:
    stmt = where_equal(
        select(Interview.__table__),
        (Interview.candidate_id, candidate_id),
        (Interview.client_id, client_id),
        (Interview.status, status),
        (Interview.outcome, outcome),
        (Interview.stage, stage),
        (Interview.external_id, external_id),
    )
    if starts_after is not None:
        stmt = stmt.where(Interview.starts_at >= starts_after)
    if starts_before is not None:
        stmt = stmt.where(Interview.starts_at < starts_before)
    return stmt
