"""Webhook secrets are stored sealed: the database never holds one in plain text, deliveries
are still signed with them, and a changed DEBRIEF_SECRET_KEY is a clear error, not a wrong
signature."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from app.clock import FrozenClock
from app.db.engine import Database
from app.webhooks.delivery import Deliverer
from tests.conftest import KeyMaker, client_of, make_settings, replica
from tests.webhooks.receiver import Receiver
from tests.webhooks.test_delivery import deliveries, register

OTHER_KEY = "another-install-secret-key-of-40-chars-xx"


async def stored_secrets(db: Database) -> list[str]:
    async with db.engine.connect() as conn:
        rows = (
            await conn.execute(text("SELECT secret, previous_secret FROM webhook_endpoints"))
        ).all()
    return [value for row in rows for value in row if value is not None]


@pytest.fixture
async def rekeyed(api: FastAPI, database_url: str) -> AsyncIterator[FastAPI]:
    """The same database served with another DEBRIEF_SECRET_KEY (a key changed by mistake)."""
    settings = make_settings(database_url, webhook_allow_private_targets=True, secret_key=OTHER_KEY)
    async with replica(api, settings) as app:
        yield app


@pytest.fixture
async def rekeyed_crm(rekeyed: FastAPI, make_key: KeyMaker) -> AsyncIterator[httpx.AsyncClient]:
    async with client_of(rekeyed, await make_key("integration")) as client:
        yield client


async def test_secrets_are_stored_sealed_and_deliveries_are_still_signed_with_them(
    crm: httpx.AsyncClient, receiver: Receiver, deliverer: Deliverer, db: Database
) -> None:
    hook = await register(crm, receiver)
    rotated = (await crm.post(f"/v1/webhooks/{hook['id']}/rotate-secret")).json()
    stored = await stored_secrets(db)
    assert len(stored) == 2  # the secret and the one before the rotation
    for value in stored:
        assert value.startswith("sealed:v1:")
        for secret in (hook["secret"], rotated["secret"]):
            assert secret not in value
            assert secret.removeprefix("whsec_") not in value
    # The real receiver checks the message with each secret on its own.
    receiver.secrets = [hook["secret"], rotated["secret"]]
    await crm.post("/v1/candidates", json={"full_name": "Amira Okafor"})
    assert await deliverer.run_once() == 1
    assert len(receiver.received) == 1
    assert len(receiver.received[0].headers["webhook-signature"].split(" ")) == 2
    assert (await crm.post(f"/v1/webhooks/{hook['id']}/test")).json()["ok"] is True


async def test_a_changed_secret_key_is_a_clear_error_until_the_secret_is_rotated(
    crm: httpx.AsyncClient,
    rekeyed: FastAPI,
    rekeyed_crm: httpx.AsyncClient,
    receiver: Receiver,
    clock: FrozenClock,
) -> None:
    hook = await register(crm, receiver)
    await crm.post("/v1/candidates", json={"full_name": "Amira Okafor"})
    other: Deliverer = rekeyed.state.deliverer
    other.jitter = lambda: 1.0
    assert await other.run_once() == 1
    assert receiver.requests == 0  # nothing went out signed with a wrong key
    (delivery,) = await deliveries(rekeyed_crm, hook)
    assert delivery["status"] == "pending"  # kept and retried: restoring the key sends it
    assert "another DEBRIEF_SECRET_KEY" in delivery["last_error"]
    assert "rotate the secret" in delivery["last_error"]
    ping = (await rekeyed_crm.post(f"/v1/webhooks/{hook['id']}/test")).json()
    assert ping["ok"] is False
    assert "DEBRIEF_SECRET_KEY" in ping["error"]

    # Rotating under the new key gives a secret it can use; the old one is dropped, since
    # nobody can sign with it any more.
    rotated = (await rekeyed_crm.post(f"/v1/webhooks/{hook['id']}/rotate-secret")).json()
    receiver.secrets = [rotated["secret"]]
    clock.advance(timedelta(seconds=6))  # the first retry is due after 5 s
    assert await other.run_once() == 1
    (got,) = receiver.received
    assert len(got.headers["webhook-signature"].split(" ")) == 1
    (delivery,) = await deliveries(rekeyed_crm, hook)
    assert delivery["status"] == "delivered"
