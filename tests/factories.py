"""Builders that create objects through the API, as a CRM or recruiter would."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from typing import Any

import httpx

_seq = itertools.count(1)


def _ok(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code in (200, 201), response.text
    body: dict[str, Any] = response.json()
    return body


async def create_staff(client: httpx.AsyncClient, **fields: Any) -> dict[str, Any]:
    n = next(_seq)
    body = {"full_name": f"Staff {n}", "email": f"staff{n}@agency.co.uk", **fields}
    return _ok(await client.post("/v1/staff", json=body))


async def create_candidate(client: httpx.AsyncClient, **fields: Any) -> dict[str, Any]:
    n = next(_seq)
    body = {"full_name": f"Candidate {n}", "email": f"candidate{n}@mail.co.uk", **fields}
    return _ok(await client.post("/v1/candidates", json=body))


async def create_client(client: httpx.AsyncClient, **fields: Any) -> dict[str, Any]:
    body = {"name": f"Employer {next(_seq)} Ltd", **fields}
    return _ok(await client.post("/v1/clients", json=body))


async def create_interview(
    client: httpx.AsyncClient, *, starts_at: datetime, **fields: Any
) -> dict[str, Any]:
    if "candidate_id" not in fields:
        fields["candidate_id"] = (await create_candidate(client))["id"]
    if "client_id" not in fields:
        fields["client_id"] = (await create_client(client))["id"]
    body = {
        "job_title": "Senior Accountant",
        "stage": "first",
        "format": "video",
        "starts_at": starts_at.isoformat(),
        **fields,
    }
    return _ok(await client.post("/v1/interviews", json=body))


async def create_employer_feedback(
    client: httpx.AsyncClient, interview_id: str, **fields: Any
) -> dict[str, Any]:
    """What the employer said about an interview, recorded as a recruiter would."""
    return _ok(await client.post(f"/v1/interviews/{interview_id}/employer-feedback", json=fields))


def iso(moment: datetime) -> str:
    return moment.isoformat()


def hours(n: float) -> timedelta:
    return timedelta(hours=n)


async def patch_current(
    client: httpx.AsyncClient, url: str, body: dict[str, Any]
) -> httpx.Response:
    """PATCH with the object's current ETag, as a client that just read it would."""
    etag = (await client.get(url)).headers["etag"]
    return await client.patch(url, json=body, headers={"If-Match": etag})
