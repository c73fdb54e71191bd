"""API keys: shown once, hashed, revocable; roles decide what a key may do."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from tests.conftest import ClientMaker
from tests.factories import create_staff
from tests.test_conventions import assert_problem


async def test_key_is_shown_once_and_listed_without_secret(admin: httpx.AsyncClient) -> None:
    created = await admin.post("/v1/api-keys", json={"name": "CRM sync", "role": "integration"})
    assert created.status_code == 201
    body = created.json()
    assert body["key"].startswith("dbr_")
    assert len(body["key"]) >= 40
    assert body["key"].startswith(body["prefix"])
    listed = (await admin.get("/v1/api-keys", params={"role": "integration"})).json()["items"]
    assert [k["id"] for k in listed] == [body["id"]]
    assert "key" not in listed[0]
    assert body["key"] not in (await admin.get(f"/v1/api-keys/{body['id']}")).text


async def test_new_key_works_and_revoked_key_stops_working(
    admin: httpx.AsyncClient, api: FastAPI
) -> None:
    body = (await admin.post("/v1/api-keys", json={"name": "temp", "role": "integration"})).json()
    headers = {"Authorization": f"Bearer {body['key']}"}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=api), base_url="http://t") as c:
        assert (await c.get("/v1/candidates", headers=headers)).status_code == 200
        revoked = await admin.delete(f"/v1/api-keys/{body['id']}")
        assert revoked.status_code == 200
        assert revoked.json()["revoked_at"] is not None
        assert_problem(await c.get("/v1/candidates", headers=headers), 401)


async def test_revoking_is_immediate_even_with_a_key_cache(
    client_for: ClientMaker, api: FastAPI
) -> None:
    ttl, api.state.key_cache.ttl = api.state.key_cache.ttl, 60
    try:
        admin = await client_for("admin")
        body = (
            await admin.post("/v1/api-keys", json={"name": "cached", "role": "integration"})
        ).json()
        headers = {"Authorization": f"Bearer {body['key']}"}
        assert (await admin.get("/v1/candidates", headers=headers)).status_code == 200  # now cached
        await admin.delete(f"/v1/api-keys/{body['id']}")
        assert (await admin.get("/v1/candidates", headers=headers)).status_code == 401
    finally:
        api.state.key_cache.ttl = ttl


async def test_last_admin_key_cannot_be_revoked(admin: httpx.AsyncClient) -> None:
    keys = (await admin.get("/v1/api-keys", params={"role": "admin"})).json()["items"]
    assert len(keys) == 1
    assert_problem(await admin.delete(f"/v1/api-keys/{keys[0]['id']}"), 409)


async def test_recruiter_key_needs_an_active_staff_member(admin: httpx.AsyncClient) -> None:
    body = assert_problem(
        await admin.post("/v1/api-keys", json={"name": "r", "role": "recruiter"}), 422
    )
    assert body["errors"][0]["field"] == "staff_id"
    staff = await create_staff(admin)
    created = await admin.post(
        "/v1/api-keys", json={"name": "r", "role": "recruiter", "staff_id": staff["id"]}
    )
    assert created.status_code == 201
    assert created.json()["staff_id"] == staff["id"]


async def test_deactivating_staff_disables_their_keys(
    admin: httpx.AsyncClient, api: FastAPI
) -> None:
    staff = await create_staff(admin)
    key = (
        await admin.post(
            "/v1/api-keys", json={"name": "r", "role": "recruiter", "staff_id": staff["id"]}
        )
    ).json()["key"]
    headers = {"Authorization": f"Bearer {key}"}
    assert (await admin.get("/v1/candidates", headers=headers)).status_code == 200
    await admin.patch(
        f"/v1/staff/{staff['id']}", json={"active": False}, headers={"If-Match": '"1"'}
    )
    assert_problem(await admin.get("/v1/candidates", headers=headers), 401)


async def test_only_admins_manage_keys(
    recruiter: httpx.AsyncClient, integration: httpx.AsyncClient
) -> None:
    for client in (recruiter, integration):
        assert_problem(await client.get("/v1/api-keys"), 403)
        assert_problem(await client.post("/v1/api-keys", json={"name": "x", "role": "admin"}), 403)
