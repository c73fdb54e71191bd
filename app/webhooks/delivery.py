"""Sending webhooks: signed per Standard Webhooks, retried with backoff for three days,
at least once. Deliveries are claimed with a lease, so replicas share the work and a
process that dies mid-send leaves the delivery to be retried, with the same webhook-id.

A receiver cannot hurt the service: every attempt has one deadline for the whole exchange
(connecting, sending, the answer's head and what is read of its body), only the first few
KiB of an answer are read, and deliveries are sent side by side, each recorded as soon as
its own attempt ends, so a slow receiver holds only its own deliveries."""

from __future__ import annotations

import contextlib
import logging
import random
import time
import uuid
from collections import Counter
from collections.abc import AsyncGenerator, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any, cast

import anyio
import httpx
import orjson
import prometheus_client
from anyio.abc import TaskGroup
from standardwebhooks import Webhook

from app.db.engine import Database
from app.db.sealed import Sealer, Unsealable
from app.db.transaction import transaction
from app.ids import uuid7
from app.models import WebhookDelivery, WebhookEndpoint
from app.schemas.base import iso
from app.webhooks import repository, service

logger = logging.getLogger("debrief.webhooks")
WEBHOOK_ATTEMPTS = prometheus_client.Counter(
    "debrief_webhook_attempts_total", "Webhook attempts by outcome.", ["outcome"]
)

# Retried after each failed attempt, with ±10% jitter: about 76 hours in all.
RETRY_SCHEDULE = tuple(
    timedelta(seconds=s)
    for s in (5, 5 * 60, 30 * 60, 2 * 3600, 5 * 3600, 10 * 3600, 14 * 3600, 20 * 3600, 24 * 3600)
)
LEASE = timedelta(seconds=60)
CLAIM_BATCH = 20
# One attempt, start to end, at most this long by default (DEBRIEF_WEBHOOK_ATTEMPT_SECONDS);
# well inside the lease, so a delivery is recorded before another replica may claim it.
ATTEMPT_SECONDS = 15.0
# Deliveries in flight in one process (DEBRIEF_WEBHOOK_MAX_IN_FLIGHT), and at most a quarter
# of them to one endpoint, so one slow receiver with a backlog cannot take every slot.
MAX_IN_FLIGHT = 32
PER_ENDPOINT_SHARE = 4
# Of an answer, at most this much is read (the rest is never received), and this much kept.
READ_BYTES = 4096
EXCERPT_CHARS = 500
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


async def post(
    client: httpx.AsyncClient,
    url: str,
    body: bytes,
    headers: dict[str, str],
    *,
    deadline: float = ATTEMPT_SECONDS,
) -> Answer:
    """One attempt, over within `deadline` seconds whatever the receiver does. Its verdict is
    the status code; of the body, at most READ_BYTES are read, within the same deadline."""
    started = time.perf_counter()

    def elapsed() -> int:
        return int((time.perf_counter() - started) * 1000)

    status: int | None = None
    retry_after = encoding = None
    head = bytearray()
    with anyio.move_on_after(deadline) as scope:
        try:
            async with client.stream(
                "POST", url, content=body, headers={**headers, "accept-encoding": "identity"}
            ) as response:
                status = response.status_code
                retry_after = response.headers.get("retry-after")
                encoding = response.headers.get("content-encoding", "identity").lower()
                chunks = cast("AsyncGenerator[bytes, None]", response.aiter_raw())
                async with contextlib.aclosing(chunks):
                    async for chunk in chunks:
                        head += chunk[: READ_BYTES - len(head)]
                        if len(head) >= READ_BYTES:
                            break  # closing the response drops the connection unread
        except httpx.HTTPError as exc:
            if status is None:
                return Answer(None, f"{type(exc).__name__}: {exc}"[:500], None, elapsed(), None)
            # The answer's head arrived, its body broke off: the status still counts.
    if status is None:
        assert scope.cancelled_caught
        return Answer(
            None,
            f"no answer within {deadline:g} s; the attempt was abandoned",
            None,
            elapsed(),
            None,
        )
    error = None
    if 300 <= status < 400:
        error = f"answered {status} redirect; redirects are not followed"
    elif not 200 <= status < 300:
        error = f"answered {status}"
    return Answer(status, error, excerpt_of(bytes(head), encoding), elapsed(), retry_after)


def excerpt_of(head: bytes, encoding: str | None) -> str:
    """What is kept of an answer: text the database can store (no NUL), EXCERPT_CHARS long."""
    if encoding not in (None, "identity"):
        return f"({encoding}-encoded answer, not kept)"
    text = head.decode("utf-8", errors="replace")[:EXCERPT_CHARS]
    return text.replace("\x00", "\ufffd")


