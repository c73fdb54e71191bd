from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from app.clock import FrozenClock
from app.webhooks.delivery import Deliverer
from app.webhooks.ssrf import GuardedTransport
from tests.conftest import KeyMaker, client_of, make_settings, replica
from tests.webhooks.receiver import Receiver


@pytest.fixture
async def receiver(clock: FrozenClock) -> AsyncIterator[Receiver]:
    server = Receiver(clock=clock)
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def crm(hooks_app: FastAPI, make_key: KeyMaker) -> AsyncIterator[httpx.AsyncClient]:
    async with client_of(hooks_app, await make_key("integration")) as client:
        yield client


@pytest.fixture
def deliverer(hooks_app: FastAPI) -> Deliverer:
    deliverer: Deliverer = hooks_app.state.deliverer
    deliverer.jitter = lambda: 1.0  # exact retry times
    return deliverer


def strict_deliverer(app: FastAPI) -> Deliverer:
    """A deliverer of a replica that does not allow private targets."""
    client = httpx.AsyncClient(
        transport=GuardedTransport(allow_private=False), follow_redirects=False
    )
    return Deliverer(app.state.db, client, app.state.clock.now, sealer=app.state.deliverer.sealer)


@asynccontextmanager
async def delivering_replica(
    api: FastAPI, database_url: str, make_key: KeyMaker, **extra: Any
) -> AsyncIterator[httpx.AsyncClient]:
    """A replica whose own delivery loop runs (polling only every 30 s, so a delivery that
    goes out at once was woken by a commit), and an integration client on it."""
    settings = make_settings(
        database_url,
        webhook_allow_private_targets=True,
        webhook_delivery_enabled=True,
        webhook_poll_seconds=30,
        **extra,
    )
    key = await make_key("integration")
    async with replica(api, settings) as app, client_of(app, key) as client:
        yield client
