from __future__ import annotations

import httpx

from tests.factories import create_client
from tests.test_conventions import assert_problem


async def test_create_get_patch_and_filter(admin: httpx.AsyncClient) -> None:
    acme = await create_client(admin, external_id="emp-1", name="Acme Ltd")
    await create_client(admin, name="Other plc")
    assert (await admin.get(f"/v1/clients/{acme['id']}")).json()["name"] == "Acme Ltd"
    page = (await admin.get("/v1/clients", params={"external_id": "emp-1"})).json()
    assert [c["id"] for c in page["items"]] == [acme["id"]]
    renamed = await admin.patch(
        f"/v1/clients/{acme['id']}", json={"name": "Acme Group"}, headers={"If-Match": '"1"'}
    )
    assert renamed.json()["name"] == "Acme Group"


async def test_client_name_is_required_and_external_id_unique(admin: httpx.AsyncClient) -> None:
    assert_problem(await admin.post("/v1/clients", json={}), 422)
    await create_client(admin, external_id="emp-2")
    assert_problem(await admin.post("/v1/clients", json={"name": "X", "external_id": "emp-2"}), 409)
