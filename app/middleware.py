"""Pure ASGI middleware: one write transaction per request, committed before the answer."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm.exc import StaleDataError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.db import Database, commit, rollback
from app.errors import Conflict, PreconditionFailed, ServiceUnavailable, problem_response

logger = logging.getLogger("debrief.http")

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class TransactionMiddleware:
    """Opens the request's transaction for writes; commits only if the answer is a success.

    The response is held back until COMMIT succeeds, so a client never sees a 2xx for a
    change that was not stored. Reads pass straight through.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in WRITE_METHODS:
            await self.app(scope, receive, send)
            return
        db: Database = scope["app"].state.db
        held: list[Message] = []

        async def hold(message: Message) -> None:
            held.append(message)

        async with db.sessionmaker() as session:
            scope.setdefault("state", {})["db_session"] = session
            try:
                await self.app(scope, receive, hold)
            except BaseException:
                await rollback(session)
                raise
            status = held[0]["status"] if held else 500
            if status < 400:
                failure = await _commit(session)
                if failure is not None:
                    held = _as_messages(failure, scope)
            else:
                await rollback(session)
        for message in held:
            await send(message)


async def _commit(session: Any) -> Exception | None:
    try:
        await commit(session)
    except (IntegrityError, StaleDataError) as exc:
        await rollback(session)
        if isinstance(exc, StaleDataError):
            return PreconditionFailed("The object was changed by someone else meanwhile.")
        return Conflict("The change conflicts with an existing object; nothing was stored.")
    except DBAPIError as exc:
        logger.warning("commit failed: %s", type(exc).__name__)
        await rollback(session)
        return ServiceUnavailable("The database did not answer; nothing was changed.")
    return None


def _as_messages(error: Exception, scope: Scope) -> list[Message]:
    assert isinstance(error, Conflict | PreconditionFailed | ServiceUnavailable)
    response = problem_response(
        error.status,
        slug=error.slug,
        title=error.title,
        detail=error.detail,
        instance=scope.get("path"),
    )
    headers = [(k.encode(), v.encode()) for k, v in response.headers.items()]
    return [
        {"type": "http.response.start", "status": response.status_code, "headers": headers},
        {"type": "http.response.body", "body": response.body, "more_body": False},
    ]


class _BodyTooLarge(Exception):
    pass


class BodyLimitMiddleware:
    """Refuses request bodies over the limit with a 413 problem, declared or streamed."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope["headers"]:
            if name == b"content-length" and (not value.isdigit() or int(value) > self.max_bytes):
                await self._refuse(scope, send)
                return
        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise _BodyTooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except _BodyTooLarge:
            if not started:
                await self._refuse(scope, send)

    async def _refuse(self, scope: Scope, send: Send) -> None:
        response = problem_response(
            413,
            slug="content-too-large",
            title="Request body too large",
            detail=f"The request body is over the {self.max_bytes} bytes this service accepts.",
            instance=scope.get("path"),
        )
        await response(scope, _no_receive, send)


async def _no_receive() -> Message:
    return {"type": "http.disconnect"}
