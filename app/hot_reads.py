"""The hottest reads, answered before FastAPI's routing and dependency solving.

`GET /v1/candidates/{id}` is what a CRM and the board ask most; `GET /v1/debriefs/overdue`
is the queue every recruiter refreshes all day; `GET /v1/events` is the feed a CRM polls.
For these three, solving the route's dependencies costs more than the read itself, so this
calls the route's own pieces directly: the route matches the path (and names the request in
the access line and the metrics), its endpoint answers, with the very dependencies FastAPI
would give it (`authenticate`: the key, its cache and its rate limit; the role check; the
database; the clock), and an error is answered by the handler the app installed for it. What
is left out is only FastAPI's generic machinery around them.

A queue or feed request whose query string its model (`OverdueQuery`, `EventsQuery`: the
routes' own parameters) refuses is left to the route, which answers the 422 with FastAPI's
field errors; so is a feed filtered by `type` (a list, which only the route reads from
repeated keys), and every other request.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi.routing import APIRoute
from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match
from starlette.types import ASGIApp, Receive, Scope, Send

from app.api.dependencies import get_db, get_now
from app.auth.dependencies import admin_or_integration, authenticate
from app.candidates import router as candidates
from app.events import router as events
from app.followups import router as followups
from app.followups.schemas import OverdueQuery

# Calls a route's endpoint with what its dependencies would give, or gives None to leave
# the request to the route.
Read = Callable[[Request], Awaitable[Response | None]]
Handler = Callable[[Request, Exception], Awaitable[Response]]


async def _candidate(request: Request) -> Response:
    return await candidates.get_candidate(
        request.path_params["candidate_id"], await get_db(request), await authenticate(request)
    )


async def _queue(request: Request) -> Response | None:
    try:
        query = OverdueQuery.model_validate(dict(request.query_params))
    except ValidationError:
        return None  # the route answers the 422 with its field errors
    return await followups.overdue_debriefs(
        await get_db(request), await get_now(request), await authenticate(request), query
    )


async def _feed(request: Request) -> Response | None:
    try:  # a `type` filter (a list) is left to the route, as is a refused query
        query = events.EventsQuery.model_validate(dict(request.query_params))
    except ValidationError:
        return None
    principal = await admin_or_integration(await authenticate(request))
    return await events.list_events(await get_db(request), principal, query)


def _route(endpoint: Callable[..., Any], routes: list[Any]) -> APIRoute:
    return next(r for r in routes if isinstance(r, APIRoute) and r.endpoint is endpoint)


HOT: tuple[tuple[APIRoute, Read], ...] = (
    (_route(candidates.get_candidate, candidates.router.routes), _candidate),
    (_route(followups.overdue_debriefs, followups.queue_router.routes), _queue),
    (_route(events.list_events, events.router.routes), _feed),
)


class HotReads:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET":
            response = await self.answer(scope)
            if response is not None:
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)

    async def answer(self, scope: Scope) -> Response | None:
        """The route's response to a hot read, or None to leave the request to the routes."""
        for route, read in HOT:
            match, child_scope = route.matches(scope)
            if match is Match.FULL:
                scope.update(child_scope)  # the route and its path parameters, as routing does
                return await _answer(Request(scope), read)
        return None


async def _answer(request: Request, read: Read) -> Response | None:
    try:
        return await read(request)
    except Exception as exc:
        handler = _handler(request.app.exception_handlers, exc)
        if handler is None:
            raise  # to the server-error handler, as from the route
        return await handler(request, exc)


def _handler(handlers: dict[Any, Handler], exc: Exception) -> Handler | None:
    """The handler the app installed for this error, chosen as Starlette's exception
    middleware chooses it; None for an error only the server-error handler answers."""
    for cls in type(exc).__mro__:
        if cls is Exception:
            return None
        if cls in handlers:
            return handlers[cls]
    return None
