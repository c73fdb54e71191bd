"""Pure ASGI middleware: request bodies limited, text no database can store refused, one
write transaction per request committed before the answer is sent, Idempotency-Key
replays, and the region phone numbers are read in."""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Awaitable, Callable, Iterator
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.exc import StaleDataError
from starlette.datastructures import Headers, QueryParams
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api import idempotency
from app.api.bearer import secret_of
from app.api.problems import (
    DATABASE_ERRORS,
    app_error_response,
    database_error,
    problem_response,
)
from app.db.engine import Database
from app.db.transaction import commit, open_unit_of_work, rollback
from app.db.unit_of_work import unit_of_work
from app.errors import (
    AppError,
    BadRequest,
    Conflict,
    FieldError,
    PreconditionFailed,
    ValidationFailed,
)
from app.schemas.fields import phones_read_in

logger = logging.getLogger("debrief.http")

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Idempotency-Key is honoured on the API's POSTs (the board and the public form have none).
API = "/v1/"


def _problem_messages(error: AppError, scope: Scope) -> list[Message]:
    response = app_error_response(error, scope.get("path", ""))
    return _messages(response.status_code, dict(response.headers), bytes(response.body))


def _messages(status: int, headers: dict[str, str], body: bytes) -> list[Message]:
    raw = [
        (k.lower().encode(), v.encode())
        for k, v in headers.items()
        if k.lower() != "content-length"
    ]
    raw.append((b"content-length", str(len(body)).encode()))
    return [
        {"type": "http.response.start", "status": status, "headers": raw},
        {"type": "http.response.body", "body": body, "more_body": False},
    ]


class _Reply:
    """The app's answer, held back until the transaction has committed."""

    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def __call__(self, message: Message) -> None:
        self.messages.append(message)

    @property
    def status(self) -> int:
        return int(self.messages[0]["status"]) if self.messages else 500

    @property
    def headers(self) -> dict[str, str]:
        raw = self.messages[0].get("headers", []) if self.messages else []
        return {k.decode().lower(): v.decode() for k, v in raw}

    @property
    def body(self) -> bytes:
        return b"".join(m.get("body", b"") for m in self.messages[1:])


class Caller(Protocol):
    @property
    def key_id(self) -> uuid.UUID: ...


# The routes' own authentication (the app's `authenticate`): the caller, or an AppError.
Authenticate = Callable[[Request], Awaitable[Caller]]


