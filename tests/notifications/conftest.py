from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from app.notifications.delivery import Sender
from tests.conftest import KeyMaker, client_of, make_settings, replica
from tests.notifications.servers import ChatReceiver, MailServer

AGENCY = "Northbridge Talent"
FROM = "hello@northbridge-talent.co.uk"


@pytest.fixture
def smtp() -> Iterator[MailServer]:
    server = MailServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
async def chat() -> AsyncIterator[ChatReceiver]:
    receiver = ChatReceiver()
    await receiver.start()
    yield receiver
    await receiver.stop()


def mail_settings(database_url: str, smtp: MailServer, **overrides: Any) -> Any:
    values: dict[str, Any] = {
        "smtp_url": smtp.url,
        "mail_from": FROM,
        "mail_reply_to": "team@northbridge-talent.co.uk",
        "agency_name": AGENCY,
        "webhook_allow_private_targets": True,  # the chat receiver is on loopback
    }
    values.update(overrides)
    return make_settings(database_url, **values)


@pytest.fixture
async def mail_app(api: FastAPI, database_url: str, smtp: MailServer) -> AsyncIterator[FastAPI]:
    """A replica that sends mail to the test SMTP server, on the suite's database and clock;
    its sending loop is off, so each test says when a round runs."""
    async with replica(api, mail_settings(database_url, smtp)) as app:
        yield app


@pytest.fixture
def sender(mail_app: FastAPI) -> Sender:
    sender: Sender = mail_app.state.sender
    sender.jitter = lambda: 1.0  # exact retry times
    return sender


@pytest.fixture
async def office(mail_app: FastAPI, make_key: KeyMaker) -> AsyncIterator[httpx.AsyncClient]:
    """An admin of the replica that sends mail (its settings plan the messages too)."""
    async with client_of(mail_app, await make_key("admin")) as client:
        yield client


async def send_all(sender: Sender) -> int:
    """Rounds until nothing more is due now."""
    total = 0
    while done := await sender.run_once():
        total += done
    return total


async def notifications(client: httpx.AsyncClient, **params: Any) -> list[dict[str, Any]]:
    response = await client.get("/v1/notifications", params={"limit": 200, **params})
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items
