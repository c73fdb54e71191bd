"""Receivers that answer too much or too slowly cannot hurt the service: what is read of an
answer is capped, every attempt has one deadline, and a slow receiver holds up nobody else."""

from __future__ import annotations

import asyncio
import time
import tracemalloc
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from app.clock import FrozenClock
from app.webhooks.delivery import Deliverer
from app.webhooks.ssrf import GuardedTransport
from tests.conftest import KeyMaker
from tests.webhooks.conftest import delivering_replica
from tests.webhooks.receiver import RawReceiver, Receiver

MiB = 1024 * 1024


async def register(crm: httpx.AsyncClient, url: str) -> dict[str, Any]:
    response = await crm.post("/v1/webhooks", json={"url": url})
    assert response.status_code == 201, response.text
    hook: dict[str, Any] = response.json()
    return hook


async def the_delivery(crm: httpx.AsyncClient, hook: dict[str, Any]) -> dict[str, Any]:
    (delivery,) = (await crm.get(f"/v1/webhooks/{hook['id']}/deliveries")).json()["items"]
    return delivery  # type: ignore[no-any-return]


async def raw(mode: str, **options: Any) -> RawReceiver:
    server = RawReceiver(mode, **options)
    await server.start()
    return server


@pytest.fixture
async def huge() -> AsyncIterator[RawReceiver]:
    server = await raw("huge", size=100 * MiB)
    yield server
    await server.stop()


@pytest.fixture
async def trickler() -> AsyncIterator[RawReceiver]:
    server = await raw("trickle", interval=0.5)
    yield server
    await server.stop()


async def test_a_huge_answer_is_cut_off_after_a_few_kib(
    crm: httpx.AsyncClient, deliverer: Deliverer, huge: RawReceiver
) -> None:
    hook = await register(crm, huge.url)
    await crm.post("/v1/candidates", json={"full_name": "Amira Okafor"})
    tracemalloc.start()
    started = time.perf_counter()
    try:
        assert await deliverer.run_once() == 1
        took = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 20 * MiB, f"the process grew by {peak / MiB:.1f} MiB"
    assert took < 5, f"recorded after {took:.1f} s"
    assert huge.finished == 0  # we hung up long before the 100 MiB were sent
    assert huge.bytes_sent < 50 * MiB
    delivery = await the_delivery(crm, hook)
    assert delivery["status"] == "delivered"
    (attempt,) = delivery["attempt_log"]
    assert attempt["status_code"] == 200
    assert attempt["response_excerpt"] == "x" * 500


async def test_a_trickling_receiver_is_abandoned_at_the_deadline_and_holds_up_nobody(
    crm: httpx.AsyncClient,
    deliverer: Deliverer,
    receiver: Receiver,
    trickler: RawReceiver,
    clock: FrozenClock,
) -> None:
    """The trickler sends a valid answer, one byte every half second (about 20 s in all)."""
    deliverer.attempt_seconds = 2.0
    slow = await register(crm, trickler.url)
    fast = await register(crm, receiver.url)
    receiver.secrets = [fast["secret"]]
    await crm.post("/v1/candidates", json={"full_name": "Amira Okafor"})

    started = time.perf_counter()
    round_ = asyncio.create_task(deliverer.run_once())
    try:
        fast_recorded = None
        while time.perf_counter() - started < 4:
            listed = (await crm.get(f"/v1/webhooks/{fast['id']}/deliveries")).json()["items"]
            if listed and listed[0]["status"] == "delivered":
                fast_recorded = time.perf_counter() - started
                break
            await asyncio.sleep(0.05)
        assert fast_recorded is not None
        assert fast_recorded < 1.5
        assert not round_.done()  # the trickler's attempt is still going
        assert await asyncio.wait_for(round_, timeout=10) == 2
    finally:
        round_.cancel()
    took = time.perf_counter() - started
    assert 2.0 <= took < 4.0, f"the attempt ended after {took:.1f} s"
    assert trickler.finished == 0

    delivery = await the_delivery(crm, slow)
    assert (delivery["status"], delivery["attempts"]) == ("pending", 1)
    assert "no answer within 2 s" in delivery["last_error"]
    assert delivery["attempt_log"][0]["status_code"] is None
    assert delivery["next_attempt_at"] == "2026-03-04T10:00:05Z"  # the schedule's first retry

    trickler.mode = "ok"  # the receiver got better: the retry goes through
    clock.advance(timedelta(seconds=5))
    assert await deliverer.run_once() == 1
    delivery = await the_delivery(crm, slow)
    assert (delivery["status"], delivery["attempts"]) == ("delivered", 2)
    assert len(receiver.received) == 1  # the fast one was sent once


