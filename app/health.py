"""Liveness and readiness for load balancers and orchestrators."""

from __future__ import annotations

from fastapi import APIRouter, Request
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy.exc import DBAPIError
from starlette.responses import PlainTextResponse, Response

from app.deps import DB
from app.errors import ServiceUnavailable, problem_responses
from app.http import json_response
from app.migrations import schema_is_current
from app.observability import EVENT_BACKLOG, WEBHOOK_BACKLOG
from app.webhooks.repository import outbox_backlog

router = APIRouter(tags=["health"])


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


@router.get(
    "/metrics",
    summary="Prometheus metrics of this process",
    response_class=PlainTextResponse,
    responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text format"}},
)
async def metrics(db: DB) -> Response:
    """Request latency by route, sweeps, webhook outcomes and the outbox backlog."""
    pending, behind = await outbox_backlog(db)
    WEBHOOK_BACKLOG.set(pending)
    EVENT_BACKLOG.set(behind)
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
