from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from app.main import create_app
from tests.conftest import KeyMaker, make_settings
from tests.factories import create_candidate, create_staff
from tests.test_conventions import assert_problem


async def test_create_normalises_phone_to_e164_and_answers_201(admin: httpx.AsyncClient) -> None:
    response = await admin.post(
        "/v1/candidates",
        json={
            "external_id": "crm-1",
            "full_name": "  Amira Okafor ",
            "email": "amira@mail.co.uk",
            "phone": "07911 123456",
            "linkedin_url": "https://www.linkedin.com/in/amira",
            "timezone": "Europe/London",
        },
    )
    assert response.status_code == 201
    body = response.json()
    assert body["phone"] == "+447911123456"
    assert body["full_name"] == "Amira Okafor"
    assert body["status"] == "active"
    assert body["job_search_active"] is True
    assert body["flags"] == []
    assert response.headers["location"] == f"/v1/candidates/{body['id']}"
    assert response.headers["etag"] == '"1"'
    assert (await admin.get(f"/v1/candidates/{body['id']}")).json() == body


async def test_each_app_reads_a_number_without_its_country_code_in_its_own_region(
    api: FastAPI, admin: httpx.AsyncClient, make_key: KeyMaker, database_url: str
) -> None:
    """DEBRIEF_DEFAULT_PHONE_REGION is the app's own: an app started later in the same
    process with another region does not change how this one reads numbers."""
    american = create_app(
        make_settings(database_url, default_phone_region="US"), clock=api.state.clock
    )
    async with (
        american.router.lifespan_context(american),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=american),
            base_url="http://testserver",
            headers={"Authorization": f"Bearer {await make_key('admin')}"},
        ) as there,
    ):
        in_us = await there.post(
            "/v1/candidates", json={"full_name": "Ann", "phone": "(212) 736-5000"}
        )
        in_gb = await admin.post(
            "/v1/candidates", json={"full_name": "Bo", "phone": "07911 123456"}
        )
        refused = await there.post(
            "/v1/candidates", json={"full_name": "Cy", "phone": "07911 123456"}
        )
    assert (in_us.status_code, in_us.json()["phone"]) == (201, "+12127365000")
    assert (in_gb.status_code, in_gb.json()["phone"]) == (201, "+447911123456")
    assert [e["field"] for e in assert_problem(refused, 422)["errors"]] == ["phone"]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("phone", "12345"),
        ("phone", "+44 20"),
        ("email", "not-an-email"),
        ("timezone", "Mars/Olympus"),
        ("status", "hired"),
        ("linkedin_url", "javascript:alert(1)"),
        ("external_id", "has space"),
    ],
)
async def test_invalid_fields_are_422(admin: httpx.AsyncClient, field: str, value: str) -> None:
    body = assert_problem(
        await admin.post("/v1/candidates", json={"full_name": "Ann Lee", field: value}), 422
    )
    assert [e["field"] for e in body["errors"]] == [field]


async def test_duplicate_external_id_is_409(admin: httpx.AsyncClient) -> None:
    await create_candidate(admin, external_id="crm-7")
    assert_problem(
        await admin.post("/v1/candidates", json={"full_name": "B", "external_id": "crm-7"}), 409
    )


async def test_owner_must_be_a_staff_member(admin: httpx.AsyncClient) -> None:
    body = assert_problem(
        await admin.post(
            "/v1/candidates",
            json={"full_name": "B", "owner_id": "01890000-0000-7000-8000-000000000000"},
        ),
        422,
    )
    assert body["errors"][0]["field"] == "owner_id"


async def test_list_filters_by_owner_and_status(admin: httpx.AsyncClient) -> None:
    rosa = await create_staff(admin)
    mine = await create_candidate(admin, owner_id=rosa["id"])
    await create_candidate(admin, owner_id=rosa["id"], status="placed")
    await create_candidate(admin)
    page = (
        await admin.get("/v1/candidates", params={"owner_id": rosa["id"], "status": "active"})
    ).json()
    assert [c["id"] for c in page["items"]] == [mine["id"]]


async def test_patch_changes_only_what_is_sent(admin: httpx.AsyncClient) -> None:
    candidate = await create_candidate(admin, phone="+447911123456")
    url = f"/v1/candidates/{candidate['id']}"
    response = await admin.patch(
        url, json={"status": "placed", "email": None}, headers={"If-Match": '"1"'}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "placed"
    assert body["email"] is None
    assert body["phone"] == "+447911123456"
    assert body["version"] == 2


async def test_patch_cannot_empty_a_required_field(admin: httpx.AsyncClient) -> None:
    candidate = await create_candidate(admin)
    body = assert_problem(
        await admin.patch(
            f"/v1/candidates/{candidate['id']}",
            json={"full_name": None},
            headers={"If-Match": '"1"'},
        ),
        422,
    )
    assert body["errors"][0]["field"] == "full_name"


@pytest.mark.parametrize("field", ["id", "created_at", "version", "flags", "updated_at"])
async def test_read_only_fields_cannot_be_written(admin: httpx.AsyncClient, field: str) -> None:
    candidate = await create_candidate(admin)
    response = await admin.patch(
        f"/v1/candidates/{candidate['id']}",
        json={field: "2020-01-01T00:00:00Z"},
        headers={"If-Match": '"1"'},
    )
    body = assert_problem(response, 422)
    assert body["errors"][0]["field"] == field
    assert (await admin.get(f"/v1/candidates/{candidate['id']}")).json()["version"] == 1


async def test_recruiters_and_integrations_share_the_candidate_database(
    admin: httpx.AsyncClient, recruiter: httpx.AsyncClient, integration: httpx.AsyncClient
) -> None:
    candidate = await create_candidate(integration)
    assert (await recruiter.get(f"/v1/candidates/{candidate['id']}")).status_code == 200
    assert (await admin.get(f"/v1/candidates/{candidate['id']}")).status_code == 200
