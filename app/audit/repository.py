"""SQL for the audit trail."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.engine import RowMapping

from app.db.engine import Database
from app.db.queries import AnySelect, read_all, where_equal
from app.models import ApiKey, AuditEntry


def select_entries(
    *,
    object_type: str | None,
    object_id: str | None,
    actor: str | None,
    since: datetime | None,
) -> AnySelect:
    stmt = where_equal(
        select(AuditEntry.__table__),
        (AuditEntry.object_type, object_type),
        (AuditEntry.object_id, object_id),
        (AuditEntry.actor, actor),
    )
    if since is not None:
        stmt = stmt.where(AuditEntry.occurred_at >= since)
    return stmt


async def key_roles(db: Database, key_ids: set[uuid.UUID]) -> list[RowMapping]:
    """The id and role of each of these API keys."""
    return await read_all(db, select(ApiKey.id, ApiKey.role).where(ApiKey.id.in_(key_ids)))
