"""SQL for the event feed."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import bindparam, select

from app.db.engine import Database
from app.db.queries import Prepared, Row, json_text, read_all, uuid_text
from app.models import Event

# The id as text on PostgreSQL and the data as the JSON text stored: a page writes them out
# as they come (`app/events/router.py`).
_COLUMNS = (
    Event.seq,
    uuid_text(Event.id).label("id"),
    Event.type,
    Event.occurred_at,
    json_text(Event.data).label("data"),
)
# How a CRM polls (no filter): one statement compiled once.
_PAGE = Prepared(select(*_COLUMNS).where(Event.seq > bindparam("after")).order_by(Event.seq))


async def events_after(
    db: Database,
    after: int,
    limit: int,
    *,
    types: list[str] | None = None,
    since: datetime | None = None,
) -> Sequence[Row]:
    """Up to `limit` events after `seq`, in commit order, optionally of these types, since then."""
    if types is None and since is None:
        return await _PAGE.limited(limit).rows(db, after=after)
    stmt = select(*_COLUMNS)
    if types:
        stmt = stmt.where(Event.type.in_(types))
    if since is not None:
        stmt = stmt.where(Event.occurred_at >= since)
    stmt = stmt.where(Event.seq > after).order_by(Event.seq).limit(limit)
    return await read_all(db, stmt)
