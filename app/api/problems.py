"""The one place errors become RFC 9457 problem+json responses: the handlers every app
installs, the mapping of database errors, and the problem responses the OpenAPI document
lists."""

from __future__ import annotations

import logging
import re
from http import HTTPStatus
from typing import Any

import asyncpg
import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm.exc import StaleDataError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from app.errors import (
    AppError,
    Conflict,
    FieldError,
    PreconditionFailed,
    ServiceUnavailable,
    ValidationFailed,
    validation_errors,
)

logger = logging.getLogger("debrief.errors")

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_BASE = "https://debrief.dev/problems/"


class Problem(BaseModel):
    """An RFC 9457 problem document."""

    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
    errors: list[FieldError] | None = None


def problem_response(
    status: int,
    *,
    slug: str,
    title: str,
    detail: str,
    instance: str | None = None,
    errors: list[FieldError] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    body: dict[str, Any] = {
        "type": PROBLEM_BASE + slug,
        "title": title,
        "status": status,
        "detail": detail,
    }
    if instance:
        body["instance"] = instance
    if errors is not None:
        body["errors"] = [e.model_dump() for e in errors]
    return Response(
        orjson.dumps(body), status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=headers
    )


def app_error_response(exc: AppError, path: str) -> Response:
    """The problem document of a typed error raised for the request at `path`."""
    return problem_response(
        exc.status,
        slug=exc.slug,
        title=exc.title,
        detail=exc.detail,
        instance=path,
        errors=exc.errors,
        headers=exc.headers,
    )


async def _app_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, AppError)
    return app_error_response(exc, request.url.path)


async def _request_validation(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = validation_errors(exc.errors())
    fields = ", ".join(sorted({e.field for e in errors}))
    detail = f"Check these fields: {fields}." if fields else "The request is not valid."
    return app_error_response(ValidationFailed(detail, errors=errors), request.url.path)


def methods_for(app: Any, path: str) -> list[str]:
    """Every method the API serves on this path (for a 405's Allow header)."""
    table: list[tuple[re.Pattern[str], list[str], int]] | None = getattr(
        app.state, "method_table", None
    )
    if table is None:
        table = []
        for template, operations in app.openapi().get("paths", {}).items():
            pattern = re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template))
            methods = sorted(
                {m.upper() for m in operations} | ({"HEAD"} if "get" in operations else set())
            )
            table.append((re.compile(f"^{pattern}$"), methods, template.count("{")))
        # `/v1/candidates/bulk` before `/v1/candidates/{candidate_id}`: fixed paths win.
        table.sort(key=lambda entry: entry[2])
        app.state.method_table = table
    return next((methods for pattern, methods, _ in table if pattern.match(path)), [])


_HTTP_SLUGS = {
    404: "not-found",
    405: "method-not-allowed",
    413: "content-too-large",
    400: "bad-request",
}


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    status = exc.status_code
    phrase = HTTPStatus(status).phrase
    detail = exc.detail if isinstance(exc.detail, str) and exc.detail != phrase else None
    if status == 404 and detail is None:
        detail = f"There is nothing at {request.url.path}."
    elif status == 405:
        detail = f"{request.method} is not allowed on {request.url.path}."
        allowed = methods_for(request.app, request.url.path)
        if allowed:
            exc.headers = {**(exc.headers or {}), "Allow": ", ".join(allowed)}
    elif status == 413:
        detail = "The request body is larger than the 1 MiB this service accepts."
    return problem_response(
        status,
        slug=_HTTP_SLUGS.get(status, f"http-{status}"),
        title=phrase,
        detail=detail or phrase,
        instance=request.url.path,
        headers=dict(exc.headers or {}),
    )


async def _stale(request: Request, exc: Exception) -> Response:
    error = PreconditionFailed(
        "The object was changed by someone else meanwhile; fetch it and try again."
    )
    return app_error_response(error, request.url.path)


async def _integrity(request: Request, exc: Exception) -> Response:
    logger.info("integrity error on %s: %s", request.url.path, type(exc).__name__)
    error = Conflict("The change conflicts with an existing object (a duplicate external_id?).")
    return app_error_response(error, request.url.path)


