"""Signed webhooks to a real receiver: delivered at least once, retried, never lost."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from app.clock import FrozenClock
from app.db.transaction import transaction
from app.schemas.base import iso
from app.webhooks import repository, service
from app.webhooks.delivery import RETRY_SCHEDULE, Deliverer, next_delay, retry_after_seconds
from tests.conftest import T0
from tests.followups.helpers import all_events
from tests.test_conventions import assert_problem
from tests.webhooks.conftest import delivering_replica, strict_deliverer
from tests.webhooks.receiver import Receiver


async def register(crm: httpx.AsyncClient, receiver: Receiver, **fields: Any) -> dict[str, Any]:
    response = await crm.post("/v1/webhooks", json={"url": receiver.url, **fields})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    assert body["secret"].startswith("whsec_")
    receiver.secrets = [body["secret"]]
    return body


async def deliveries(
    crm: httpx.AsyncClient, hook: dict[str, Any], **params: Any
) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = (
        await crm.get(f"/v1/webhooks/{hook['id']}/deliveries", params=params)
    ).json()["items"]
    return items


async def test_events_are_delivered_signed_with_the_event_id(
    crm: httpx.AsyncClient, receiver: Receiver, deliverer: Deliverer
) -> None:
    hook = await register(crm, receiver)
    created = (await crm.post("/v1/candidates", json={"full_name": "Amira Okafor"})).json()
    assert await deliverer.run_once() == 1
    (got,) = receiver.received
    (event,) = await all_events(crm)
    assert got.webhook_id == event["id"]
    assert got.body == {
        "type": "candidate.created",
        "timestamp": event["occurred_at"],
        "data": event["data"],
    }
    assert got.body["data"]["candidate"]["id"] == created["id"]
    assert got.headers["content-type"] == "application/json"
    (delivery,) = await deliveries(crm, hook)
    assert (delivery["status"], delivery["attempts"], delivery["event_id"]) == (
        "delivered",
        1,
        event["id"],
    )
    assert delivery["attempt_log"][0]["status_code"] == 204
    assert await deliverer.run_once() == 0


async def test_a_receiver_that_is_down_loses_nothing(
    crm: httpx.AsyncClient, receiver: Receiver, deliverer: Deliverer, clock: FrozenClock
) -> None:
    hook = await register(crm, receiver)
    await receiver.stop()  # the CRM's endpoint is down: connections are refused
    for i in range(3):
        await crm.post("/v1/candidates", json={"full_name": f"Person {i}"})
    assert await deliverer.run_once() == 3
    pending = await deliveries(crm, hook, status="pending")
    assert len(pending) == 3
    assert all(d["attempts"] == 1 and "ConnectError" in d["last_error"] for d in pending)
    assert {d["next_attempt_at"] for d in pending} == {"2026-03-04T10:00:05Z"}  # retried after 5 s

    clock.advance(timedelta(seconds=5))
    assert await deliverer.run_once() == 3  # still down
    assert {d["attempts"] for d in await deliverer_pending(crm, hook)} == {2}
    await receiver.start()  # back, on the same port
    clock.advance(timedelta(minutes=4))
    assert await deliverer.run_once() == 0  # the next try is 5 minutes after the second
    clock.advance(timedelta(minutes=1))
    assert await deliverer.run_once() == 3
    events = await all_events(crm)
    assert sorted(receiver.ids()) == sorted(e["id"] for e in events)  # each event, once
    assert len(set(receiver.ids())) == 3
    assert {d["status"] for d in await deliveries(crm, hook)} == {"delivered"}


async def deliverer_pending(crm: httpx.AsyncClient, hook: dict[str, Any]) -> list[dict[str, Any]]:
    return await deliveries(crm, hook, status="pending")


async def test_a_failing_receiver_gets_the_same_webhook_id_on_every_retry(
    crm: httpx.AsyncClient, receiver: Receiver, deliverer: Deliverer, clock: FrozenClock
) -> None:
    hook = await register(crm, receiver)
    receiver.answer = 500
    await crm.post("/v1/candidates", json={"full_name": "Amira Okafor"})
    await deliverer.run_once()
    clock.advance(RETRY_SCHEDULE[0])
    await deliverer.run_once()
    receiver.answer = 200
    clock.advance(RETRY_SCHEDULE[1])
    await deliverer.run_once()
    (delivery,) = await deliveries(crm, hook)
    assert [a["status_code"] for a in delivery["attempt_log"]] == [500, 500, 200]
    assert delivery["status"] == "delivered"
    assert receiver.requests == 3
    assert len(receiver.received) == 1


async def test_retry_after_is_honoured(
    crm: httpx.AsyncClient, receiver: Receiver, deliverer: Deliverer, clock: FrozenClock
) -> None:
    hook = await register(crm, receiver)
    receiver.answer, receiver.extra_headers = 429, {"retry-after": "600"}
    await crm.post("/v1/candidates", json={"full_name": "Amira Okafor"})
    await deliverer.run_once()
    (delivery,) = await deliveries(crm, hook)
    assert (
        delivery["next_attempt_at"] == "2026-03-04T10:10:00Z"
    )  # not 5 s: the receiver asked for 10 min


async def test_410_switches_the_endpoint_off(
    crm: httpx.AsyncClient, receiver: Receiver, deliverer: Deliverer
) -> None:
    hook = await register(crm, receiver)
    receiver.answer = 410
    await crm.post("/v1/candidates", json={"full_name": "Amira Okafor"})
    await deliverer.run_once()
    stored = (await crm.get(f"/v1/webhooks/{hook['id']}")).json()
    assert stored["enabled"] is False
    assert "410" in stored["disabled_reason"]
    assert (await deliveries(crm, hook))[0]["status"] == "failed"
    await crm.post("/v1/candidates", json={"full_name": "Someone Else"})
    assert await deliverer.run_once() == 0
    assert receiver.requests == 1
    resumed = await crm.patch(
        f"/v1/webhooks/{hook['id']}",
        json={"enabled": True},
        headers={"If-Match": f'"{stored["version"]}"'},
    )
    assert (resumed.json()["enabled"], resumed.json()["disabled_reason"]) == (True, None)


async def test_redirects_are_not_followed(
    crm: httpx.AsyncClient, receiver: Receiver, deliverer: Deliverer
) -> None:
    hook = await register(crm, receiver)
    receiver.answer, receiver.extra_headers = (
        301,
        {"location": "http://169.254.169.254/latest/meta-data"},
    )
    await crm.post("/v1/candidates", json={"full_name": "Amira Okafor"})
    await deliverer.run_once()
    (delivery,) = await deliveries(crm, hook)
    assert delivery["status"] == "pending"
    assert "redirects are not followed" in delivery["last_error"]
    assert receiver.requests == 1


async def test_only_the_chosen_event_types_are_sent(
    crm: httpx.AsyncClient, receiver: Receiver, deliverer: Deliverer
) -> None:
    await register(crm, receiver, event_types=["candidate.updated"])
    created = (await crm.post("/v1/candidates", json={"full_name": "Amira Okafor"})).json()
    await crm.patch(
        f"/v1/candidates/{created['id']}", json={"status": "placed"}, headers={"If-Match": '"1"'}
    )
    await deliverer.run_once()
    assert [r.body["type"] for r in receiver.received] == ["candidate.updated"]


async def test_manual_redelivery_keeps_the_webhook_id(
    crm: httpx.AsyncClient, receiver: Receiver, deliverer: Deliverer
) -> None:
    hook = await register(crm, receiver)
    await crm.post("/v1/candidates", json={"full_name": "Amira Okafor"})
    await deliverer.run_once()
    (first,) = await deliveries(crm, hook)
    again = await crm.post(f"/v1/webhooks/{hook['id']}/deliveries/{first['id']}/redeliver")
    assert again.status_code == 201
    await deliverer.run_once()
    assert receiver.ids() == [first["event_id"], first["event_id"]]
    assert_problem(
        await crm.post(
            f"/v1/webhooks/{hook['id']}/deliveries/01890000-0000-7000-8000-000000000000/redeliver"
        ),
        404,
    )


async def test_deliveries_are_signed_and_logged_at_the_clocks_time(
    crm: httpx.AsyncClient,
    admin: httpx.AsyncClient,
    receiver: Receiver,
    deliverer: Deliverer,
    clock: FrozenClock,
) -> None:
    """The app's clock, not the machine's, dates what the sender signs and records: the
    webhook-timestamp of a delivery and of a test ping, the attempt log, and the audit entry
    of an endpoint that a 410 switched off."""
    hook = await register(crm, receiver)
    await crm.post("/v1/candidates", json={"full_name": "Amira Okafor"})
    sent_at = clock.advance(timedelta(minutes=7))
    assert await deliverer.run_once() == 1
    (got,) = receiver.received
    assert got.headers["webhook-timestamp"] == str(int(sent_at.timestamp()))
    (delivery,) = await deliveries(crm, hook)
    assert delivery["attempt_log"][0]["attempted_at"] == iso(sent_at)

    pinged_at = clock.advance(timedelta(minutes=3))
    assert (await crm.post(f"/v1/webhooks/{hook['id']}/test")).json()["ok"] is True
    assert receiver.received[-1].headers["webhook-timestamp"] == str(int(pinged_at.timestamp()))

    receiver.answer = 410
    await crm.post("/v1/candidates", json={"full_name": "Someone Else"})
    gone_at = clock.advance(timedelta(minutes=1))
    assert await deliverer.run_once() == 1
    audit = (
        await admin.get("/v1/audit", params={"object_type": "webhook", "object_id": hook["id"]})
    ).json()["items"]
    assert (audit[0]["action"], audit[0]["occurred_at"]) == ("create", iso(T0))
    assert [(e["actor"], e["occurred_at"], e["fields"]) for e in audit[1:]] == [
        ("system", iso(sent_at), ["last_event_seq"]),  # events fanned out
        ("system", iso(gone_at), ["last_event_seq"]),
        ("system", iso(gone_at), ["disabled_reason", "enabled"]),  # switched off by the 410
    ]


async def test_test_ping(crm: httpx.AsyncClient, receiver: Receiver) -> None:
    hook = await register(crm, receiver)
    result = (await crm.post(f"/v1/webhooks/{hook['id']}/test")).json()
    assert (result["ok"], result["status_code"], result["error"]) == (True, 204, None)
    assert receiver.received[0].body["type"] == "webhook.test"
    receiver.answer = 503
    failed = (await crm.post(f"/v1/webhooks/{hook['id']}/test")).json()
    assert (failed["ok"], failed["status_code"]) == (False, 503)


async def test_rotated_secret_signs_with_both_for_a_day(
    crm: httpx.AsyncClient, receiver: Receiver, deliverer: Deliverer, clock: FrozenClock
) -> None:
    hook = await register(crm, receiver)
    rotated = (await crm.post(f"/v1/webhooks/{hook['id']}/rotate-secret")).json()
    assert rotated["secret"] != hook["secret"]
    receiver.secrets = [hook["secret"], rotated["secret"]]  # the receiver checks each on its own
    await crm.post("/v1/candidates", json={"full_name": "Amira Okafor"})
    await deliverer.run_once()
    assert len(receiver.received) == 1
    clock.advance(timedelta(hours=25))
    receiver.secrets = [rotated["secret"]]
    await crm.post("/v1/candidates", json={"full_name": "Later"})
    await deliverer.run_once()
    signatures = receiver.received[-1].headers["webhook-signature"].split(" ")
    assert len(signatures) == 1


async def test_a_delivery_claimed_by_a_process_that_died_is_sent_after_its_lease(
    crm: httpx.AsyncClient, receiver: Receiver, deliverer: Deliverer, clock: FrozenClock
) -> None:
    await register(crm, receiver)
    await crm.post("/v1/candidates", json={"full_name": "Amira Okafor"})
    now = clock.now()
    async with transaction(deliverer.db, now=now) as session:
        await service.fan_out(session, now=now)
    async with transaction(deliverer.db, now=now) as session:
        claimed = await repository.claim_due(
            session, now=now, lease_until=now + timedelta(seconds=60), limit=10
        )
    assert len(claimed) == 1  # ... and the claiming process dies here, before sending
    assert await deliverer.run_once() == 0
    clock.advance(timedelta(seconds=61))
    assert await deliverer.run_once() == 1
    assert len(receiver.received) == 1


async def test_events_committed_before_any_sender_ran_are_delivered(
    admin: httpx.AsyncClient, crm: httpx.AsyncClient, receiver: Receiver, deliverer: Deliverer
) -> None:
    """The process that committed them died before delivering: another one delivers them."""
    await register(crm, receiver)
    for i in range(5):
        await admin.post("/v1/candidates", json={"full_name": f"Person {i}"})  # another replica
    await deliverer.run_once()
    assert len(receiver.received) == 5


async def test_a_rolled_back_change_sends_nothing(
    crm: httpx.AsyncClient, receiver: Receiver, deliverer: Deliverer
) -> None:
    await register(crm, receiver)
    await crm.post("/v1/candidates", json={"full_name": "A", "external_id": "x-1"})
    assert (
        await crm.post("/v1/candidates", json={"full_name": "B", "external_id": "x-1"})
    ).status_code == 409
    await deliverer.run_once()
    assert [r.body["data"]["candidate"]["full_name"] for r in receiver.received] == ["A"]


def test_the_retry_schedule_spans_three_days_with_jitter() -> None:
    delays = [next_delay(n, None, lambda: 1.0) for n in range(1, 11)]
    assert delays[:9] == list(RETRY_SCHEDULE)
    assert delays[9] is None
    assert sum(RETRY_SCHEDULE, timedelta()) > timedelta(hours=24)
    low, high = next_delay(3, None, lambda: 0.9), next_delay(3, None, lambda: 1.1)
    assert low == timedelta(minutes=27)
    assert high == timedelta(minutes=33)


def test_retry_after_forms() -> None:
    now = datetime(2026, 3, 4, 10, 0, tzinfo=UTC)
    assert retry_after_seconds("120", now) == 120
    assert retry_after_seconds("Wed, 04 Mar 2026 10:05:00 GMT", now) == 300
    assert retry_after_seconds("soon", now) is None
    assert next_delay(1, 3 * 86400, lambda: 1.0) == timedelta(hours=24)  # capped


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/hook",
        "http://localhost/hook",
        "https://10.0.0.7/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://224.0.0.1/hook",
        "ftp://example.com/hook",
        "https://user:pass@93.184.216.34/hook",
    ],
)
async def test_private_and_odd_targets_are_refused(admin: httpx.AsyncClient, url: str) -> None:
    body = assert_problem(await admin.post("/v1/webhooks", json={"url": url}), 422)
    assert body["errors"][0]["field"] == "url"
    assert (await admin.get("/v1/webhooks")).json()["items"] == []


async def test_a_public_address_is_accepted(admin: httpx.AsyncClient) -> None:
    response = await admin.post("/v1/webhooks", json={"url": "https://93.184.216.34/hooks"})
    assert response.status_code == 201
    listed = (await admin.get("/v1/webhooks")).json()["items"]
    assert "secret" not in listed[0]


async def test_delivery_checks_the_address_it_connects_to(
    crm: httpx.AsyncClient, receiver: Receiver, hooks_app: Any
) -> None:
    """Registered while private targets were allowed; a replica that forbids them refuses to
    connect, whatever the URL said at registration."""
    hook = await register(crm, receiver)
    await crm.post("/v1/candidates", json={"full_name": "Amira Okafor"})
    strict = strict_deliverer(hooks_app)
    try:
        await strict.run_once()
    finally:
        await strict.client.aclose()
    (delivery,) = await deliveries(crm, hook)
    assert "private or reserved" in delivery["last_error"]
    assert receiver.requests == 0


async def test_recruiters_cannot_manage_webhooks(recruiter: httpx.AsyncClient) -> None:
    assert_problem(await recruiter.get("/v1/webhooks"), 403)
    assert_problem(
        await recruiter.post("/v1/webhooks", json={"url": "https://93.184.216.34/x"}), 403
    )


async def test_the_delivery_loop_sends_right_after_the_commit(
    api: Any, database_url: str, make_key: Any, receiver: Receiver
) -> None:
    """The background loop of a replica, woken by the commit rather than waiting to poll."""
    async with delivering_replica(api, database_url, make_key) as client:
        await register(client, receiver)
        await client.post("/v1/candidates", json={"full_name": "Amira Okafor"})
        for _ in range(100):
            if receiver.received:
                break
            await asyncio.sleep(0.05)
    assert [r.body["type"] for r in receiver.received] == ["candidate.created"]


async def test_a_commit_in_another_app_does_not_wake_this_apps_delivery_loop(
    api: Any, database_url: str, make_key: Any, receiver: Receiver, integration: httpx.AsyncClient
) -> None:
    """Each app hears its own commits only: two apps in one process share no listeners."""
    async with delivering_replica(api, database_url, make_key) as client:
        await register(client, receiver)
        await asyncio.sleep(0.5)  # its loop has looked once and now waits to be woken or to poll
        await integration.post("/v1/candidates", json={"full_name": "Amira Okafor"})
        await asyncio.sleep(1)
        assert receiver.received == []  # written by the other app: sent at the next poll
        await client.post("/v1/candidates", json={"full_name": "Bo Lindqvist"})
        for _ in range(100):
            if len(receiver.received) == 2:
                break
            await asyncio.sleep(0.05)
    assert [r.body["type"] for r in receiver.received] == ["candidate.created"] * 2