UNSEALABLE = (
    "not sent: the endpoint's secret was stored under another DEBRIEF_SECRET_KEY; restore "
    "that key, or rotate the secret (docs/security.md)"
)


def secrets_of(row: Any, now: datetime, sealer: Sealer) -> list[str]:
    """The endpoint's secrets to sign with, opened; `Unsealable` if this key cannot."""
    keys = [sealer.open(row["secret"])]
    expires = row["previous_secret_expires_at"]
    if row["previous_secret"] and expires is not None and expires > now:
        keys.append(sealer.open(row["previous_secret"]))
    return keys


class Deliverer:
    """One process's share of the delivery work."""

    def __init__(
        self,
        db: Database,
        client: httpx.AsyncClient,
        clock: Callable[[], datetime],
        *,
        sealer: Sealer,
        attempt_seconds: float = ATTEMPT_SECONDS,
        max_in_flight: int = MAX_IN_FLIGHT,
    ) -> None:
        self.db = db
        self.client = client
        self.clock = clock
        self.sealer = sealer  # opens the endpoints' secrets
        self.attempt_seconds = attempt_seconds
        self.max_in_flight = max_in_flight
        # A quarter of the slots at most to one endpoint.
        self.per_endpoint = max(1, max_in_flight // PER_ENDPOINT_SHARE)
        self.jitter: Callable[[], float] = lambda: random.uniform(0.9, 1.1)  # noqa: S311 - not crypto
        # Called when a delivery ends and frees a slot that a due delivery may be waiting for.
        self.on_room: Callable[[], None] = lambda: None
        self._in_flight: Counter[uuid.UUID] = Counter()  # by endpoint

    @property
    def in_flight(self) -> int:
        return self._in_flight.total()

    async def run_once(self) -> int:
        """Fan out new events, then send what is due, side by side; each delivery is recorded
        as soon as its own attempt ends. Returns how many were attempted, once all are."""
        async with anyio.create_task_group() as tasks:
            started = await self.dispatch(tasks)
        return started

    async def dispatch(self, tasks: TaskGroup) -> int:
        """Fan out new events, claim what is due (as much as there is room for) and start
        sending it in `tasks`. Returns how many deliveries were started."""
        now = self.clock()
        async with transaction(self.db, now=now) as session:
            await service.fan_out(session, now=now)
        room = min(CLAIM_BATCH, self.max_in_flight - self.in_flight)
        if room <= 0:
            return 0
        async with transaction(self.db, now=now) as session:
            claimed = await repository.claim_due(
                session,
                now=now,
                lease_until=now + LEASE,
                limit=room,
                per_endpoint=self.per_endpoint,
                in_flight=self._in_flight,
            )
        for row in claimed:
            self._in_flight[row["endpoint_id"]] += 1
            tasks.start_soon(self._deliver, row, now)
        return len(claimed)

    async def _deliver(self, row: Any, now: datetime) -> None:
        endpoint = row["endpoint_id"]
        try:
            answer = await self._send(row, now)
            await self._record(row, answer)
        except Exception:
            # The database may be restarting: the lease runs out and the delivery is retried.
            logger.exception("webhook delivery %s could not be recorded", row["id"])
        finally:
            full = (
                self.in_flight >= self.max_in_flight
                or self._in_flight[endpoint] >= self.per_endpoint
            )
            self._in_flight[endpoint] -= 1
            if self._in_flight[endpoint] <= 0:
                del self._in_flight[endpoint]
            if full:
                self.on_room()

    async def _send(self, row: Any, now: datetime) -> Answer:
        body = body_for(row["type"], row["occurred_at"], row["data"])
        return await self._post_signed(row, str(row["event_id"]), body, now, self.clock())

    async def _post_signed(
        self,
        endpoint: Mapping[Any, Any],
        message_id: str,
        body: bytes,
        now: datetime,
        sent_at: datetime,
    ) -> Answer:
        """Sign with the endpoint's secrets and send. Secrets this key cannot open make a
        failed attempt that says why (retried as any other), never a wrong signature."""
        try:
            keys = secrets_of(endpoint, now, self.sealer)
        except Unsealable:
            logger.error("webhook message %s %s", message_id, UNSEALABLE)
            return Answer(None, UNSEALABLE, None, 0, None)
        headers = signed_headers(message_id, body, keys, sent_at)
        return await post(
            self.client, endpoint["url"], body, headers, deadline=self.attempt_seconds
        )

    async def _record(self, row: Any, answer: Answer) -> None:
        now = self.clock()
        async with transaction(self.db, now=now) as session:
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
        return await self._post_signed(endpoint, str(uuid7()), body, now, now)
