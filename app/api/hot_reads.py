"""The hottest reads, answered before FastAPI's routing and dependency solving.

`GET /v1/candidates/{id}` is what a CRM and the board ask most; `GET /v1/debriefs/overdue`
is the queue every recruiter refreshes all day. When the caller's key is already verified
(in the key cache) and the request is a plain one, this answers it directly: the same query,
the same response body and ETag, the same rate limit, the same access line and metrics (it
sits inside the request-context middleware); a database that does not answer gets the
route's 503 here. Anything else (a key not yet cached, a malformed or unknown id, a query
parameter it does not know or cannot read, an unexpected error) goes on to the FastAPI
route, which answers exactly as before. The routes are still what the OpenAPI document
describes; tests run through both paths.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from app.api.problems import DATABASE_ERRORS, app_error_response, database_error_response
from app.api.responses import MAX_LIMIT, TIME_CURSOR_PATTERN, object_response
from app.auth.dependencies import KeyCache, secret_of
from app.auth.keys import hash_key
from app.candidates.schemas import CandidateOut
from app.candidates.service import read_candidate
from app.errors import TooManyRequests
from app.followups.queue import overdue_queue

_CANDIDATE = re.compile(r"^/v1/candidates/([0-9a-fA-F-]{32,36})$")
_QUEUE = "/v1/debriefs/overdue"
# What the fast path reads itself; any other spelling is left to the route (and its 422).
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_LIMIT = re.compile(r"[1-9][0-9]{0,2}")
_TIME_CURSOR = re.compile(TIME_CURSOR_PATTERN)


@dataclass(frozen=True)
class _Route:
    """What the metrics and the access line name the route by (as FastAPI's route would)."""

    path: str


CANDIDATE_ROUTE = _Route("/v1/candidates/{candidate_id:uuid}")
QUEUE_ROUTE = _Route(_QUEUE)

# Reads the answer from the app's state, or gives None to leave the request to the route.
Read = Callable[[Any], Awaitable[Response | None]]


class HotReads:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET":
            found = _match(scope["path"], scope["query_string"])
            if found is not None:
                response = await self.answer(scope, *found)
                if response is not None:
                    await response(scope, receive, send)
                    return
        await self.app(scope, receive, send)

    async def answer(self, scope: Scope, route: _Route, read: Read) -> Response | None:
        """The response to a hot read, or None to leave the request to the routes."""
        app = scope["app"]
        authorization = next((v for k, v in scope["headers"] if k == b"authorization"), b"")
        secret = secret_of(authorization.decode("latin-1"))
        if secret is None:
            return None
        cache: KeyCache = app.state.key_cache
        principal = cache.get(hash_key(secret))
        if principal is None:
            return None
        state = scope.setdefault("state", {})
        state["principal"] = principal
        scope["route"] = route
        limiter = app.state.key_limiter
        wait = limiter.take(str(principal.key_id)) if limiter is not None else None
        if wait is not None:
            refusal = TooManyRequests(
                "This key has sent too many requests; slow down.",
                headers={"Retry-After": str(wait)},
            )
            return app_error_response(refusal, scope["path"])
        try:
            return await read(app)
        except DATABASE_ERRORS as exc:
            # Answered here as the route would: sent on, the request would wait its turn
            # for a connection a second time and take a second rate-limit token.
            return database_error_response(scope["path"], exc)
        except Exception:  # the route will meet it again and answer it properly
            return None


def _match(path: str, query_string: bytes) -> tuple[_Route, Read] | None:
    if path == _QUEUE:
        params = _queue_params(query_string)
        if params is None:
            return None

        async def queue(app: Any) -> Response:
            return await overdue_queue(app.state.db, app.state.clock.now(), **params)

        return QUEUE_ROUTE, queue
    match = _CANDIDATE.match(path)
    if match is None or query_string:
        return None
    try:
        candidate_id = uuid.UUID(match.group(1))
    except ValueError:
        return None

    async def candidate(app: Any) -> Response | None:
        row = await read_candidate(app.state.db, candidate_id)
        if row is None:
            return None
        return object_response(CandidateOut.model_validate(row), version=row["version"])

    return CANDIDATE_ROUTE, candidate


def _queue_params(query_string: bytes) -> dict[str, Any] | None:
    """The queue's filters, page size and cursor, when each is given once and plainly."""
    params: dict[str, Any] = {"owner_id": None, "client_id": None, "limit": 50, "cursor": None}
    seen: set[str] = set()
    for name, value in parse_qsl(query_string.decode("latin-1"), keep_blank_values=True):
        if name not in params or name in seen:
            return None
        seen.add(name)
        if name in ("owner_id", "client_id"):
            if not _UUID.fullmatch(value):
                return None
            params[name] = uuid.UUID(value)
        elif name == "limit":
            if not _LIMIT.fullmatch(value) or int(value) > MAX_LIMIT:
                return None
            params[name] = int(value)
        elif not _TIME_CURSOR.fullmatch(value):
            return None
        else:
            params[name] = value
    return params
