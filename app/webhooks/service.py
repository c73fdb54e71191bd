"""Webhook endpoints: register (URL checked), change, rotate the secret; fan events out to
deliveries; redeliver by hand."""

from __future__ import annotations

import base64
import secrets
import uuid
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.db.engine import Database
from app.db.patch import apply_changes, patch_values
from app.db.sealed import Sealer
from app.db.versions import require_if_match
from app.errors import NotFound, ValidationFailed
from app.ids import uuid7
from app.models import WebhookDelivery, WebhookEndpoint
from app.webhooks import repository, ssrf
from app.webhooks.schemas import WebhookCreate, WebhookPatch

FAN_OUT_BATCH = 1000
ROTATION_OVERLAP = timedelta(hours=24)


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


async def _check_url(url: str, settings: Settings) -> None:
    if settings.environment == "production" and not url.startswith("https://"):
        raise ValidationFailed.field("url", "must be https in production")
    reason = await ssrf.refusal(url, allow_private=settings.webhook_allow_private_targets)
    if reason is not None:
        raise ValidationFailed.field("url", reason)


async def get_endpoint(session: AsyncSession, endpoint_id: uuid.UUID) -> WebhookEndpoint:
    endpoint = await session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None:
        raise NotFound.of("webhook", endpoint_id)
    return endpoint


async def create_endpoint(
    *, session: AsyncSession, data: WebhookCreate, settings: Settings, now: datetime
) -> tuple[WebhookEndpoint, str]:
    """Register an endpoint; it receives events committed from now on. Returns its secret
    (stored sealed). The URL is checked (DNS included) before the first statement of the
    transaction."""
    await _check_url(data.url, settings)
    secret = new_secret()
    endpoint = WebhookEndpoint(
        id=uuid7(),
        **data.model_dump(),
        secret=Sealer.of(settings).seal(secret),
        last_event_seq=await repository.last_event_seq(session),
        created_at=now,
        updated_at=now,
    )
    session.add(endpoint)
    await session.flush()
    return endpoint, secret


async def update_endpoint(
    *,
    session: AsyncSession,
    endpoint_id: uuid.UUID,
    patch: WebhookPatch,
    if_match: str | None,
    settings: Settings,
    now: datetime,
) -> WebhookEndpoint:
    """Change the URL, types, description or enabled flag (If-Match required)."""
    if patch.url is not None:
        # Before the first statement: a slow DNS answer must not hold the row (or, on
        # SQLite, the database's write lock).
        await _check_url(patch.url, settings)
    endpoint = await get_endpoint(session, endpoint_id)
    require_if_match(if_match, endpoint.version)
    values = patch_values(patch, not_null=("url", "event_types", "enabled"))
    if values.get("enabled"):
        values["disabled_reason"] = None
    apply_changes(endpoint, values, now=now)
    await session.flush()
    return endpoint


async def rotate_secret(
    *, session: AsyncSession, endpoint_id: uuid.UUID, settings: Settings, now: datetime
) -> tuple[WebhookEndpoint, str]:
    """A new secret; deliveries carry a signature with the old one too for 24 hours (unless
    the old one was sealed with a DEBRIEF_SECRET_KEY since changed: nobody can sign with it)."""
    sealer = Sealer.of(settings)
    endpoint = await get_endpoint(session, endpoint_id)
    usable = sealer.opens(endpoint.secret)
    endpoint.previous_secret = endpoint.secret if usable else None
    endpoint.previous_secret_expires_at = now + ROTATION_OVERLAP if usable else None
    secret = new_secret()
    endpoint.secret = sealer.seal(secret)
    endpoint.updated_at = now
    await session.flush()
    return endpoint, secret


async def delete_endpoint(*, session: AsyncSession, endpoint_id: uuid.UUID) -> None:
    """Remove an endpoint and its delivery log."""
    await session.delete(await get_endpoint(session, endpoint_id))
    await session.flush()


async def fan_out(session: AsyncSession, *, now: datetime) -> int:
    """Turn newly committed events into deliveries for the endpoints that want them."""
    created = 0
    for endpoint in await repository.endpoints_to_fan_out(session):
        batch = await repository.events_after(session, endpoint.last_event_seq, FAN_OUT_BATCH)
        wanted = set(endpoint.event_types)
        rows = [
            {
                "id": uuid7(),
                "endpoint_id": endpoint.id,
                "event_id": event.id,
                "event_type": event.type,
                "status": "pending",
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
                "updated_at": now,
            }
            for event in batch
            if not wanted or event.type in wanted
        ]
        await repository.add_deliveries(session, rows)
        if batch:
            endpoint.last_event_seq = batch[-1].seq
        created += len(rows)
    await session.flush()
    return created


async def redeliver(
    *, session: AsyncSession, endpoint_id: uuid.UUID, delivery_id: uuid.UUID, now: datetime
) -> WebhookDelivery:
    """Send a delivery's event again, now, with the same webhook-id."""
    await get_endpoint(session, endpoint_id)
    original = await session.get(WebhookDelivery, delivery_id)
    if original is None or original.endpoint_id != endpoint_id:
        raise NotFound(f"Webhook {endpoint_id} has no delivery {delivery_id}.")
    again = WebhookDelivery(
        id=uuid7(),
        endpoint_id=endpoint_id,
        event_id=original.event_id,
        event_type=original.event_type,
        status="pending",
        attempts=0,
        next_attempt_at=now,
        created_at=now,
        updated_at=now,
    )
    session.add(again)
    await session.flush()
    return again


async def outbox_backlog(db: Database) -> tuple[int, int]:
    """Deliveries waiting to be sent, and events the furthest-behind endpoint has not seen."""
    return await repository.outbox_backlog(db)
