"""Bulk upserts by external_id: results per item, atomic or not, repeatable."""

from __future__ import annotations

import asyncio
import itertools
import random
import time
import uuid
from datetime import timedelta
from typing import Any

import httpx
import phonenumbers
import pytest
from sqlalchemy import func, select

from app.bulk.service import FLUSH_ROWS
from app.db.engine import Database
from app.models import AuditEntry
from tests.conftest import T0
from tests.factories import create_candidate, create_client, create_staff
from tests.followups.helpers import all_events, follow_ups
from tests.test_conventions import assert_problem


def people(n: int, **extra: Any) -> list[dict[str, Any]]:
    return [
        {
            "external_id": f"crm-{i}",
            "full_name": f"Person {i}",
            "phone": f"+4479111{i:05d}",
            **extra,
        }
        for i in range(n)
    ]


async def test_upsert_creates_then_changes_nothing_then_updates(
    integration: httpx.AsyncClient,
) -> None:
    first = await integration.post("/v1/candidates/bulk", json={"items": people(3)})
    assert first.status_code == 200
    results = first.json()["results"]
    assert [(r["index"], r["status"], r["error"]) for r in results] == [
        (0, "created", None),
        (1, "created", None),
        (2, "created", None),
    ]
    ids = [r["id"] for r in results]

    again = (await integration.post("/v1/candidates/bulk", json={"items": people(3)})).json()[
        "results"
    ]
    assert [(r["status"], r["id"]) for r in again] == [("unchanged", i) for i in ids]

    changed = people(3)
    changed[1]["status"] = "placed"
    third = (await integration.post("/v1/candidates/bulk", json={"items": changed})).json()[
        "results"
    ]
    assert [r["status"] for r in third] == ["unchanged", "updated", "unchanged"]
    stored = (await integration.get(f"/v1/candidates/{ids[1]}")).json()
    assert (stored["status"], stored["phone"], stored["version"]) == ("placed", "+447911100001", 2)
    types = [e["type"] for e in await all_events(integration)]
    assert types == ["candidate.created"] * 3 + ["candidate.updated"]


async def test_many_changed_candidates_are_each_stored_audited_and_evented_in_item_order(
    integration: httpx.AsyncClient, db: Database
) -> None:
    """More changed rows than one flush takes (`FLUSH_ROWS`): every change is stored once,
    with its version and audit row, and the events follow the items' order, not the rows'."""
    count = FLUSH_ROWS * 2 + 7
    items = _new_people(count)
    created = (await integration.post("/v1/candidates/bulk", json={"items": items})).json()
    ids = [r["id"] for r in created["results"]]
    id_of = {item["external_id"]: i for item, i in zip(items, ids, strict=True)}
    changed = [
        item | {"full_name": f"{item['full_name']} Jr"} if n % 3 else item
        for n, item in enumerate(reversed(items))  # ids no longer in the items' order
    ]
    answer = await integration.post("/v1/candidates/bulk", json={"items": changed})
    assert answer.status_code == 200, answer.text
    statuses = [r["status"] for r in answer.json()["results"]]
    assert statuses == ["unchanged" if n % 3 == 0 else "updated" for n in range(count)]
    renamed = [c for n, c in enumerate(changed) if n % 3]
    for item in (renamed[0], renamed[FLUSH_ROWS], renamed[-1]):
        stored = (await integration.get(f"/v1/candidates/{id_of[item['external_id']]}")).json()
        assert (stored["full_name"], stored["version"]) == (item["full_name"], 2)
    updates = [e for e in await all_events(integration) if e["type"] == "candidate.updated"]
    assert [e["data"]["candidate"]["external_id"] for e in updates] == [
        c["external_id"] for c in renamed
    ]
    async with db.reading() as conn:
        audited = await conn.execute(
            select(func.count()).where(AuditEntry.action == "update", AuditEntry.object_id.in_(ids))
        )
        assert audited.scalar_one() == len(renamed)


async def test_an_existing_candidate_changes_only_in_the_fields_sent(
    integration: httpx.AsyncClient,
) -> None:
    await integration.post("/v1/candidates/bulk", json={"items": people(1, email="p0@mail.co.uk")})
    result = (
        await integration.post(
            "/v1/candidates/bulk",
            json={"items": [{"external_id": "crm-0", "full_name": "Person Zero"}]},
        )
    ).json()
    assert result["results"][0]["status"] == "updated"
    stored = (await integration.get("/v1/candidates", params={"external_id": "crm-0"})).json()[
        "items"
    ][0]
    assert (stored["full_name"], stored["email"], stored["phone"]) == (
        "Person Zero",
        "p0@mail.co.uk",
        "+447911100000",
    )