class TransactionMiddleware:
    """Opens the request's transaction for writes; commits only if the answer is a success.

    The response is held back until COMMIT succeeds, so a client never sees a 2xx for a
    change that was not stored. An API POST with an Idempotency-Key is authenticated first
    (by `authenticate`, the routes' own), stores its answer (or, if it carried a secret, only
    that it was given) in that same transaction, and gets it replayed for 24 hours to the
    same live key. Reads pass straight through.
    """

    def __init__(self, app: ASGIApp, *, authenticate: Authenticate) -> None:
        self.app = app
        self.authenticate = authenticate
        self._in_flight: set[tuple[uuid.UUID, str]] = set()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in WRITE_METHODS:
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        key = headers.get(idempotency.HEADER) if scope["method"] == "POST" else None
        if (
            key is not None
            and scope["path"].startswith(API)
            and secret_of(headers.get("authorization")) is not None
        ):
            messages = await self._authenticated(scope, receive, key)
        else:
            messages = await self._transaction(scope, receive)
        for message in messages:
            await send(message)

    async def _authenticated(self, scope: Scope, receive: Receive, key: str) -> list[Message]:
        """Who is asking comes first: a stored answer is only ever given to the live key
        that got it (a revoked or unknown key is 401 here, as at any route)."""
        try:
            caller = await self.authenticate(Request(scope))
        except AppError as error:
            return _problem_messages(error, scope)
        except DATABASE_ERRORS as exc:
            return _problem_messages(database_error(exc), scope)
        return await self._idempotent(scope, receive, key, caller)

    async def _transaction(self, scope: Scope, receive: Receive) -> list[Message]:
        db: Database = scope["app"].state.db
        async with db.sessionmaker() as session:
            open_unit_of_work(session, db, now=None)
            reply = await self._run(scope, receive, session)
            return await self._finish(session, reply, scope)

    async def _run(self, scope: Scope, receive: Receive, session: AsyncSession) -> _Reply:
        scope.setdefault("state", {})["db_session"] = session
        unit_of_work(session).now = scope["app"].state.clock.now()
        reply = _Reply()
        try:
            await self.app(scope, receive, reply)
        except BaseException:
            await rollback(session)
            raise
        return reply

    async def _finish(self, session: AsyncSession, reply: _Reply, scope: Scope) -> list[Message]:
        if reply.status >= 400:
            await rollback(session)
            return reply.messages
        failure = await _commit(session)
        return _problem_messages(failure, scope) if failure else reply.messages

    async def _idempotent(
        self, scope: Scope, receive: Receive, key: str, caller: Caller
    ) -> list[Message]:
        if not idempotency.valid_key(key):
            return _problem_messages(
                BadRequest("Idempotency-Key must be 1 to 255 printable ASCII characters."), scope
            )
        owner = caller.key_id
        if (owner, key) in self._in_flight:
            return _problem_messages(_still_running(), scope)
        self._in_flight.add((owner, key))
        try:
            body = await _read_body(receive)
            request_hash = idempotency.fingerprint(
                scope["method"],
                scope["path"],
                scope.get("query_string", b""),
                body,
                content_type=Headers(scope=scope).get("content-type"),
            )
            app = scope["app"]
            now = app.state.clock.now()
            db: Database = app.state.db
            async with db.sessionmaker() as session:
                open_unit_of_work(session, db, now=None)
                if not await idempotency.lock(session, owner, key):
                    await rollback(session)
                    return _problem_messages(_still_running(), scope)
                stored = await idempotency.find(db, owner, key, now=now)
                if stored is not None:
                    await rollback(session)
                    if stored["request_hash"] != request_hash:
                        return _problem_messages(_reused(), scope)
                    if stored["body"] is None:
                        return _problem_messages(idempotency.not_replayable(stored), scope)
                    headers = {**stored["headers"], "idempotency-replayed": "true"}
                    return _messages(stored["status_code"], headers, stored["body"].encode())
                reply = await self._run(scope, _replay(body), session)
                if 200 <= reply.status < 300:
                    await self._remember(
                        session, scope, reply, (owner, key), request_hash, body, now
                    )
                return await self._finish(session, reply, scope)
        finally:
            self._in_flight.discard((owner, key))

    async def _remember(
        self,
        session: AsyncSession,
        scope: Scope,
        reply: _Reply,
        sender: tuple[uuid.UUID, str],
        request_hash: str,
        body: bytes,
        now: datetime,
    ) -> None:
        """Store the answer, or only that it was given if it carried a secret, with the
        candidates it is about."""
        owner, key = sender
        kept = {k: v for k, v in reply.headers.items() if k in idempotency.REPLAYED_HEADERS}
        subjects = await idempotency.subjects(
            session, scope["path"], body, reply.body, kept.get("location", "")
        )
        secret = idempotency.answer_carries_a_secret(scope)
        await idempotency.remember(
            session,
            key_id=owner,
            key=key,
            path=scope["path"],
            request_hash=request_hash,
            status=reply.status,
            headers=kept,
            body=None if secret else reply.body.decode(),
            subjects=subjects,
            now=now,
        )


def _still_running() -> Conflict:
    return Conflict("A request with this Idempotency-Key is still being processed; retry shortly.")


