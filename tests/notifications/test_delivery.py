"""The outbox under trouble: the SMTP server going away and coming back, two processes
sending side by side, the sending cap, and the API that shows it all."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI

from app.clock import FrozenClock
from app.main import create_app
from app.notifications.delivery import RETRY_SCHEDULE, Sender
from tests.conftest import T0, ClientMaker, KeyMaker, client_of, replica
from tests.factories import create_candidate, create_interview, create_staff
from tests.notifications.conftest import mail_settings, notifications, send_all
from tests.notifications.servers import MailServer


async def candidates_interviewed(client: httpx.AsyncClient, count: int) -> list[str]:
    """`count` candidates whose interviews ended at T0 (their link emails due at T0+30m)."""
    addresses = []
    for i in range(count):
        address = f"person{i}@example.com"
        candidate = await create_candidate(client, full_name=f"Person {i}", email=address)
        await create_interview(
            client, starts_at=T0 - timedelta(hours=1), candidate_id=candidate["id"]
        )
        addresses.append(address)
    return addresses


@pytest.fixture
async def second_replica(
    api: FastAPI, database_url: str, smtp: MailServer
) -> AsyncIterator[FastAPI]:
    """Another process: its own app, engines and sender, on the same database."""
    app = create_app(mail_settings(database_url, smtp), clock=api.state.clock)
    async with app.router.lifespan_context(app):
        yield app


async def test_the_smtp_server_stopping_and_coming_back_loses_and_doubles_nothing(
    office: httpx.AsyncClient, sender: Sender, smtp: MailServer, clock: FrozenClock
) -> None:
    first = await candidates_interviewed(office, 2)
    clock.set(T0 + timedelta(minutes=30))
    assert await send_all(sender) == 2

    smtp.stop()  # down for ten minutes, as two more emails fall due
    clock.set(T0 + timedelta(minutes=35))
    later = []
    for i in (2, 3):
        address = f"person{i}@example.com"
        candidate = await create_candidate(office, full_name=f"Person {i}", email=address)
        await create_interview(
            office, starts_at=clock.now() - timedelta(hours=1), candidate_id=candidate["id"]
        )
        later.append(address)
    for minutes in range(5, 46, 1):
        clock.set(T0 + timedelta(minutes=30 + minutes))
        if minutes == 40:
            smtp.start()
        await send_all(sender)

    received = Counter(r.recipients[0] for r in smtp.received)
    assert received == Counter(first + later)  # each once
    assert len({r.message["Message-ID"] for r in smtp.received}) == 4
    for address in later:
        (message,) = await notifications(office, recipient=address)
        outcomes = [a["outcome"] for a in message["attempt_log"]]
        assert outcomes[-1] == "sent"
        assert set(outcomes[:-1]) == {"retry"}, outcomes
        assert len(outcomes) >= 3  # one minute, five minutes, fifteen minutes later
        assert "ConnectionRefused" in message["attempt_log"][0]["answer"] or "connect" in (
            message["attempt_log"][0]["answer"].lower()
        )


async def test_two_processes_send_each_message_once(
    office: httpx.AsyncClient,
    sender: Sender,
    second_replica: FastAPI,
    smtp: MailServer,
    clock: FrozenClock,
) -> None:
    addresses = await candidates_interviewed(office, 30)
    clock.set(T0 + timedelta(minutes=30))
    other: Sender = second_replica.state.sender
    assert other.db is not sender.db  # two engines, as two processes have
    sent = 0
    for _ in range(20):
        rounds = await asyncio.gather(sender.run_once(), other.run_once())
        sent += sum(rounds)
        if sum(rounds) == 0:
            break
    assert sent == 30
    assert Counter(r.recipients[0] for r in smtp.received) == Counter(addresses)
    listed = await notifications(office)
    assert {(n["status"], n["attempts"]) for n in listed} == {("sent", 1)}


async def test_the_loops_of_two_replicas_send_each_message_once(
    api: FastAPI,
    database_url: str,
    office: httpx.AsyncClient,
    smtp: MailServer,
    clock: FrozenClock,
) -> None:
    """Each replica's own background loop, woken by commits and polling, as in production."""
    addresses = await candidates_interviewed(office, 12)
    clock.set(T0 + timedelta(minutes=30))
    replicas = [
        create_app(
            mail_settings(
                database_url,
                smtp,
                notification_delivery_enabled=True,
                notification_poll_seconds=0.05,
            ),
            clock=api.state.clock,
        )
        for _ in range(2)
    ]
    async with (
        replicas[0].router.lifespan_context(replicas[0]),
        replicas[1].router.lifespan_context(replicas[1]),
    ):
        for _ in range(200):
            if len(smtp.received) >= 12:
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.3)  # a double would have arrived by now
    assert Counter(r.recipients[0] for r in smtp.received) == Counter(addresses)