async def test_the_delivery_loop_keeps_sending_while_a_receiver_trickles(
    api: FastAPI, database_url: str, make_key: KeyMaker, receiver: Receiver, trickler: RawReceiver
) -> None:
    """A replica's own loop: events committed while a trickler holds its deliveries reach the
    other receiver at once, even with few slots and a backlog for the trickler."""
    async with delivering_replica(
        api, database_url, make_key, webhook_attempt_seconds=5, webhook_max_in_flight=4
    ) as client:
        await register(client, trickler.url)
        fast = await register(client, receiver.url)
        receiver.secrets = [fast["secret"]]
        started = time.perf_counter()
        for i in range(6):
            await client.post("/v1/candidates", json={"full_name": f"Person {i}"})
            await asyncio.sleep(0.1)
        while len(receiver.received) < 6 and time.perf_counter() - started < 4.5:  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        took = time.perf_counter() - started
        assert len(receiver.received) == 6, f"{len(receiver.received)} of 6 after {took:.1f} s"
        assert took < 3.0, f"the last one arrived after {took:.1f} s"  # the trickler: 5 s
        assert trickler.requests >= 1


async def test_an_answer_with_nul_bytes_is_recorded(
    crm: httpx.AsyncClient, deliverer: Deliverer
) -> None:
    """PostgreSQL cannot store NUL in text: the excerpt replaces it rather than failing the
    recording (which would leave the delivery to be sent again and again)."""
    server = await raw("nul")
    try:
        hook = await register(crm, server.url)
        await crm.post("/v1/candidates", json={"full_name": "Amira Okafor"})
        assert await deliverer.run_once() == 1
    finally:
        await server.stop()
    delivery = await the_delivery(crm, hook)
    assert delivery["status"] == "delivered"
    assert delivery["attempt_log"][0]["response_excerpt"] == "ok\ufffd\ufffd received\ufffd"


async def test_two_replicas_sending_side_by_side_send_each_delivery_once(
    crm: httpx.AsyncClient, deliverer: Deliverer, receiver: Receiver, hooks_app: FastAPI
) -> None:
    hook = await register(crm, receiver.url)
    receiver.secrets = [hook["secret"]]
    for i in range(12):
        await crm.post("/v1/candidates", json={"full_name": f"Person {i}"})
    other = Deliverer(
        hooks_app.state.db,
        httpx.AsyncClient(transport=GuardedTransport(allow_private=True), follow_redirects=False),
        hooks_app.state.clock.now,
        sealer=deliverer.sealer,
        max_in_flight=8,  # two at a time to one endpoint
    )
    try:
        sent = 0
        for _ in range(10):
            rounds = await asyncio.gather(deliverer.run_once(), other.run_once())
            sent += sum(rounds)
            if sum(rounds) == 0:
                break
    finally:
        await other.client.aclose()
    assert sent == 12
    assert len(receiver.ids()) == 12
    assert len(set(receiver.ids())) == 12
    listed = (await crm.get(f"/v1/webhooks/{hook['id']}/deliveries")).json()["items"]
    assert {(d["status"], d["attempts"]) for d in listed} == {("delivered", 1)}
