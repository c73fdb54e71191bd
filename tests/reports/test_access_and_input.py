"""Who may read the reports, and what the reports refuse."""

from __future__ import annotations

import uuid

import httpx
import pytest

from app.db.engine import Database
from tests.conftest import ClientMaker
from tests.reports.seed import Agency
from tests.test_conventions import assert_problem

REPORTS = (
    "/v1/reports/debrief-timeliness",
    "/v1/reports/employer-decisions",
    "/v1/reports/pipeline",
)


async def _client_path(db: Database) -> str:
    agency = Agency()
    client = agency.client("Acme")
    await agency.save(db)
    return f"/v1/clients/{client}/interview-questions"


async def test_staff_may_read_the_integration_may_not(
    client_for: ClientMaker, db: Database
) -> None:
    paths = (*REPORTS, await _client_path(db))
    for role, status in (("admin", 200), ("recruiter", 200), ("integration", 403)):
        client = await client_for(role)
        for path in paths:
            response = await client.get(path)
            assert response.status_code == status, (role, path, response.text)
    anonymous = await client_for(None)
    for path in paths:
        assert_problem(await anonymous.get(path, params={"from": "nonsense"}), 401)


async def test_default_period_is_the_last_90_days(recruiter: httpx.AsyncClient) -> None:
    for path in REPORTS:
        body = (await recruiter.get(path)).json()
        assert body["period"] == {
            "start": "2025-12-04T10:00:00Z",  # T0 - 90 days
            "end": "2026-03-04T10:00:00Z",  # T0
        }


@pytest.mark.parametrize("path", REPORTS)
@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"from": "2026-03-02", "to": "2026-03-01"}, "from"),
        ({"from": "2026-03-01T10:00:01Z", "to": "2026-03-01T10:00:00Z"}, "from"),
        ({"from": "2023-01-01", "to": "2025-01-02"}, "to"),
        ({"from": "2024-01-01"}, "to"),  # up to now: more than two years
        ({"from": "yesterday"}, "from"),
        ({"from": "2026-02-30"}, "from"),
        ({"to": "2026-03-01T10:00:00"}, "to"),  # no offset
        ({"to": "0.5"}, "to"),  # not a Unix time either
        ({"from": "1767225600"}, "from"),
        ({"from": " 2026-03-01"}, "from"),
        ({"from": "2026-03-01T25:00:00Z"}, "from"),
    ],
)
async def test_bad_periods_are_422(
    recruiter: httpx.AsyncClient, path: str, params: dict[str, str], field: str
) -> None:
    body = assert_problem(await recruiter.get(path, params=params), 422)
    assert body["type"].endswith("/validation-error")
    assert [(e["field"], e["location"]) for e in body["errors"]] == [(field, "query")]


async def test_rfc_3339_timestamps(recruiter: httpx.AsyncClient) -> None:
    response = await recruiter.get(
        "/v1/reports/pipeline",
        params={"from": "2026-01-01t00:00:00.123456789z", "to": "2026-02-01 00:00+01:00"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["period"] == {
        "start": "2026-01-01T00:00:00.123456Z",
        "end": "2026-01-31T23:00:00Z",
    }


async def test_the_longest_period_is_two_years(recruiter: httpx.AsyncClient) -> None:
    response = await recruiter.get(
        "/v1/reports/pipeline", params={"from": "2024-01-01", "to": "2025-12-31"}
    )
    assert response.status_code == 200, response.text
    assert len(response.json()["buckets"]) == 24


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/v1/reports/pipeline", {"bucket": "day"}, "bucket"),
        ("/v1/reports/employer-decisions", {"limit": "0"}, "limit"),
        ("/v1/reports/employer-decisions", {"limit": "201"}, "limit"),
    ],
)
async def test_bad_options_are_422(
    recruiter: httpx.AsyncClient, path: str, params: dict[str, str], field: str
) -> None:
    body = assert_problem(await recruiter.get(path, params=params), 422)
    assert field in {e["field"] for e in body["errors"]}


async def test_bad_question_options_are_422(recruiter: httpx.AsyncClient, db: Database) -> None:
    path = await _client_path(db)
    for params, field in (
        ({"limit": "201"}, "limit"),
        ({"job_title": "x" * 201}, "job_title"),
        ({"from": "2026-03-02", "to": "2026-03-01"}, "from"),
    ):
        body = assert_problem(await recruiter.get(path, params=params), 422)
        assert field in {e["field"] for e in body["errors"]}
    # Questions have no longest period: the whole history is the default.
    assert (await recruiter.get(path, params={"from": "2015-01-01"})).status_code == 200
    not_a_uuid = await recruiter.get("/v1/clients/42/interview-questions")
    assert_problem(not_a_uuid, 404)
    assert_problem(await recruiter.get(f"/v1/clients/{uuid.uuid4()}/interview-questions"), 404)


@pytest.mark.parametrize(
    "params",
    [
        {"from": "9999-12-30", "to": "9999-12-31"},
        {"from": "0001-01-01", "to": "0001-01-01T00:00:00+14:00"},
        {"to": "0001-01-01"},
    ],
)
async def test_dates_at_the_ends_of_the_calendar_are_422_not_500(
    recruiter: httpx.AsyncClient, params: dict[str, str]
) -> None:
    response = await recruiter.get("/v1/reports/debrief-timeliness", params=params)
    assert_problem(response, 422)


async def test_odd_job_titles_are_answered_not_failed(
    recruiter: httpx.AsyncClient, db: Database
) -> None:
    path = await _client_path(db)
    for title in ("\x00", "naïve ünïcode", "%_", "' OR 1=1 --"):
        response = await recruiter.get(path, params={"job_title": title})
        assert response.status_code in (200, 422), (title, response.text)
        if response.status_code == 200:
            assert response.json()["items"] == []
