"""Sending webhooks: signed per Standard Webhooks, retried with backoff for three days,
at least once. Deliveries are claimed with a lease, so replicas share the work and a
process that dies mid-send leaves the delivery to be retried, with the same webhook-id."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
import orjson
from standardwebhooks import Webhook

from app.db import Database, transaction
from app.ids import uuid7
from app.models import WebhookDelivery, WebhookEndpoint
from app.observability import WEBHOOK_ATTEMPTS
from app.types import iso
from app.webhooks import repository, service

logger = logging.getLogger("debrief.webhooks")

# Retried after each failed attempt, with ±10% jitter: about 76 hours in all.
RETRY_SCHEDULE = tuple(
    timedelta(seconds=s)
    for s in (5, 5 * 60, 30 * 60, 2 * 3600, 5 * 3600, 10 * 3600, 14 * 3600, 20 * 3600, 24 * 3600)
)
LEASE = timedelta(seconds=60)
CLAIM_BATCH = 20
MAX_RETRY_AFTER = timedelta(hours=24)
USER_AGENT = "Debrief-Webhooks/1"


def body_for(event_type: str, occurred_at: datetime, data: dict[str, Any]) -> bytes:
    """The Standard Webhooks payload shape: type, timestamp, data."""
    return orjson.dumps({"type": event_type, "timestamp": iso(occurred_at), "data": data})


def signed_headers(
    message_id: str, body: bytes, secrets: list[str], sent_at: datetime
) -> dict[str, str]:
    signatures = " ".join(Webhook(s).sign(message_id, sent_at, body.decode()) for s in secrets)
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(sent_at.timestamp())),
        "webhook-signature": signatures,
        "content-type": "application/json",
        "user-agent": USER_AGENT,
    }


def retry_after_seconds(value: str | None, now: datetime) -> float | None:
    """Retry-After as seconds or an HTTP date; None if absent or unreadable."""
    if not value:
        return None
    if value.strip().isdigit():
        return float(value.strip())
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max((moment - now).total_seconds(), 0.0)


def next_delay(
    attempts_made: int, retry_after: float | None, jitter: Callable[[], float]
) -> timedelta | None:
    """When to try again after `attempts_made` failures; None when the schedule is spent."""
    if attempts_made > len(RETRY_SCHEDULE):
        return None
    delay = RETRY_SCHEDULE[attempts_made - 1] * jitter()
    if retry_after is not None:
        delay = max(delay, min(timedelta(seconds=retry_after), MAX_RETRY_AFTER))
    return delay


@dataclass
class Answer:
    status_code: int | None
    error: str | None
    excerpt: str | None
    duration_ms: int
    retry_after: str | None

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


async def post(client: httpx.AsyncClient, url: str, body: bytes, headers: dict[str, str]) -> Answer:
    started = time.perf_counter()
    try:
        response = await client.post(url, content=body, headers=headers)
    except httpx.HTTPError as exc:
        elapsed = int((time.perf_counter() - started) * 1000)
        return Answer(None, f"{type(exc).__name__}: {exc}"[:500], None, elapsed, None)
    elapsed = int((time.perf_counter() - started) * 1000)
    error = None
    if response.is_redirect:
        error = f"answered {response.status_code} redirect; redirects are not followed"
    elif not response.is_success:
        error = f"answered {response.status_code}"
    return Answer(
        response.status_code,
        error,
        response.text[:500],
        elapsed,
        response.headers.get("retry-after"),
    )


def secrets_of(row: Any, now: datetime) -> list[str]:
    keys = [row["secret"]]
    expires = row["previous_secret_expires_at"]
    if row["previous_secret"] and expires is not None and expires > now:
        keys.append(row["previous_secret"])
    return keys


class Deliverer:
    """One process's share of the delivery work."""

    def __init__(
        self, db: Database, client: httpx.AsyncClient, clock: Callable[[], datetime]
    ) -> None:
        self.db = db
        self.client = client
        self.clock = clock
        self.jitter: Callable[[], float] = lambda: random.uniform(0.9, 1.1)  # noqa: S311 - not crypto

    async def run_once(self) -> int:
        """Fan out new events, then send what is due. Returns how many were attempted."""
        now = self.clock()
        async with transaction(self.db) as session:
            await service.fan_out(session, now=now)
        async with transaction(self.db) as session:
            claimed = await repository.claim_due(
                session, now=now, lease_until=now + LEASE, limit=CLAIM_BATCH
            )
        if claimed:
            answers = await asyncio.gather(*(self._send(row, now) for row in claimed))
            for row, answer in zip(claimed, answers, strict=True):
                await self._record(row, answer)
        return len(claimed)

    async def _send(self, row: Any, now: datetime) -> Answer:
        body = body_for(row["type"], row["occurred_at"], row["data"])
        headers = signed_headers(
            str(row["event_id"]), body, secrets_of(row, now), datetime.now(UTC)
        )
        return await post(self.client, row["url"], body, headers)

    async def _record(self, row: Any, answer: Answer) -> None:
        now = self.clock()
        async with transaction(self.db) as session:
            delivery = await session.get(WebhookDelivery, row["id"], with_for_update=True)
            if delivery is None or delivery.status != "pending":
                return  # the endpoint was deleted meanwhile
            repository.log_attempt(
                session,
                id=uuid7(),
                delivery_id=delivery.id,
                attempted_at=now,
                status_code=answer.status_code,
                error=answer.error,
                duration_ms=answer.duration_ms,
                response_excerpt=answer.excerpt,
            )
            delivery.attempts += 1
            delivery.last_status_code = answer.status_code
            delivery.last_error = answer.error
            delivery.updated_at = now
            if answer.ok:
                delivery.status, delivery.delivered_at, delivery.next_attempt_at = (
                    "delivered",
                    now,
                    None,
                )
                return
            if answer.status_code == 410:
                endpoint = await session.get(WebhookEndpoint, delivery.endpoint_id)
                if endpoint is not None:
                    endpoint.enabled = False
                    endpoint.disabled_reason = (
                        f"answered 410 Gone on {iso(now)}; re-enable it to resume"
                    )
                    endpoint.updated_at = now
                delivery.status, delivery.next_attempt_at = "failed", None
                WEBHOOK_ATTEMPTS.labels("gone").inc()
                return
            delay = next_delay(
                delivery.attempts, retry_after_seconds(answer.retry_after, now), self.jitter
            )
            WEBHOOK_ATTEMPTS.labels("failed" if delay is None else "retry").inc()
            if delay is None:
                delivery.status, delivery.next_attempt_at = "failed", None
                logger.warning(
                    "webhook delivery %s failed after %d attempts", delivery.id, delivery.attempts
                )
            else:
                delivery.next_attempt_at = now + delay

    async def ping(self, endpoint: Mapping[Any, Any]) -> Answer:
        """A signed `webhook.test` message, sent now; nothing is stored. `endpoint` is the
        endpoint's row (id, url and secrets)."""
        now = self.clock()
        body = orjson.dumps(
            {
                "type": "webhook.test",
                "timestamp": iso(now),
                "data": {"webhook_id": str(endpoint["id"])},
            }
        )
        keys = secrets_of(endpoint, now)
        return await post(
            self.client,
            endpoint["url"],
            body,
            signed_headers(str(uuid7()), body, keys, datetime.now(UTC)),
        )