# Errors from the database: SQLAlchemy's (wrapping asyncpg's or sqlite3's), asyncpg's own
# from the hot-read pool (`app.db.hot_read_pool.HotReadPool`), a lost connection, or every pooled
# connection busy for the pool's whole timeout. Each is answered by `database_error`.
DATABASE_ERRORS: tuple[type[Exception], ...] = (
    DBAPIError,
    asyncpg.PostgresError,
    ConnectionError,
    PoolTimeout,
)

# SQLSTATE classes that mean the request's values were refused, not that the database is
# away: 22 data exception (22001 too long, 22003 out of range, 22021 a character not in
# the encoding, 22P05 untranslatable, 22007 a bad date ...) and 54 program limit exceeded
# (a value too large for an index, too many arguments). Answered 422: sending the same
# request again cannot succeed.
_INPUT_SQLSTATE_CLASSES = frozenset({"22", "54"})
# SQLite's equivalents (sqlite3's `sqlite_errorname`).
_INPUT_SQLITE_ERRORS = frozenset({"SQLITE_TOOBIG", "SQLITE_MISMATCH", "SQLITE_RANGE"})


def _database_code(exc: BaseException) -> str | None:
    """The SQLSTATE (PostgreSQL) or result code name (SQLite) of a database error, wherever
    it is in the chain: SQLAlchemy keeps the driver's error in `.orig`, and its asyncpg
    adapter the asyncpg error in `__cause__`."""
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        error = todo.pop(0)
        if error is None or id(error) in seen:
            continue
        seen.add(id(error))
        for attribute in ("sqlstate", "pgcode", "sqlite_errorname"):
            code = getattr(error, attribute, None)
            if isinstance(code, str) and code:
                return code
        todo += [getattr(error, "orig", None), error.__cause__, error.__context__]
    return None


def database_error(exc: BaseException) -> AppError:
    """What a database error means for the client, logged with its SQLSTATE: 422 when the
    request's values were refused (`_INPUT_SQLSTATE_CLASSES`); otherwise 503 (the database
    down, restarting, out of connections, or a statement timed out or was cancelled)."""
    code = _database_code(exc)
    if code is not None and (code[:2] in _INPUT_SQLSTATE_CLASSES or code in _INPUT_SQLITE_ERRORS):
        logger.info("database refused a value: SQLSTATE %s (%s)", code, type(exc).__name__)
        return ValidationFailed(
            f"A value in this request cannot be stored (database error {code}); "
            "nothing was changed. Sending it again will not help."
        )
    logger.warning("database unavailable: SQLSTATE %s (%s)", code or "none", type(exc).__name__)
    return ServiceUnavailable(
        "The database did not answer; nothing was changed. Try again shortly.",
        headers={"Retry-After": "2"},
    )


def database_error_response(path: str, exc: BaseException) -> Response:
    return app_error_response(database_error(exc), path)


async def _database_error(request: Request, exc: Exception) -> Response:
    return database_error_response(request.url.path, exc)


async def _unexpected(request: Request, exc: Exception) -> Response:
    logger.exception("unhandled error on %s %s", request.method, request.url.path)
    error = AppError("An unexpected error occurred; it has been logged.")
    return app_error_response(error, request.url.path)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(AppError, _app_error)
    app.add_exception_handler(RequestValidationError, _request_validation)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(StaleDataError, _stale)
    app.add_exception_handler(IntegrityError, _integrity)
    for error in DATABASE_ERRORS:
        app.add_exception_handler(error, _database_error)
    app.add_exception_handler(Exception, _unexpected)


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` entries documenting the problem documents a route may answer."""
    descriptions = {
        400: "Malformed request",
        401: "No valid API key",
        403: "The key's role may not do this",
        404: "The object does not exist",
        409: "Conflicts with the current state",
        410: "No longer available",
        412: "If-Match does not match the current ETag",
        413: "Request body over 1 MiB",
        415: "The body's media type is not accepted here",
        422: "Validation failed; `errors` lists the fields at fault",
        428: "If-Match header missing",
        429: "Rate limit exceeded; see Retry-After",
        503: "Temporarily unavailable",
    }
    return {
        status: {
            "description": descriptions[status],
            "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        for status in statuses
    }