def _reused() -> ValidationFailed:
    return ValidationFailed(
        "This Idempotency-Key was already used with a different request; use a new key."
    )


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes, then: Receive | None = None) -> Receive:
    """The body read already, in one message; then `then` (the real `receive`, which
    reports the client going away), or a disconnect."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return await then() if then is not None else {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


async def _commit(session: Any) -> AppError | None:
    try:
        await commit(session)
    except (IntegrityError, StaleDataError) as exc:
        await rollback(session)
        if isinstance(exc, StaleDataError):
            return PreconditionFailed("The object was changed by someone else meanwhile.")
        return Conflict(
            "The change conflicts with another one made at the same time; nothing was stored."
        )
    except DATABASE_ERRORS as exc:
        await rollback(session)
        return database_error(exc)
    return None


class _BodyTooLarge(HTTPException):
    """Raised by the limited `receive`. An HTTPException, as Starlette's own body limit
    raises: FastAPI passes it on when it meets it reading a body (anything else is "an
    error parsing the body", 400), and a handler answers it 413 where it is not caught here."""

    def __init__(self) -> None:
        super().__init__(413)


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


# NUL, which PostgreSQL refuses in text and in jsonb, and a surrogate code point, which is
# not Unicode text at all (JSON can spell a lone one, `\\ud800`; a valid pair becomes one
# character when parsed). SQLite would store both, but answers alike: a value is valid or
# not whatever the database.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
# What a JSON body holding such a character must contain: its escape, or a NUL byte (any
# NUL at all, as a body in UTF-16 or UTF-32 has them everywhere). Bodies without one are not
# parsed here.
_JSON_HINT = re.compile(rb"\x00|\\u(?:0000|[dD][89a-fA-F])")
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
_MAX_REPORTED = 20


def _unstorable(path: str, text: str, location: str) -> FieldError | None:
    found = _UNSTORABLE.search(text)
    if found is None:
        return None
    char = found.group()
    what = (
        "a NUL character (U+0000)"
        if char == "\x00"
        else f"an unpaired surrogate (U+{ord(char):04X})"
    )
    return FieldError(
        field=path,
        location=location,
        message=f"contains {what}, which cannot be stored as text",
        type="unstorable_character",
    )


def _escaped(name: str) -> str:
    return _UNSTORABLE.sub(lambda m: f"\\u{ord(m.group()):04x}", name)


def _json_faults(document: Any) -> Iterator[FieldError]:
    """Every string (value or key) in a parsed JSON document that cannot be stored, in
    document order (without recursion: any depth json.loads reads is walked)."""
    stack: list[tuple[tuple[str, ...], Any]] = [((), document)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, str):
            fault = _unstorable(".".join(path) or "body", value, "body")
            if fault is not None:
                yield fault
        elif isinstance(value, dict):
            children = []
            for key, item in value.items():
                here = (*path, _escaped(key))
                fault = _unstorable(".".join(here), key, "body")
                if fault is not None:
                    yield fault
                children.append((here, item))
            stack.extend(reversed(children))
        elif isinstance(value, list):
            stack.extend(((*path, str(i)), item) for i, item in reversed(list(enumerate(value))))


def _pair_faults(pairs: list[tuple[str, Any]], location: str) -> Iterator[FieldError]:
    for name, value in pairs:
        safe = _escaped(name)
        for text in (name, value):
            fault = _unstorable(safe, text, location) if isinstance(text, str) else None
            if fault is not None:
                yield fault
                break


class StorableTextMiddleware:
    """Refuses text that no database can store, with a 422 naming each field at fault: a
    NUL in a query parameter or in a JSON or form body, or an unpaired surrogate in JSON.

    One check for every request, before any route or schema: PostgreSQL refuses such text
    with a data error only once a statement runs (it was answered 503, as if the database
    were down, and a client retrying on 503 retried forever), and no field can forget it.
    The query string and the body are read as the app reads them (Starlette's parsers, the
    standard `json` module); a body is parsed here only when it holds an escape or byte that
    could spell such a character, so ordinary requests pay a scan of their bytes. Sits inside
    the body limit, which bounds what it reads."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        query: bytes = scope.get("query_string", b"")
        if b"%00" in query or b"\x00" in query:
            faults = list(_pair_faults(QueryParams(query).multi_items(), "query"))
            if faults:
                await _refuse_text(scope, send, faults)
                return
        if scope["method"] not in WRITE_METHODS:
            await self.app(scope, receive, send)
            return
        media_type = Headers(scope=scope).get("content-type", "").split(";")[0].strip().lower()
        is_form = media_type in _FORM_TYPES
        # FastAPI reads a body without a content type as JSON too.
        is_json = not media_type or media_type == "application/json" or media_type.endswith("+json")
        if not (is_form or is_json):
            await self.app(scope, receive, send)
            return
        body = await _read_body(receive)
        faults = await (_form_faults(scope, body) if is_form else _json_body_faults(body))
        if faults:
            await _refuse_text(scope, send, faults)
            return
        await self.app(scope, _replay(body, receive), send)


async def _json_body_faults(body: bytes) -> list[FieldError]:
    if not _JSON_HINT.search(body):
        return []
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):  # not JSON (or too deep): the route answers that
        return []
    return list(_json_faults(document))[:_MAX_REPORTED]


async def _form_faults(scope: Scope, body: bytes) -> list[FieldError]:
    if b"%00" not in body and b"\x00" not in body:
        return []
    request = Request(scope, _replay(body))
    try:
        form = await request.form()
    except Exception:  # a malformed form: the route answers that
        return []
    try:
        return list(_pair_faults(form.multi_items(), "body"))[:_MAX_REPORTED]
    finally:
        await form.close()


async def _refuse_text(scope: Scope, send: Send, errors: list[FieldError]) -> None:
    fields = ", ".join(dict.fromkeys(e.field for e in errors))
    error = ValidationFailed(f"Check these fields: {fields}.", errors=errors)
    for message in _problem_messages(error, scope):
        await send(message)


class PhoneRegionMiddleware:
    """Phone numbers a request sends without a +country code are read as numbers of the
    app's own region (DEBRIEF_DEFAULT_PHONE_REGION), whichever app in the process serves it."""

    def __init__(self, app: ASGIApp, *, region: str) -> None:
        self.app = app
        self.region = region

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        with phones_read_in(self.region):
            await self.app(scope, receive, send)
