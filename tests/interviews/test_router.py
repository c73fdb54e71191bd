from __future__ import annotations

from datetime import timedelta

import httpx

from tests.conftest import T0
from tests.factories import create_candidate, create_client, create_interview
from tests.test_conventions import assert_problem


async def test_end_defaults_to_sixty_minutes_after_start(admin: httpx.AsyncClient) -> None:
    interview = await create_interview(admin, starts_at=T0)
    assert interview["ends_at"] == "2026-03-04T11:00:00Z"
    assert interview["duration_minutes"] == 60
    assert interview["status"] == "scheduled"
    assert interview["outcome"] == "pending"


async def test_end_from_duration_or_given_end(admin: httpx.AsyncClient) -> None:
    by_duration = await create_interview(admin, starts_at=T0, duration_minutes=90)
    assert by_duration["ends_at"] == "2026-03-04T11:30:00Z"
    by_end = await create_interview(admin, starts_at=T0, ends_at="2026-03-04T12:15:00+01:00")
    assert by_end["ends_at"] == "2026-03-04T11:15:00Z"
    assert by_end["duration_minutes"] == 75


async def test_inconsistent_times_are_422(admin: httpx.AsyncClient) -> None:
    candidate = await create_candidate(admin)
    client = await create_client(admin)
    base = {
        "candidate_id": candidate["id"],
        "client_id": client["id"],
        "job_title": "Analyst",
        "stage": "first",
        "format": "phone",
        "starts_at": T0.isoformat(),
    }
    before = assert_problem(
        await admin.post(
            "/v1/interviews", json={**base, "ends_at": (T0 - timedelta(hours=1)).isoformat()}
        ),
        422,
    )
    assert "ends_at" in before["detail"]
    mismatch = assert_problem(
        await admin.post(
            "/v1/interviews",
            json={**base, "ends_at": (T0 + timedelta(hours=1)).isoformat(), "duration_minutes": 30},
        ),
        422,
    )
    assert mismatch["errors"][0]["field"] == "duration_minutes"


async def test_references_must_exist(admin: httpx.AsyncClient) -> None:
    body = assert_problem(
        await admin.post(
            "/v1/interviews",
            json={
                "candidate_id": "01890000-0000-7000-8000-000000000000",
                "client_id": "01890000-0000-7000-8000-000000000001",
                "job_title": "Analyst",
                "stage": "first",
                "format": "phone",
                "starts_at": T0.isoformat(),
            },
        ),
        422,
    )
    assert sorted(e["field"] for e in body["errors"]) == ["candidate_id", "client_id"]


async def test_reschedule_keeps_the_length(admin: httpx.AsyncClient) -> None:
    interview = await create_interview(admin, starts_at=T0, duration_minutes=45)
    moved = await admin.patch(
        f"/v1/interviews/{interview['id']}",
        json={"starts_at": "2026-03-05T14:00:00Z"},
        headers={"If-Match": '"1"'},
    )
    assert moved.status_code == 200
    assert moved.json()["ends_at"] == "2026-03-05T14:45:00Z"


async def test_next_stage_only_with_next_round(admin: httpx.AsyncClient) -> None:
    interview = await create_interview(admin, starts_at=T0)
    url = f"/v1/interviews/{interview['id']}"
    assert_problem(
        await admin.patch(url, json={"next_stage": "final"}, headers={"If-Match": '"1"'}), 422
    )
    ok = await admin.patch(
        url, json={"outcome": "next_round", "next_stage": "final"}, headers={"If-Match": '"1"'}
    )
    assert ok.status_code == 200
    assert ok.json()["outcome_recorded_at"] == "2026-03-04T10:00:00Z"
    rejected = await admin.patch(url, json={"outcome": "rejected"}, headers={"If-Match": '"2"'})
    assert rejected.json()["next_stage"] is None


async def test_interviewers_and_point_of_contact_are_validated(admin: httpx.AsyncClient) -> None:
    interview = await create_interview(
        admin,
        starts_at=T0,
        interviewers=[
            {"name": "Helen Ward", "title": "Finance Director", "email": "helen@acme.co.uk"}
        ],
        point_of_contact={"name": "Tom Reid", "phone": "+44 20 7946 0958"},
        decision_expected_by="2026-03-20",
    )
    assert interview["interviewers"] == [
        {"name": "Helen Ward", "title": "Finance Director", "email": "helen@acme.co.uk"}
    ]
    assert interview["point_of_contact"] == {"name": "Tom Reid", "phone": "+442079460958"}
    assert interview["decision_expected_by"] == "2026-03-20"
    bad = await admin.patch(
        f"/v1/interviews/{interview['id']}",
        json={"interviewers": [{"title": "No name"}]},
        headers={"If-Match": '"1"'},
    )
    assert assert_problem(bad, 422)["errors"][0]["field"] == "interviewers.0.name"


async def test_list_filters(admin: httpx.AsyncClient) -> None:
    candidate = await create_candidate(admin)
    mine = await create_interview(admin, starts_at=T0, candidate_id=candidate["id"], stage="final")
    await create_interview(admin, starts_at=T0 + timedelta(days=2))
    by_candidate = (
        await admin.get("/v1/interviews", params={"candidate_id": candidate["id"]})
    ).json()
    assert [i["id"] for i in by_candidate["items"]] == [mine["id"]]
    window = (
        await admin.get(
            "/v1/interviews",
            params={"starts_before": (T0 + timedelta(days=1)).isoformat(), "stage": "final"},
        )
    ).json()
    assert [i["id"] for i in window["items"]] == [mine["id"]]
    naive = await admin.get("/v1/interviews", params={"starts_before": "2026-03-05T00:00:00"})
    assert assert_problem(naive, 422)["errors"][0]["field"] == "starts_before"
