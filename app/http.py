"""HTTP conventions shared by every router: JSON bodies, ETags, If-Match, cursor pages."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Any, Generic, TypeVar

import orjson
from fastapi import Header, Query
from pydantic import BaseModel
from starlette.responses import Response

from app.errors import PreconditionFailed, PreconditionRequired, ValidationFailed

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


Limit = Annotated[int, Query(ge=1, le=200, description="Page size: default 50, at most 200.")]
Cursor = Annotated[
    str | None,
    Query(max_length=500, description="`next_cursor` from the previous page."),
]


def encode_cursor(*values: Any) -> str:
    raw = orjson.dumps([str(v) for v in values])
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode_cursor(cursor: str, size: int = 1) -> list[str]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = orjson.loads(base64.urlsafe_b64decode(padded))
    except (binascii.Error, ValueError, orjson.JSONDecodeError) as exc:
        raise ValidationFailed.field(
            "cursor", "not a cursor this API gave out", location="query"
        ) from exc
    if (
        not isinstance(values, list)
        or len(values) != size
        or not all(isinstance(v, str) for v in values)
    ):
        raise ValidationFailed.field("cursor", "not a cursor this API gave out", location="query")
    return values