async def test_the_sending_cap_holds_the_rest_for_the_next_minute(
    api: FastAPI,
    database_url: str,
    office: httpx.AsyncClient,
    smtp: MailServer,
    clock: FrozenClock,
) -> None:
    await candidates_interviewed(office, 5)
    capped = create_app(
        mail_settings(database_url, smtp, smtp_max_per_minute=2), clock=api.state.clock
    )
    async with capped.router.lifespan_context(capped):
        sender: Sender = capped.state.sender
        clock.set(T0 + timedelta(minutes=30))
        await send_all(sender)
        assert len(smtp.received) == 2
        clock.advance(timedelta(seconds=59))
        await send_all(sender)
        assert len(smtp.received) == 2
        clock.advance(timedelta(seconds=2))
        await send_all(sender)
        assert len(smtp.received) == 4
        clock.advance(timedelta(minutes=1, seconds=1))
        await send_all(sender)
        assert len(smtp.received) == 5
    assert {n["status"] for n in await notifications(office)} == {"sent"}


def test_retries_span_more_than_a_day() -> None:
    assert RETRY_SCHEDULE[0] == timedelta(minutes=1)
    assert sum(RETRY_SCHEDULE, timedelta()) > timedelta(hours=24)


async def test_a_message_whose_schedule_is_spent_fails_with_its_last_answer(
    office: httpx.AsyncClient, sender: Sender, smtp: MailServer, clock: FrozenClock
) -> None:
    (address,) = await candidates_interviewed(office, 1)
    smtp.stop()
    clock.set(T0 + timedelta(minutes=30))
    for delay in (timedelta(0), *RETRY_SCHEDULE):
        clock.advance(delay)
        await send_all(sender)
    (message,) = await notifications(office, recipient=address)
    assert message["status"] == "failed"
    assert message["status_reason"].startswith(f"gave up after {len(RETRY_SCHEDULE) + 1} attempts")
    assert len(message["attempt_log"]) == len(RETRY_SCHEDULE) + 1
    smtp.start()


async def test_the_list_filters_and_a_message_shows_its_attempts(
    office: httpx.AsyncClient, sender: Sender, smtp: MailServer, clock: FrozenClock
) -> None:
    addresses = await candidates_interviewed(office, 3)
    clock.set(T0 + timedelta(minutes=30))
    await send_all(sender)
    everything = await notifications(office)
    assert len(everything) == 3
    (one,) = await notifications(office, recipient=addresses[1].upper())
    assert one["recipient"] == addresses[1]
    assert await notifications(office, status="pending") == []
    assert len(await notifications(office, status="sent", kind="candidate_debrief_link")) == 3
    assert await notifications(office, candidate_id=one["candidate_id"]) == [one]
    page = (await office.get("/v1/notifications", params={"limit": 2})).json()
    rest = (
        await office.get("/v1/notifications", params={"limit": 2, "cursor": page["next_cursor"]})
    ).json()
    assert [n["id"] for n in page["items"] + rest["items"]] == [n["id"] for n in everything]
    assert rest["next_cursor"] is None

    detail = await office.get(f"/v1/notifications/{one['id']}")
    assert detail.status_code == 200
    assert detail.json() == one
    assert detail.json()["attempt_log"][0]["outcome"] == "sent"
    missing = await office.get("/v1/notifications/01900000-0000-7000-8000-000000000000")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    bad = await office.get("/v1/notifications", params={"status": "lost"})
    assert bad.status_code == 422


