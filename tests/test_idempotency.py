"""Idempotency-Key: the first answer replayed for 24 hours, scoped to the sender's key."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI

from app.clock import FrozenClock
from app.main import create_app
from tests.conftest import ClientMaker, make_settings
from tests.followups.helpers import all_events
from tests.test_conventions import assert_problem

BODY = {"full_name": "Amira Okafor", "external_id": "crm-1"}


async def test_a_retried_post_is_answered_from_the_first_one(
    integration: httpx.AsyncClient,
) -> None:
    headers = {"Idempotency-Key": "create-amira-1"}
    first = await integration.post("/v1/candidates", json=BODY, headers=headers)
    second = await integration.post("/v1/candidates", json=BODY, headers=headers)
    assert first.status_code == second.status_code == 201
    assert second.content == first.content
    assert second.headers["location"] == first.headers["location"]
    assert second.headers["etag"] == first.headers["etag"]
    assert second.headers["idempotency-replayed"] == "true"
    assert "idempotency-replayed" not in first.headers
    assert len((await integration.get("/v1/candidates")).json()["items"]) == 1
    assert len(await all_events(integration)) == 1


async def test_the_same_key_with_another_body_is_422(integration: httpx.AsyncClient) -> None:
    headers = {"Idempotency-Key": "k-1"}
    await integration.post("/v1/candidates", json=BODY, headers=headers)
    body = assert_problem(
        await integration.post(
            "/v1/candidates", json={**BODY, "full_name": "Someone Else"}, headers=headers
        ),
        422,
    )
    assert "different request" in body["detail"]
    other_path = await integration.post("/v1/clients", json={"name": "Acme"}, headers=headers)
    assert_problem(other_path, 422)


async def test_keys_belong_to_the_api_key_that_sent_them(client_for: ClientMaker) -> None:
    crm = await client_for("integration")
    other = await client_for("integration")
    headers = {"Idempotency-Key": "shared-name"}
    a = await crm.post("/v1/clients", json={"name": "Acme"}, headers=headers)
    b = await other.post("/v1/clients", json={"name": "Acme"}, headers=headers)
    assert a.status_code == b.status_code == 201
    assert a.json()["id"] != b.json()["id"]


async def test_an_error_is_not_remembered(integration: httpx.AsyncClient) -> None:
    headers = {"Idempotency-Key": "fix-and-retry"}
    assert_problem(
        await integration.post("/v1/candidates", json={"full_name": ""}, headers=headers), 422
    )
    assert (await integration.post("/v1/candidates", json=BODY, headers=headers)).status_code == 201


async def test_keys_are_remembered_for_24_hours(
    integration: httpx.AsyncClient, clock: FrozenClock
) -> None:
    headers = {"Idempotency-Key": "daily"}
    first = await integration.post("/v1/clients", json={"name": "Acme"}, headers=headers)
    clock.advance(timedelta(hours=23, minutes=59))
    assert (await integration.post("/v1/clients", json={"name": "Acme"}, headers=headers)).json()[
        "id"
    ] == first.json()["id"]
    clock.advance(timedelta(minutes=2))
    later = await integration.post("/v1/clients", json={"name": "Acme"}, headers=headers)
    assert later.status_code == 201
    assert later.json()["id"] != first.json()["id"]
    assert "idempotency-replayed" not in later.headers


@pytest.mark.parametrize("key", ["", " ", "x" * 256, "caf\u00e9".encode("latin-1"), "a\tb"])
async def test_malformed_keys_are_400(integration: httpx.AsyncClient, key: str | bytes) -> None:
    assert_problem(
        await integration.post("/v1/clients", json={"name": "A"}, headers={"Idempotency-Key": key}),
        400,
    )
    assert (await integration.get("/v1/clients")).json()["items"] == []


async def test_a_key_may_be_any_printable_ascii(integration: httpx.AsyncClient) -> None:
    key = "order #42: {retry} ~ " + "x" * 200
    first = await integration.post(
        "/v1/clients", json={"name": "A"}, headers={"Idempotency-Key": key}
    )
    again = await integration.post(
        "/v1/clients", json={"name": "A"}, headers={"Idempotency-Key": key}
    )
    assert first.status_code == again.status_code == 201
    assert again.headers["idempotency-replayed"] == "true"


async def test_a_sweep_with_a_key_runs_and_is_replayed(admin: httpx.AsyncClient) -> None:
    # The sweep runs its own transactions: the key's lookup must not hold the database (on
    # SQLite, its single write lock) while it runs, or the two would wait on each other.
    headers = {"Idempotency-Key": "sweep-1"}
    first = await asyncio.wait_for(admin.post("/v1/admin/sweeps", headers=headers), 10)
    again = await asyncio.wait_for(admin.post("/v1/admin/sweeps", headers=headers), 10)
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    assert again.headers["idempotency-replayed"] == "true"


def _many(n: int) -> dict[str, object]:
    return {
        "items": [
            {"external_id": f"crm-{i}", "full_name": f"P {i}", "email": f"p{i}@mail.co.uk"}
            for i in range(n)
        ]
    }


async def test_concurrent_retries_run_once(integration: httpx.AsyncClient) -> None:
    headers = {"Idempotency-Key": "bulk-once"}
    responses = await asyncio.gather(
        *(
            integration.post("/v1/candidates/bulk", json=_many(300), headers=headers)
            for _ in range(3)
        )
    )
    statuses = sorted(r.status_code for r in responses)
    assert statuses.count(200) >= 1
    assert set(statuses) <= {200, 409}
    successes = [r for r in responses if r.status_code == 200]
    assert all(r.content == successes[0].content for r in successes)
    assert [r["status"] for r in successes[0].json()["results"]] == ["created"] * 300
    assert len(await all_events(integration, "candidate.created")) == 300


@pytest.mark.postgres
async def test_concurrent_retries_on_two_replicas_run_once(
    api: FastAPI, database_url: str, make_key: object
) -> None:
    """Two app instances (two replicas) share one PostgreSQL: the key runs once across both."""
    key = await make_key("integration")  # type: ignore[operator]
    replica = create_app(make_settings(database_url), clock=api.state.clock)
    async with replica.router.lifespan_context(replica):
        clients = [
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app),
                base_url="http://t",
                headers={"Authorization": f"Bearer {key}", "Idempotency-Key": "two-replicas"},
            )
            for app in (api, replica, api, replica)
        ]
        responses = await asyncio.gather(
            *(c.post("/v1/candidates/bulk", json=_many(400)) for c in clients)
        )
        for c in clients:
            await c.aclose()
    statuses = [r.status_code for r in responses]
    assert set(statuses) <= {200, 409}
    assert 200 in statuses
    reader = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=api),
        base_url="http://t",
        headers={"Authorization": f"Bearer {key}"},
    )
    async with reader:
        created = await all_events(reader, "candidate.created")
    assert len(created) == 400
