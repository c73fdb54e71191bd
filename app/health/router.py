"""Liveness and readiness for load balancers and orchestrators."""

from __future__ import annotations

import hmac

from fastapi import Depends, Request
from prometheus_client import CONTENT_TYPE_LATEST, Gauge, generate_latest
from sqlalchemy.exc import DBAPIError
from starlette.responses import PlainTextResponse, Response

from app.api.bearer import secret_of
from app.api.dependencies import DB, AppSettings
from app.api.problems import problem_responses
from app.api.responses import json_response
from app.api.routing import APIRouter
from app.db.migrations import schema_is_current
from app.errors import NotFound, ServiceUnavailable, Unauthorized
from app.webhooks.service import outbox_backlog

router = APIRouter(tags=["health"])

# Read afresh at each scrape (`metrics`).
WEBHOOK_BACKLOG = Gauge("debrief_webhook_pending_deliveries", "Deliveries waiting to be sent.")
EVENT_BACKLOG = Gauge(
    "debrief_outbox_events_not_fanned_out", "Events not yet turned into deliveries (all endpoints)."
)


@router.get("/healthz", summary="The process is alive")
async def healthz() -> Response:
    return json_response({"status": "ok"})


@router.get(
    "/readyz",
    summary="The database answers and its schema is current",
    responses=problem_responses(503),
)
async def readyz(request: Request, db: DB) -> Response:
    head = request.app.state.schema_head
    try:
        current = await schema_is_current(db, head)
    except (DBAPIError, OSError) as exc:
        raise ServiceUnavailable("The database does not answer.") from exc
    if not current:
        raise ServiceUnavailable(f"The database schema is not at {head}; run `debrief migrate`.")
    return json_response({"status": "ready", "schema": head})


async def metrics_access(request: Request, settings: AppSettings) -> None:
    """With DEBRIEF_METRICS_TOKEN set, /metrics wants it as a Bearer token; without one it is
    open in development and test, and does not exist in production."""
    token = settings.metrics_token
    if token is None:
        if settings.environment == "production":
            raise NotFound("Nothing here.")
        return
    sent = secret_of(request.headers.get("authorization")) or ""
    if not hmac.compare_digest(sent.encode(), token.get_secret_value().encode()):
        raise Unauthorized("Send the metrics token as 'Authorization: Bearer <token>'.")


@router.get(
    "/metrics",
    summary="Prometheus metrics of this process",
    response_class=PlainTextResponse,
    dependencies=[Depends(metrics_access)],
    responses={
        200: {"content": {"text/plain": {}}, "description": "Prometheus text format"},
        **problem_responses(401, 404),
    },
)
async def metrics(db: DB) -> Response:
    """Request latency by route, sweeps, webhook outcomes and the outbox backlog.

    With `DEBRIEF_METRICS_TOKEN` set, send it as `Authorization: Bearer <token>`; without
    one, /metrics is open in development and test and answers 404 in production."""
    pending, behind = await outbox_backlog(db)
    WEBHOOK_BACKLOG.set(pending)
    EVENT_BACKLOG.set(behind)
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
