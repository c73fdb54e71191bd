"""HTTP conventions shared by every router: JSON bodies, ETags, If-Match, cursor pages."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Annotated, Any, Generic, TypeVar

import orjson
from fastapi import Header, Query
from pydantic import BaseModel
from starlette.responses import Response

from app.db.versions import etag_for

JSON_MEDIA_TYPE = "application/json"
T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)


def json_response(
    body: BaseModel | dict[str, Any] | list[Any],
    *,
    status: int = 200,
    etag: str | None = None,
    location: str | None = None,
) -> Response:
    content = body.model_dump_json().encode() if isinstance(body, BaseModel) else orjson.dumps(body)
    headers: dict[str, str] = {}
    if etag:
        headers["ETag"] = etag
    if location:
        headers["Location"] = location
    return Response(content, status_code=status, media_type=JSON_MEDIA_TYPE, headers=headers)


def object_response(
    body: BaseModel, *, version: int, status: int = 200, location: str | None = None
) -> Response:
    return json_response(body, status=status, etag=etag_for(version), location=location)


IfMatch = Annotated[
    str | None,
    Header(
        alias="If-Match",
        description="The ETag from your last read; required, so no change is lost.",
    ),
]


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None

    @staticmethod
    def response(item: type[M], rows: Iterable[Any], next_cursor: str | None) -> Response:
        """One page of a list: each row as an `item`, and where the next page starts."""
        page = Page[item](  # type: ignore[valid-type]
            items=[item.model_validate(r) for r in rows], next_cursor=next_cursor
        )
        return json_response(page)


MAX_LIMIT = 200
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Page size: default 50, at most 200.")]

# Cursors are positions, not secrets: every cursor the schema admits is a place to continue
# from. Lists ordered by id take the last id; lists ordered by a time take
# `<microseconds since 1970>_<id>`; the event feed takes the last event's number.
Cursor = Annotated[uuid.UUID | None, Query(description="`next_cursor` from the previous page.")]
TIME_CURSOR_PATTERN = r"^[0-9]{1,16}_[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
TimeCursor = Annotated[
    str | None,
    Query(pattern=TIME_CURSOR_PATTERN, description="`next_cursor` from the previous page."),
]
SeqCursor = Annotated[
    str | None,
    Query(pattern=r"^[0-9]{1,18}$", description="`next_cursor` from the previous page."),
]
