"""A staff member's chat URL carries the chat service's token: it is stored sealed, messages
still reach it, and a changed DEBRIEF_SECRET_KEY fails them with a reason that says what to
do, never a post to a garbled address."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from app.db.engine import Database
from app.notifications.delivery import Sender
from tests.conftest import T0, KeyMaker, client_of, replica
from tests.factories import patch_current
from tests.notifications.conftest import mail_settings, notifications, send_all
from tests.notifications.servers import ChatReceiver, MailServer
from tests.notifications.test_staff import interview_of, rosa

OTHER_KEY = "another-install-secret-key-of-40-chars-xx"


async def stored_chat(db: Database) -> list[tuple[Any, ...]]:
    async with db.engine.connect() as conn:
        rows = await conn.execute(text("SELECT chat_url, chat_host FROM staff"))
        return [tuple(row) for row in rows]


async def cooled_candidate(office: httpx.AsyncClient, owner: dict[str, Any]) -> None:
    """A debrief that tells the recruiter at once (by chat, as they chose)."""
    interview = await interview_of(office, owner, ends_at=T0)
    recorded = await office.post(
        f"/v1/interviews/{interview['id']}/debrief",
        json={"channel": "phone", "still_interested": "no"},
    )
    assert recorded.status_code == 201, recorded.text


@pytest.fixture
async def rekeyed(
    api: FastAPI, database_url: str, smtp: MailServer, make_key: KeyMaker
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """The same database served with another DEBRIEF_SECRET_KEY, and an admin on it."""
    settings = mail_settings(database_url, smtp, secret_key=OTHER_KEY)
    key = await make_key("admin")
    async with replica(api, settings) as app, client_of(app, key) as client:
        yield app, client


async def test_a_chat_url_is_stored_sealed_and_messages_still_reach_it(
    office: httpx.AsyncClient, sender: Sender, chat: ChatReceiver, db: Database
) -> None:
    owner = await rosa(office, notify_via="chat", chat_url=chat.url)
    ((stored, host),) = await stored_chat(db)
    assert stored.startswith("sealed:v1:")
    assert "T000/B000" not in stored
    assert "127.0.0.1" not in stored
    assert host == owner["chat_host"] == "127.0.0.1"
    # Setting the same URL again changes nothing.
    again = await patch_current(office, f"/v1/staff/{owner['id']}", {"chat_url": chat.url})
    assert again.json()["version"] == owner["version"]
    await cooled_candidate(office, owner)
    assert await send_all(sender) == 1
    assert "no longer interested" in chat.bodies[0]["text"]


async def test_a_changed_secret_key_fails_chat_messages_with_a_reason_until_the_url_is_set_again(
    office: httpx.AsyncClient,
    rekeyed: tuple[FastAPI, httpx.AsyncClient],
    chat: ChatReceiver,
) -> None:
    app, rekeyed_admin = rekeyed
    other: Sender = app.state.sender
    owner = await rosa(office, notify_via="chat", chat_url=chat.url)
    await cooled_candidate(office, owner)
    assert await send_all(other) == 1
    assert chat.bodies == []
    (notice,) = [n for n in await notifications(rekeyed_admin) if n["channel"] == "chat"]
    assert notice["status"] == "failed"
    assert "another DEBRIEF_SECRET_KEY" in notice["status_reason"]
    assert "chat_url again" in notice["status_reason"]

    # Set again under the new key, the URL works, and the notice can be sent again.
    url = f"/v1/staff/{owner['id']}"
    again = await patch_current(rekeyed_admin, url, {"chat_url": chat.url})
    assert again.status_code == 200, again.text
    assert again.json()["version"] == owner["version"] + 1  # the old one could not be read
    resent = await rekeyed_admin.post(f"/v1/notifications/{notice['id']}/resend")
    assert resent.status_code == 202, resent.text
    assert await send_all(other) == 1
    assert "no longer interested" in chat.bodies[0]["text"]
