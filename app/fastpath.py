"""The hottest read, answered before FastAPI's routing and dependency solving.

`GET /v1/candidates/{id}` is what a CRM and the board ask most. When the caller's key is
already verified (in the key cache) and the candidate exists, this answers it directly: the
same prepared query, the same response model, the same ETag, the same rate limit, the same
access line and metrics (it sits inside the request-context middleware). Anything else (a
key not yet cached, a malformed or unknown id, a query string, an error) goes on to the
FastAPI route, which answers exactly as before. The route is still what the OpenAPI
document describes; tests run through both paths.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from app.auth.dependencies import KeyCache, secret_of
from app.auth.keys import hash_key
from app.candidates.repository import BY_ID
from app.candidates.schemas import CandidateOut
from app.errors import TooManyRequests, app_error_response
from app.http import object_response

_CANDIDATE = re.compile(r"^/v1/candidates/([0-9a-fA-F-]{32,36})$")


@dataclass(frozen=True)
class _Route:
    """What the metrics and the access line name the route by (as FastAPI's route would)."""

    path: str


CANDIDATE_ROUTE = _Route("/v1/candidates/{candidate_id:uuid}")


class HotReads:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET" and not scope["query_string"]:
            match = _CANDIDATE.match(scope["path"])
            if match is not None:
                response = await self._candidate(scope, match.group(1))
                if response is not None:
                    await response(scope, receive, send)
                    return
        await self.app(scope, receive, send)

    async def _candidate(self, scope: Scope, raw_id: str) -> Response | None:
        app = scope["app"]
        authorization = next((v for k, v in scope["headers"] if k == b"authorization"), b"")
        secret = secret_of(authorization.decode("latin-1"))
        if secret is None:
            return None
        cache: KeyCache = app.state.key_cache
        principal = cache.get(hash_key(secret))
        if principal is None:
            return None
        try:
            candidate_id = uuid.UUID(raw_id)
        except ValueError:
            return None
        state = scope.setdefault("state", {})
        state["principal"] = principal
        scope["route"] = CANDIDATE_ROUTE
        limiter = app.state.key_limiter
        wait = limiter.take(str(principal.key_id)) if limiter is not None else None
        if wait is not None:
            refusal = TooManyRequests(
                "This key has sent too many requests; slow down.",
                headers={"Retry-After": str(wait)},
            )
            return app_error_response(refusal, scope["path"])
        try:
            row = await BY_ID.one(app.state.db, candidate_id=candidate_id)
        except Exception:  # the route will meet it again and answer it properly
            return None
        if row is None:
            return None
        return object_response(CandidateOut.model_validate(row), version=row["version"])