async def test_resend_is_a_new_message_with_a_fresh_link(
    office: httpx.AsyncClient, sender: Sender, smtp: MailServer, clock: FrozenClock
) -> None:
    await candidates_interviewed(office, 1)
    (waiting,) = await notifications(office)
    refused = await office.post(f"/v1/notifications/{waiting['id']}/resend")
    assert refused.status_code == 409  # still waiting to go
    clock.set(T0 + timedelta(minutes=30))
    await send_all(sender)
    again = await office.post(f"/v1/notifications/{waiting['id']}/resend")
    assert again.status_code == 202, again.text
    copy = again.json()
    assert copy["resent_from"] == waiting["id"]
    assert copy["message_id"] != waiting["message_id"]
    assert copy["status"] == "pending"
    await send_all(sender)
    first, second = smtp.received
    assert first.message["Subject"] == second.message["Subject"]
    link = [line for line in first.text.splitlines() if "/f/" in line]
    assert link != [line for line in second.text.splitlines() if "/f/" in line]
    assert (
        await office.post("/v1/notifications/01900000-0000-7000-8000-000000000000/resend")
    ).status_code == 404


async def test_who_may_read_the_outbox(client_for: ClientMaker) -> None:
    recruiter = await client_for("recruiter")
    integration = await client_for("integration")
    nobody = await client_for(None)
    assert (await recruiter.get("/v1/notifications")).status_code == 200
    assert (await integration.get("/v1/notifications")).status_code == 403
    assert (await nobody.get("/v1/notifications")).status_code == 401


@pytest.mark.parametrize(
    "name",
    [
        "candidate_debrief_link",
        "candidate_nudge",
        "staff_digest",
        "staff_alert",
        "staff_escalation",
    ],
)
async def test_every_template_previews_with_sample_data(
    admin: httpx.AsyncClient, name: str
) -> None:
    preview = await admin.get(f"/v1/notifications/templates/{name}/preview")
    assert preview.status_code == 200, preview.text
    body = preview.json()
    assert body["subject"]
    assert body["body_text"].strip()
    assert body["body_html"].startswith("<!doctype html>")
    html = await admin.get(f"/v1/notifications/templates/{name}/preview", params={"format": "html"})
    assert html.headers["content-type"].startswith("text/html")
    text = await admin.get(f"/v1/notifications/templates/{name}/preview", params={"format": "text"})
    assert text.text.startswith("Subject: ")


async def test_an_unknown_template_is_a_problem(admin: httpx.AsyncClient) -> None:
    response = await admin.get("/v1/notifications/templates/newsletter/preview")
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"


async def test_a_message_a_request_plans_goes_when_it_commits_not_at_the_next_poll(
    api: FastAPI, database_url: str, smtp: MailServer, make_key: KeyMaker
) -> None:
    """The commit that wrote the owner's alert wakes the replica's sending loop, whose poll is
    a minute away: the recruiter hears within moments."""
    settings = mail_settings(
        database_url, smtp, notification_delivery_enabled=True, notification_poll_seconds=60
    )
    async with replica(api, settings) as app, client_of(app, await make_key("admin")) as office:
        owner = await create_staff(office, full_name="Rosa Patel", email="rosa@agency.co.uk")
        candidate = await create_candidate(office, full_name="Jon Bell", owner_id=owner["id"])
        interview = await create_interview(
            office, starts_at=T0 - timedelta(hours=1), candidate_id=candidate["id"]
        )
        await asyncio.sleep(0.2)  # the loop's first round is over: it waits for a wake-up
        recorded = await office.post(
            f"/v1/interviews/{interview['id']}/debrief",
            json={"channel": "phone", "still_interested": "no"},
        )
        assert recorded.status_code == 201
        for _ in range(100):
            if smtp.to("rosa@agency.co.uk"):
                break
            await asyncio.sleep(0.05)
    [mail] = smtp.to("rosa@agency.co.uk")
    assert "no longer interested" in mail.message["Subject"]
