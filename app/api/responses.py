"""HTTP conventions shared by every router: JSON bodies, ETags, If-Match, cursor pages."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Generic, TypeVar

import orjson
from fastapi import Header, Query
from pydantic import BaseModel
from starlette.responses import Response

from app.errors import PreconditionFailed, PreconditionRequired

JSON_MEDIA_TYPE = "application/json"
T = TypeVar("T")


def etag_for(version: int) -> str:
    return f'"{version}"'


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


def require_if_match(if_match: str | None, version: int) -> None:
    """428 without If-Match; 412 unless it names the current ETag (or is `*`)."""
    if if_match is None or not if_match.strip():
        raise PreconditionRequired(
            "Send If-Match with the ETag of the object you read, so no change is lost."
        )
    current = etag_for(version)
    tags = [tag.strip() for tag in if_match.split(",")]
    if "*" in tags or current in tags:
        return
    raise PreconditionFailed(
        f"The object has changed since you read it (current ETag {current}); fetch it again."
    )


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None


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


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def time_cursor(moment: datetime, ident: uuid.UUID | str) -> str:
    return f"{(moment - _EPOCH) // _MICROSECOND}_{ident}"


def parse_time_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    micros, ident = cursor.split("_", 1)
    return _EPOCH + int(micros) * _MICROSECOND, uuid.UUID(ident)