async def test_atomic_call_with_a_bad_item_stores_nothing(integration: httpx.AsyncClient) -> None:
    items = people(3)
    items[1]["phone"] = "not a phone"
    items[2]["owner_id"] = "01890000-0000-7000-8000-000000000000"
    body = assert_problem(await integration.post("/v1/candidates/bulk", json={"items": items}), 422)
    assert [e["field"] for e in body["errors"]] == ["items.1.phone", "items.2.owner_id"]
    assert "nothing was stored" in body["detail"]
    assert (await integration.get("/v1/candidates")).json()["items"] == []
    assert await all_events(integration) == []


async def test_non_atomic_call_stores_the_good_items(integration: httpx.AsyncClient) -> None:
    items = people(4)
    items[1]["phone"] = "not a phone"
    items[3]["external_id"] = "crm-0"  # repeats item 0
    response = await integration.post(
        "/v1/candidates/bulk", params={"atomic": "false"}, json={"items": items}
    )
    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["status"] for r in results] == ["created", "error", "created", "error"]
    assert results[1]["id"] is None
    assert results[1]["error"]["errors"][0]["field"] == "phone"
    assert "repeats item 0" in results[3]["error"]["detail"]
    stored = {c["external_id"] for c in (await integration.get("/v1/candidates")).json()["items"]}
    assert stored == {"crm-0", "crm-2"}


@pytest.mark.parametrize("count", [0, 1001])
async def test_a_call_holds_1_to_1000_items(integration: httpx.AsyncClient, count: int) -> None:
    body = assert_problem(
        await integration.post("/v1/candidates/bulk", json={"items": people(count)}), 422
    )
    assert body["errors"][0]["field"] == "items"


async def test_thousand_items_in_one_call(integration: httpx.AsyncClient) -> None:
    response = await integration.post("/v1/candidates/bulk", json={"items": people(1000)})
    assert response.status_code == 200
    assert {r["status"] for r in response.json()["results"]} == {"created"}
    again = await integration.post("/v1/candidates/bulk", json={"items": people(1000)})
    assert {r["status"] for r in again.json()["results"]} == {"unchanged"}


async def test_items_need_an_external_id(integration: httpx.AsyncClient) -> None:
    response = await integration.post(
        "/v1/candidates/bulk", params={"atomic": "false"}, json={"items": [{"full_name": "No Id"}]}
    )
    assert response.json()["results"][0]["error"]["errors"][0]["field"] == "external_id"


async def test_owner_must_exist(admin: httpx.AsyncClient) -> None:
    rosa = await create_staff(admin)
    ok = people(1, owner_id=rosa["id"])
    response = await admin.post("/v1/candidates/bulk", json={"items": ok})
    assert response.json()["results"][0]["status"] == "created"


async def test_clients_upsert(integration: httpx.AsyncClient) -> None:
    items = [
        {"external_id": "emp-1", "name": "Acme Ltd"},
        {"external_id": "emp-2", "name": "Globex"},
    ]
    assert [
        r["status"]
        for r in (await integration.post("/v1/clients/bulk", json={"items": items})).json()[
            "results"
        ]
    ] == ["created", "created"]
    items[0]["name"] = "Acme Group"
    assert [
        r["status"]
        for r in (await integration.post("/v1/clients/bulk", json={"items": items})).json()[
            "results"
        ]
    ] == ["updated", "unchanged"]


