"""The event feed: every change's events, in commit order, never a rolled-back one."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx

from tests.conftest import T0, ClientMaker
from tests.factories import create_candidate, create_interview, patch_current
from tests.followups.helpers import all_events
from tests.test_conventions import assert_problem


async def test_changes_write_events_in_order(admin: httpx.AsyncClient) -> None:
    candidate = await create_candidate(admin, external_id="crm-1")
    await patch_current(admin, f"/v1/candidates/{candidate['id']}", {"status": "placed"})
    interview = await create_interview(
        admin, starts_at=T0 + timedelta(days=1), candidate_id=candidate["id"]
    )
    await patch_current(admin, f"/v1/interviews/{interview['id']}", {"status": "cancelled"})
    events = await all_events(admin)
    assert [e["type"] for e in events] == [
        "candidate.created",
        "candidate.updated",
        "interview.scheduled",
        "interview.updated",
        "interview.cancelled",
    ]
    assert events[0]["data"]["candidate"]["external_id"] == "crm-1"
    assert events[1]["data"]["changed"] == ["status"]
    assert events[3]["data"]["changed"] == ["status"]
    assert all(e["occurred_at"] == "2026-03-04T10:00:00Z" for e in events)
    assert len({e["id"] for e in events}) == 5


async def test_a_refused_change_writes_no_event(admin: httpx.AsyncClient) -> None:
    await create_candidate(admin, external_id="crm-1")
    assert_problem(
        await admin.post("/v1/candidates", json={"full_name": "Dup", "external_id": "crm-1"}), 409
    )
    assert_problem(await admin.post("/v1/interviews", json={"job_title": "x"}), 422)
    assert [e["type"] for e in await all_events(admin)] == ["candidate.created"]


async def test_feed_filters_by_type_and_time_and_pages(admin: httpx.AsyncClient) -> None:
    for i in range(3):
        await create_candidate(admin, full_name=f"P{i}")
    only = (await admin.get("/v1/events", params={"type": "candidate.updated"})).json()
    assert only["items"] == []
    first = (await admin.get("/v1/events", params={"limit": 2})).json()
    assert first["has_more"] is True
    rest = (
        await admin.get("/v1/events", params={"limit": 2, "cursor": first["next_cursor"]})
    ).json()
    names = [e["data"]["candidate"]["full_name"] for e in first["items"] + rest["items"]]
    assert names == ["P0", "P1", "P2"]
    assert rest["has_more"] is False
    # The cursor keeps its place: polling it later brings only what is new.
    caught_up = (await admin.get("/v1/events", params={"cursor": rest["next_cursor"]})).json()
    assert (caught_up["items"], caught_up["next_cursor"]) == ([], rest["next_cursor"])
    await create_candidate(admin, full_name="P3")
    newer = (await admin.get("/v1/events", params={"cursor": rest["next_cursor"]})).json()
    assert [e["data"]["candidate"]["full_name"] for e in newer["items"]] == ["P3"]
    later = (await admin.get("/v1/events", params={"since": "2026-03-04T10:00:01Z"})).json()
    assert later["items"] == []
    assert_problem(await admin.get("/v1/events", params={"type": "candidate.eaten"}), 422)


async def test_recruiters_do_not_read_the_feed(
    recruiter: httpx.AsyncClient, integration: httpx.AsyncClient
) -> None:
    assert_problem(await recruiter.get("/v1/events"), 403)
    assert (await integration.get("/v1/events")).status_code == 200


async def test_a_poller_following_the_cursor_misses_nothing_while_writers_commit(
    client_for: ClientMaker,
) -> None:
    """Writers commit concurrently while a CRM polls: every event is seen, once, in order."""
    poller = await client_for("integration")
    writers = [await client_for("integration") for _ in range(4)]
    done = asyncio.Event()

    async def write(client: httpx.AsyncClient, n: int) -> None:
        for i in range(25):
            await client.post("/v1/candidates", json={"full_name": f"W{n}-{i}"})

    seen: list[str] = []

    async def poll() -> None:
        cursor = None
        while True:
            finished = done.is_set()
            params = {"limit": 7, **({"cursor": cursor} if cursor else {})}
            page = (await poller.get("/v1/events", params=params)).json()
            seen.extend(e["id"] for e in page["items"])
            cursor = page["next_cursor"]
            if finished and not page["has_more"]:
                return
            await asyncio.sleep(0)

    async def writers_then_done() -> None:
        await asyncio.gather(*(write(c, n) for n, c in enumerate(writers)))
        done.set()

    await asyncio.gather(poll(), writers_then_done())
    everything = [e["id"] for e in await all_events(poller)]
    assert len(everything) == 100
    assert seen == everything
