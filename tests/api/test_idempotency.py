"""Idempotency-Key: the first answer replayed for 24 hours, only to the live key that sent
it; answers carrying a secret are not kept; the sweep deletes answers past 24 hours."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from app.clock import FrozenClock
from app.db.base import Base
from app.db.engine import Database
from app.main import create_app
from tests.conftest import T0, ClientMaker, make_settings
from tests.factories import create_interview
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


# --- The stored answers are not a second key store --------------------------------------


async def _stored_answers(db: Database) -> str:
    """Everything the idempotency tables hold, as text."""
    tables = [t for t in Base.metadata.sorted_tables if t.name.startswith("idempotency")]
    async with db.read_engine.connect() as conn:
        rows = [row for table in tables for row in (await conn.execute(select(table))).all()]
    return "\n".join(repr(tuple(row)) for row in rows)


async def test_a_revoked_key_gets_no_replay(client_for: ClientMaker, db: Database) -> None:
    """The attack: an admin key makes a key with an Idempotency-Key, is revoked, and replays
    the call to get the new key's secret back. It gets 401 and no secret."""
    leaver = await client_for("admin")
    other_admin = await client_for("admin")
    headers = {"Idempotency-Key": "make-a-key"}
    body = {"name": "CRM", "role": "integration"}
    created = await leaver.post("/v1/api-keys", json=body, headers=headers)
    assert created.status_code == 201
    secret = created.json()["key"]
    client = await leaver.post(
        "/v1/clients", json={"name": "Acme"}, headers={"Idempotency-Key": "c"}
    )
    assert client.status_code == 201

    # The leaver's own key: the one whose visible prefix its Authorization header starts with.
    leaver_secret = leaver.headers["authorization"].removeprefix("Bearer ")
    listed = (await other_admin.get("/v1/api-keys")).json()["items"]
    leaver_id = next(k["id"] for k in listed if leaver_secret.startswith(k["prefix"]))
    assert (await other_admin.delete(f"/v1/api-keys/{leaver_id}")).status_code == 200

    replay = await leaver.post("/v1/api-keys", json=body, headers=headers)
    assert_problem(replay, 401)
    assert secret not in replay.text
    assert "idempotency-replayed" not in replay.headers
    assert_problem(
        await leaver.post("/v1/clients", json={"name": "Acme"}, headers={"Idempotency-Key": "c"}),
        401,
    )
    assert secret not in await _stored_answers(db)


async def test_an_unknown_key_is_401_before_any_lookup(
    integration: httpx.AsyncClient, anonymous: httpx.AsyncClient
) -> None:
    headers = {"Idempotency-Key": "k"}
    assert (
        await integration.post("/v1/clients", json={"name": "A"}, headers=headers)
    ).status_code == 201
    forged = await anonymous.post(
        "/v1/clients",
        json={"name": "A"},
        headers={**headers, "Authorization": "Bearer dbr_not-a-real-key"},
    )
    assert_problem(forged, 401)


SECRET_ROUTES = ("api-key", "webhook", "rotated webhook secret", "debrief link")


async def _secret_call(admin: httpx.AsyncClient, what: str) -> tuple[str, dict[str, object], str]:
    """(path, body, where the secret is in the answer) of a call whose answer carries one."""
    if what == "api-key":
        return "/v1/api-keys", {"name": "CRM", "role": "integration"}, "key"
    if what == "webhook":
        return "/v1/webhooks", {"url": "https://93.184.216.34/hooks"}, "secret"
    if what == "rotated webhook secret":
        hook = (await admin.post("/v1/webhooks", json={"url": "https://93.184.216.34/h"})).json()
        return f"/v1/webhooks/{hook['id']}/rotate-secret", {}, "secret"
    interview = await create_interview(admin, starts_at=T0 - timedelta(hours=3))
    return f"/v1/interviews/{interview['id']}/debrief-links", {}, "url"


@pytest.mark.parametrize("what", SECRET_ROUTES)
async def test_an_answer_carrying_a_secret_is_not_kept_nor_replayed(
    admin: httpx.AsyncClient, db: Database, what: str
) -> None:
    path, body, field = await _secret_call(admin, what)
    headers = {"Idempotency-Key": f"secret-{what}"}
    first = await admin.post(path, json=body, headers=headers)
    assert first.status_code in (200, 201), first.text
    secret = first.json()[field]
    # A link's token (the URL's last part), or the whole secret (whose base64 may hold a "/").
    token = secret.rsplit("/", 1)[-1] if secret.startswith("http") else secret
    stored = await _stored_answers(db)
    assert f"secret-{what}" in stored  # the key is remembered, so the change is not redone
    assert secret not in stored
    assert token not in stored

    again = await admin.post(path, json=body, headers=headers)
    problem = assert_problem(again, 409)
    assert problem["type"].endswith("/idempotency-not-replayable")
    assert "secret" in problem["detail"]
    assert secret not in again.text
    assert token not in again.text
    # Nothing was done a second time, and another body is still refused as before.
    if what == "api-key":
        assert len((await admin.get("/v1/api-keys")).json()["items"]) == 2
    if what == "webhook":
        assert len((await admin.get("/v1/webhooks")).json()["items"]) == 1
    assert_problem(await admin.post(path, json={"other": 1}, headers=headers), 422)


async def test_a_secret_route_without_a_key_still_answers_once(admin: httpx.AsyncClient) -> None:
    made = await admin.post("/v1/api-keys", json={"name": "CRM", "role": "integration"})
    assert made.status_code == 201
    assert made.json()["key"].startswith("dbr_")


async def test_the_sweep_deletes_answers_older_than_24_hours(
    admin: httpx.AsyncClient, integration: httpx.AsyncClient, clock: FrozenClock, db: Database
) -> None:
    await integration.post("/v1/candidates", json=BODY, headers={"Idempotency-Key": "old"})
    clock.advance(timedelta(hours=23))
    await integration.post("/v1/clients", json={"name": "A"}, headers={"Idempotency-Key": "new"})
    clock.advance(timedelta(hours=1, minutes=1))
    swept = (await admin.post("/v1/admin/sweeps")).json()
    assert swept["expired_answers"] == 1
    stored = await _stored_answers(db)
    assert "Amira Okafor" not in stored
    assert "'new'" in stored
    clock.advance(timedelta(hours=23))
    assert (await admin.post("/v1/admin/sweeps")).json()["expired_answers"] == 1
    assert await _stored_answers(db) == ""
