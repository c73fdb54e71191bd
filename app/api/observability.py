"""Structured JSON logs with a request id on every line, and the requests' latency metric
(the other metrics are defined where they are measured).

Logs never carry personal data: the access line names the route template (not the path,
which may hold a candidate's link token), the status, the duration and the key's id. Any
other line naming a form's path (an error handler's, a traceback's) has the token redacted
as it is written (`redact`).
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import orjson
import structlog
from prometheus_client import Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.db.slices import reading
from app.ids import request_id

_INCOMING_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")

REQUEST_SECONDS = Histogram(
    "debrief_http_request_duration_seconds",
    "Time to answer a request.",
    ["method", "route", "status"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)

access_log = logging.getLogger("debrief.access")

READS = frozenset({"GET", "HEAD"})

# A candidate's form link, `/f/<token>`, a client's decision link, `/e/<token>`, and an
# email's unsubscribe link, `/u/<token>`: the token opens the page or acts for the person,
# so it is a secret.
_LINK_TOKEN = re.compile(r"/([feu])/[^/\s\"'?#&<>\\{}:,;]+")


def redact(text: str) -> str:
    """`text` with every link token replaced by `<redacted>`."""
    if "/f/" in text or "/e/" in text or "/u/" in text:
        return _LINK_TOKEN.sub(r"/\1/<redacted>", text)
    return text


class RedactingFormatter(structlog.stdlib.ProcessorFormatter):
    """structlog's JSON lines, with link tokens redacted from the finished line."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


class AccessLineFormatter(logging.Formatter):
    """The access line, already a dict, as one JSON object: the same fields as every other
    line, but written for every request, so without structlog's processor chain."""

    def format(self, record: logging.LogRecord) -> str:
        line = record.msg if isinstance(record.msg, dict) else {"event": record.getMessage()}
        line["level"] = record.levelname.lower()
        line["logger"] = record.name
        line["timestamp"] = datetime.fromtimestamp(record.created, UTC).isoformat()[:-6] + "Z"
        return redact(orjson.dumps(line).decode())


def _add_request_id(_: Any, __: str, event: dict[str, Any]) -> dict[str, Any]:
    current = request_id.get()
    if current is not None:
        event.setdefault("request_id", current)
    return event


def configure_logging(level: str = "INFO") -> None:
    """Every logger (ours, uvicorn's, SQLAlchemy's) writes one JSON object per line."""
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        _add_request_id,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = RedactingFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(),
        ],
    )
    handler = logging.StreamHandler()
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    access = logging.StreamHandler()
    access.setFormatter(AccessLineFormatter())
    access_log.handlers[:] = [access]
    access_log.propagate = False
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    # uvicorn's access log prints raw paths (a link token is a secret): ours replaces it.
    logging.getLogger("uvicorn.access").disabled = True
    # httpx logs every URL it calls at INFO; webhook URLs are the customer's business.
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.WARNING)


HSTS = (b"strict-transport-security", b"max-age=31536000; includeSubDomains")


class RequestContextMiddleware:
    """A request id for every request (echoed as X-Request-ID), an access log line and the
    latency histogram, by route template. With `hsts` (the public base URL is https), and on
    any request that came over https, every response tells browsers to use https only.
    Being the outermost, it also counts the reads in flight, which a bulk call's long loops
    wait for (`app.db.slices.reading`)."""

    def __init__(self, app: ASGIApp, *, hsts: bool = False) -> None:
        self.app = app
        self.hsts = hsts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = next((v.decode() for k, v in scope["headers"] if k == b"x-request-id"), "")
        rid = incoming if _INCOMING_ID.match(incoming) else uuid.uuid4().hex
        token = request_id.set(rid)
        started = time.perf_counter()
        status = 500
        extra = [(b"x-request-id", rid.encode())]
        if self.hsts or scope.get("scheme") == "https":
            extra.append(HSTS)

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        try:
            if scope["method"] in READS:
                with reading():  # long loops elsewhere wait for it (app/db/slices.py)
                    await self.app(scope, receive, send_with_id)
            else:
                await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            REQUEST_SECONDS.labels(scope["method"], route, str(status)).observe(elapsed)
            if access_log.isEnabledFor(logging.INFO):
                principal = scope.get("state", {}).get("principal")
                line = {
                    "method": scope["method"],
                    "route": route,
                    "status": status,
                    "duration_ms": round(elapsed * 1000, 2),
                    "key_id": str(principal.key_id) if principal is not None else None,
                    "event": "request",
                    "request_id": rid,
                }
                access_log.info(line)
            request_id.reset(token)
