"""SQL for webhook endpoints, their deliveries and attempts."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.engine import Database
from app.db.queries import AnySelect, read_one
from app.models import Event, WebhookAttempt, WebhookDelivery, WebhookEndpoint


async def last_event_seq(session: AsyncSession) -> int:
    return int((await session.execute(select(func.coalesce(func.max(Event.seq), 0)))).scalar_one())


async def endpoints_to_fan_out(session: AsyncSession) -> list[WebhookEndpoint]:
    """Enabled endpoints with events after their cursor, locked (other replicas skip them)."""
    newest = select(func.max(Event.seq)).scalar_subquery()
    stmt = (
        select(WebhookEndpoint)
        .where(WebhookEndpoint.enabled.is_(True), WebhookEndpoint.last_event_seq < newest)
        .order_by(WebhookEndpoint.id)
        .with_for_update(skip_locked=True)
    )
    return list((await session.execute(stmt)).scalars())


async def events_after(session: AsyncSession, seq: int, limit: int) -> list[Any]:
    stmt = (
        select(Event.seq, Event.id, Event.type)
        .where(Event.seq > seq)
        .order_by(Event.seq)
        .limit(limit)
    )
    return list((await session.execute(stmt)).all())


async def add_deliveries(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    if rows:
        await session.execute(insert(WebhookDelivery), rows)


async def claim_due(
    session: AsyncSession,
    *,
    now: datetime,
    lease_until: datetime,
    limit: int,
    per_endpoint: int | None = None,
    in_flight: Mapping[uuid.UUID, int] | None = None,
) -> list[Any]:
    """Due deliveries of enabled endpoints, leased to this worker until `lease_until`: at most
    `limit`, and at most `per_endpoint` to one endpoint counting the `in_flight` ones (so one
    endpoint's backlog cannot fill the batch). Rows other workers hold are skipped."""
    in_flight = in_flight or {}
    full = [e for e, n in in_flight.items() if per_endpoint is not None and n >= per_endpoint]
    stmt = (
        select(WebhookDelivery.id, WebhookDelivery.endpoint_id)
        .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
        .where(
            WebhookDelivery.status == "pending",
            WebhookDelivery.next_attempt_at <= now,
            WebhookEndpoint.enabled.is_(True),
        )
        .order_by(WebhookDelivery.next_attempt_at)
        .limit(limit if per_endpoint is None else limit * 4)
        .with_for_update(of=WebhookDelivery, skip_locked=True)
    )
    if full:
        stmt = stmt.where(WebhookDelivery.endpoint_id.not_in(full))
    taken: Counter[uuid.UUID] = Counter(in_flight)
    ids: list[uuid.UUID] = []
    for delivery_id, endpoint_id in (await session.execute(stmt)).all():
        if len(ids) == limit:
            break
        if per_endpoint is not None and taken[endpoint_id] >= per_endpoint:
            continue  # left for a later claim; its row lock ends with this transaction
        taken[endpoint_id] += 1
        ids.append(delivery_id)
    if not ids:
        return []
    await session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.id.in_(ids))
        .values(next_attempt_at=lease_until)
    )
    rows = await session.execute(
        select(
            WebhookDelivery.id,
            WebhookDelivery.attempts,
            WebhookDelivery.event_id,
            WebhookEndpoint.id.label("endpoint_id"),
            WebhookEndpoint.url,
            WebhookEndpoint.secret,
            WebhookEndpoint.previous_secret,
            WebhookEndpoint.previous_secret_expires_at,
            Event.type,
            Event.occurred_at,
            Event.data,
        )
        .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
        .join(Event, Event.id == WebhookDelivery.event_id)
        .where(WebhookDelivery.id.in_(ids))
    )
    return list(rows.mappings().all())


def log_attempt(session: AsyncSession, **values: Any) -> None:
    session.add(WebhookAttempt(**values))


def select_deliveries(endpoint_id: uuid.UUID, status: str | None) -> AnySelect:
    stmt = select(WebhookDelivery.__table__).where(WebhookDelivery.endpoint_id == endpoint_id)
    if status is not None:
        stmt = stmt.where(WebhookDelivery.status == status)
    return stmt


def select_attempts(delivery_ids: list[uuid.UUID]) -> AnySelect:
    return (
        select(WebhookAttempt.__table__)
        .where(WebhookAttempt.delivery_id.in_(delivery_ids))
        .order_by(WebhookAttempt.attempted_at, WebhookAttempt.id)
    )


async def outbox_backlog(db: Database) -> tuple[int, int]:
    """Deliveries waiting to be sent, and events the furthest-behind endpoint has not seen."""
    stmt = select(
        select(func.count())
        .select_from(WebhookDelivery)
        .where(WebhookDelivery.status == "pending")
        .scalar_subquery()
        .label("pending"),
        select(func.max(Event.seq)).scalar_subquery().label("newest"),
        select(func.min(WebhookEndpoint.last_event_seq))
        .where(WebhookEndpoint.enabled.is_(True))
        .scalar_subquery()
        .label("slowest"),
    )
    row = await read_one(db, stmt)
    assert row is not None
    behind = (row["newest"] or 0) - row["slowest"] if row["slowest"] is not None else 0
    return int(row["pending"]), int(behind)


def select_endpoints() -> AnySelect:
    return select(WebhookEndpoint.__table__)


async def read_endpoint(db: Database, endpoint_id: uuid.UUID) -> RowMapping | None:
    return await read_one(
        db, select(WebhookEndpoint.__table__).where(WebhookEndpoint.id == endpoint_id)
    )


async def endpoint_exists(db: Database, endpoint_id: uuid.UUID) -> bool:
    stmt = select(WebhookEndpoint.id).where(WebhookEndpoint.id == endpoint_id)
    return await read_one(db, stmt) is not None