async def test_interviews_upsert_by_external_ids_with_their_follow_ups(
    integration: httpx.AsyncClient,
) -> None:
    await integration.post("/v1/candidates/bulk", json={"items": people(2)})
    await create_client(integration, external_id="emp-1")
    past = (T0 - timedelta(hours=3)).isoformat()
    future = (T0 + timedelta(days=2)).isoformat()
    items = [
        {
            "external_id": "int-1",
            "candidate_external_id": "crm-0",
            "client_external_id": "emp-1",
            "job_title": "Analyst",
            "stage": "first",
            "format": "video",
            "starts_at": past,
        },
        {
            "external_id": "int-2",
            "candidate_external_id": "crm-1",
            "client_external_id": "emp-1",
            "job_title": "Analyst",
            "stage": "second",
            "format": "phone",
            "starts_at": future,
        },
        {
            "external_id": "int-3",
            "candidate_external_id": "crm-404",
            "client_external_id": "emp-1",
            "job_title": "Analyst",
            "stage": "first",
            "format": "phone",
            "starts_at": future,
        },
        {
            "external_id": "int-4",
            "candidate_external_id": "crm-1",
            "client_external_id": "emp-1",
            "stage": "first",
        },
    ]
    response = await integration.post(
        "/v1/interviews/bulk", params={"atomic": "false"}, json={"items": items}
    )
    results = response.json()["results"]
    assert [r["status"] for r in results] == ["created", "created", "error", "error"]
    assert results[2]["error"]["errors"][0]["field"] == "candidate_external_id"
    assert {e["field"] for e in results[3]["error"]["errors"]} >= {
        "job_title",
        "format",
        "starts_at",
    }
    # The interview that already ended has its follow-ups, exactly as if created one by one.
    assert set(await follow_ups(integration, interview_id=results[0]["id"])) == {
        "debrief_call",
        "thank_you_note",
        "employer_follow_up",
    }

    moved = [{"external_id": "int-2", "starts_at": (T0 + timedelta(days=3)).isoformat()}, items[0]]
    again = (await integration.post("/v1/interviews/bulk", json={"items": moved})).json()["results"]
    assert [r["status"] for r in again] == ["updated", "unchanged"]
    stored = (await integration.get(f"/v1/interviews/{results[1]['id']}")).json()
    assert stored["starts_at"] == "2026-03-07T10:00:00Z"
    assert stored["ends_at"] == "2026-03-07T11:00:00Z"
    types = [
        e["type"] for e in await all_events(integration, "interview.scheduled", "interview.updated")
    ]
    assert types == ["interview.scheduled", "interview.scheduled", "interview.updated"]


async def test_an_interview_cannot_move_to_another_candidate(
    integration: httpx.AsyncClient,
) -> None:
    await integration.post("/v1/candidates/bulk", json={"items": people(2)})
    await create_client(integration, external_id="emp-1")
    item = {
        "external_id": "int-1",
        "candidate_external_id": "crm-0",
        "client_external_id": "emp-1",
        "job_title": "Analyst",
        "stage": "first",
        "format": "video",
        "starts_at": (T0 + timedelta(days=1)).isoformat(),
    }
    await integration.post("/v1/interviews/bulk", json={"items": [item]})
    body = assert_problem(
        await integration.post(
            "/v1/interviews/bulk", json={"items": [{**item, "candidate_external_id": "crm-1"}]}
        ),
        422,
    )
    assert body["errors"][0]["field"] == "items.0.candidate_id"


async def test_recruiters_do_not_bulk_upsert(recruiter: httpx.AsyncClient) -> None:
    assert_problem(await recruiter.post("/v1/candidates/bulk", json={"items": people(1)}), 403)


def _new_people(n: int) -> list[dict[str, Any]]:
    """Candidates whose numbers and addresses no earlier call sent: each is validated for real
    (the schema caches what it has seen)."""
    tag = uuid.uuid4().hex[:8]
    numbers = (f"+44791{random.randrange(10**7):07d}" for _ in itertools.count())
    phones = (p for p in numbers if phonenumbers.is_valid_number(phonenumbers.parse(p)))
    return [
        {
            "external_id": f"crm-{tag}-{i}",
            "full_name": f"Person {i}",
            "email": f"person.{tag}.{i}@mail.co.uk",
            "phone": next(phones),
            "linkedin_url": f"https://www.linkedin.com/in/{tag}-{i}",
        }
        for i in range(n)
    ]


async def test_reads_are_answered_while_a_thousand_items_are_stored(
    integration: httpx.AsyncClient, recruiter: httpx.AsyncClient
) -> None:
    """A recruiter reading a candidate while the CRM's batch of 1,000 is validated and stored
    is answered within a few milliseconds, not once the batch is done."""
    candidate = await create_candidate(recruiter)
    ratios: list[float] = []
    # A busy machine can stall any one call: up to five are tried, until one shows it.
    while len(ratios) < 5 and min(ratios, default=1.0) >= 0.2:
        items = _new_people(1000)
        waits: list[float] = []
        bulk = asyncio.ensure_future(integration.post("/v1/candidates/bulk", json={"items": items}))
        started = time.perf_counter()
        try:
            while not bulk.done():
                # A read 2 ms after the last answer, timed from then: a read held back counts.
                due = time.perf_counter() + 0.002
                await asyncio.sleep(0.002)
                read = await recruiter.get(f"/v1/candidates/{candidate['id']}")
                assert read.status_code == 200
                waits.append(time.perf_counter() - due)
        finally:
            stored = await bulk
        took = time.perf_counter() - started
        assert {r["status"] for r in stored.json()["results"]} == {"created"}
        ratios.append(max(waits) / took)
    # Before the bulk path handed the loop back, a read waited out the validation of all
    # 1,000 items: a third of the call or more. Now the longest wait is a few percent of it.
    assert min(ratios) < 0.2, ratios
