from __future__ import annotations

import uuid
from typing import Literal

from fastapi import Request
from starlette.responses import Response

from app.api.dependencies import DB, AppSettings, Now, Session
from app.api.idempotency import NOT_REPLAYABLE
from app.api.problems import problem_responses
from app.api.responses import Cursor, IfMatch, Limit, Page, json_response, object_response
from app.api.routing import APIRouter
from app.auth.dependencies import AdminOrIntegration
from app.db.queries import found, read_all, read_page
from app.errors import NotFound
from app.models import WebhookDelivery, WebhookEndpoint
from app.webhooks import repository, service
from app.webhooks.delivery import Deliverer
from app.webhooks.schemas import (
    AttemptOut,
    DeliveryOut,
    PingResult,
    WebhookCreate,
    WebhookOut,
    WebhookPatch,
    WebhookWithSecret,
)

router = APIRouter(
    prefix="/v1/webhooks", tags=["webhooks"], responses=problem_responses(401, 403, 422, 429)
)


def _with_secret(endpoint: WebhookEndpoint, secret: str) -> WebhookWithSecret:
    return WebhookWithSecret(**WebhookOut.model_validate(endpoint).model_dump(), secret=secret)


@router.post(
    "",
    status_code=201,
    response_model=WebhookWithSecret,
    responses=problem_responses(409, 413),
    dependencies=[NOT_REPLAYABLE],
)
async def create_webhook(
    body: WebhookCreate, session: Session, settings: AppSettings, now: Now, _: AdminOrIntegration
) -> Response:
    """Register an endpoint. Its `secret` is in this response only; events committed from
    now on are delivered to it (use `GET /v1/events` for earlier ones)."""
    endpoint, secret = await service.create_endpoint(
        session=session, data=body, settings=settings, now=now
    )
    return object_response(
        _with_secret(endpoint, secret),
        version=endpoint.version,
        status=201,
        location=f"/v1/webhooks/{endpoint.id}",
    )


@router.get("", response_model=Page[WebhookOut])
async def list_webhooks(
    db: DB, _: AdminOrIntegration, limit: Limit = 50, cursor: Cursor = None
) -> Response:
    stmt = repository.select_endpoints()
    rows, next_cursor = await read_page(
        db, stmt, key=WebhookEndpoint.id, limit=limit, cursor=cursor
    )
    return Page.response(WebhookOut, rows, next_cursor)


@router.get("/{webhook_id:uuid}", response_model=WebhookOut, responses=problem_responses(404))
async def get_webhook(webhook_id: uuid.UUID, db: DB, _: AdminOrIntegration) -> Response:
    row = found(await repository.read_endpoint(db, webhook_id), "webhook", webhook_id)
    return object_response(WebhookOut.model_validate(row), version=row["version"])


@router.patch(
    "/{webhook_id:uuid}", response_model=WebhookOut, responses=problem_responses(404, 412, 413, 428)
)
async def update_webhook(
    webhook_id: uuid.UUID,
    body: WebhookPatch,
    session: Session,
    settings: AppSettings,
    now: Now,
    _: AdminOrIntegration,
    if_match: IfMatch = None,
) -> Response:
    """Change it; `enabled: true` resumes one that was switched off (e.g. after a 410)."""
    endpoint = await service.update_endpoint(
        session=session,
        endpoint_id=webhook_id,
        patch=body,
        if_match=if_match,
        settings=settings,
        now=now,
    )
    return object_response(WebhookOut.model_validate(endpoint), version=endpoint.version)


@router.delete("/{webhook_id:uuid}", status_code=204, responses=problem_responses(404))
async def delete_webhook(
    webhook_id: uuid.UUID, session: Session, _: AdminOrIntegration
) -> Response:
    await service.delete_endpoint(session=session, endpoint_id=webhook_id)
    return Response(status_code=204)


@router.post(
    "/{webhook_id:uuid}/rotate-secret",
    response_model=WebhookWithSecret,
    responses=problem_responses(404, 409),
    dependencies=[NOT_REPLAYABLE],
)
async def rotate_webhook_secret(
    webhook_id: uuid.UUID,
    session: Session,
    settings: AppSettings,
    now: Now,
    _: AdminOrIntegration,
) -> Response:
    """A new secret, shown once. For 24 hours deliveries are signed with both."""
    endpoint, secret = await service.rotate_secret(
        session=session, endpoint_id=webhook_id, settings=settings, now=now
    )
    return object_response(_with_secret(endpoint, secret), version=endpoint.version)


@router.post("/{webhook_id:uuid}/test", response_model=PingResult, responses=problem_responses(404))
async def ping_webhook(
    webhook_id: uuid.UUID, request: Request, db: DB, _: AdminOrIntegration
) -> Response:
    """Send a signed `webhook.test` message now and report how the endpoint answered.
    Nothing is stored, so no transaction is held open while the endpoint answers."""
    endpoint = found(await repository.read_endpoint(db, webhook_id), "webhook", webhook_id)
    deliverer: Deliverer = request.app.state.deliverer
    answer = await deliverer.ping(endpoint)
    return json_response(
        PingResult(
            ok=answer.ok,
            status_code=answer.status_code,
            error=answer.error,
            duration_ms=answer.duration_ms,
        )
    )


@router.get(
    "/{webhook_id:uuid}/deliveries",
    response_model=Page[DeliveryOut],
    responses=problem_responses(404),
)
async def list_deliveries(
    webhook_id: uuid.UUID,
    db: DB,
    _: AdminOrIntegration,
    status: Literal["pending", "delivered", "failed"] | None = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Response:
    """Every delivery to this endpoint, oldest first, each with the log of its attempts."""
    if not await repository.endpoint_exists(db, webhook_id):
        raise NotFound.of("webhook", webhook_id)
    rows, next_cursor = await read_page(
        db,
        repository.select_deliveries(webhook_id, status),
        key=WebhookDelivery.id,
        limit=limit,
        cursor=cursor,
    )
    attempts: dict[uuid.UUID, list[AttemptOut]] = {}
    if rows:
        for attempt in await read_all(db, repository.select_attempts([r["id"] for r in rows])):
            attempts.setdefault(attempt["delivery_id"], []).append(
                AttemptOut.model_validate(attempt)
            )
    items = [
        DeliveryOut.model_validate({**r, "attempt_log": attempts.get(r["id"], [])}) for r in rows
    ]
    return json_response(Page[DeliveryOut](items=items, next_cursor=next_cursor))


@router.post(
    "/{webhook_id:uuid}/deliveries/{delivery_id:uuid}/redeliver",
    status_code=201,
    response_model=DeliveryOut,
    responses=problem_responses(404),
)
async def redeliver(
    webhook_id: uuid.UUID,
    delivery_id: uuid.UUID,
    session: Session,
    now: Now,
    _: AdminOrIntegration,
) -> Response:
    """Queue the same event again, now; it keeps its `webhook-id`."""
    delivery = await service.redeliver(
        session=session, endpoint_id=webhook_id, delivery_id=delivery_id, now=now
    )
    return json_response(DeliveryOut.model_validate(delivery), status=201)
