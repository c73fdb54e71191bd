from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

import orjson
from fastapi import Query
from pydantic import BaseModel, Field
from starlette.responses import Response

from app.api.dependencies import DB
from app.api.problems import problem_responses
from app.api.responses import Limit, SeqCursor, json_response
from app.api.routing import APIRouter
from app.auth.dependencies import AdminOrIntegration
from app.errors import ValidationFailed
from app.events import repository
from app.events.service import EVENT_TYPES
from app.schemas.base import OutputModel, iso
from app.schemas.fields import Timestamp

router = APIRouter(
    prefix="/v1/events", tags=["events"], responses=problem_responses(401, 403, 422, 429)
)


class EventOut(OutputModel):
    id: uuid.UUID = Field(description="Also the `webhook-id` of its deliveries.")
    type: str
    occurred_at: datetime
    data: dict[str, Any]


class EventsQuery(BaseModel):
    """The feed's filters and page: what the route reads from the query string, and what the
    hot read (`app.hot_reads`) validates with, so both accept the same."""

    type: list[str] | None = Field(default=None, description="Only these types (repeatable).")
    since: Timestamp | None = Field(default=None, description="Only events at or after this time.")
    limit: Limit = 50
    cursor: SeqCursor = None


class EventPage(OutputModel):
    items: list[EventOut]
    next_cursor: str = Field(
        description="Always set: where to continue. Poll it again later for newer events."
    )
    has_more: bool = Field(description="More events are waiting now; fetch next_cursor at once.")


@router.get("", response_model=EventPage)
async def list_events(
    db: DB, _: AdminOrIntegration, query: Annotated[EventsQuery, Query()]
) -> Response:
    """Every event, in the order their changes committed; the same events the webhooks carry.

    Unlike other lists the feed never ends: `next_cursor` is always set, so a CRM can keep
    polling from where it stopped; `has_more` says whether to fetch again right away."""
    if query.type:
        unknown = sorted(set(query.type) - set(EVENT_TYPES))
        if unknown:
            raise ValidationFailed.field(
                "type", f"unknown event type: {', '.join(unknown)}", location="query"
            )
    after = int(query.cursor) if query.cursor else 0
    rows = await repository.events_after(
        db, after, query.limit + 1, types=query.type, since=query.since
    )
    has_more = len(rows) > query.limit
    rows = rows[: query.limit]
    last = rows[-1]["seq"] if rows else after
    # Plain JSON (EventPage documents it): the feed is polled all day, pages are full. Each
    # event's data is written as the database holds it, not decoded and encoded again.
    items = [
        {
            "id": r["id"],
            "type": r["type"],
            "occurred_at": iso(r["occurred_at"]),
            "data": orjson.Fragment(r["data"]),
        }
        for r in rows
    ]
    return json_response({"items": items, "next_cursor": str(last), "has_more": has_more})
