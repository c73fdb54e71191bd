"""The event feed: every change's events, in commit order, never a rolled-back one."""

from __future__ import annotations

from datetime import timedelta

import httpx

from tests.conftest import T0
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
    rest = (
        await admin.get("/v1/events", params={"limit": 2, "cursor": first["next_cursor"]})
    ).json()
    names = [e["data"]["candidate"]["full_name"] for e in first["items"] + rest["items"]]
    assert names == ["P0", "P1", "P2"]
    assert rest["next_cursor"] is None
    later = (await admin.get("/v1/events", params={"since": "2026-03-04T10:00:01Z"})).json()
    assert later["items"] == []
    assert_problem(await admin.get("/v1/events", params={"type": "candidate.eaten"}), 422)


async def test_recruiters_do_not_read_the_feed(
    recruiter: httpx.AsyncClient, integration: httpx.AsyncClient
) -> None:
    assert_problem(await recruiter.get("/v1/events"), 403)
    assert (await integration.get("/v1/events")).status_code == 200
