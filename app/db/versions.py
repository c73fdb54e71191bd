"""Versions: every stored object counts its changes, and its ETag is that count in quotes. A
change names the version it read (If-Match), so no change made meanwhile is lost."""

from __future__ import annotations

from app.errors import PreconditionFailed, PreconditionRequired


def etag_for(version: int) -> str:
    return f'"{version}"'


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
