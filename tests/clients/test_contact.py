"""A client's default contact and its opt-in to chase emails."""

from __future__ import annotations

import httpx

from tests.factories import create_client, patch_current
from tests.test_conventions import assert_problem


async def test_a_client_has_a_default_contact_and_is_not_chased_by_email_unless_it_asks(
    admin: httpx.AsyncClient,
) -> None:
    plain = await create_client(admin, name="Harlow & Finch")
    assert (plain["contact_name"], plain["contact_email"], plain["auto_chase"]) == (
        None,
        None,
        False,
    )
    changed = await patch_current(
        admin,
        f"/v1/clients/{plain['id']}",
        {
            "contact_name": "Dana Whitfield",
            "contact_email": "Dana@Harlow-Finch.example",
            "auto_chase": True,
        },
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["contact_email"] == "Dana@harlow-finch.example"
    assert changed.json()["auto_chase"] is True
    bulk = await admin.post(
        "/v1/clients/bulk",
        json={
            "items": [
                {"external_id": "c-1", "name": "Globex", "contact_name": "Ann", "auto_chase": True}
            ]
        },
    )
    assert bulk.status_code == 200, bulk.text
    (result,) = bulk.json()["results"]
    got = (await admin.get(f"/v1/clients/{result['id']}")).json()
    assert (got["contact_name"], got["auto_chase"]) == ("Ann", True)


async def test_bad_contacts_are_refused(admin: httpx.AsyncClient) -> None:
    assert_problem(
        await admin.post("/v1/clients", json={"name": "X", "contact_email": "not an address"}), 422
    )
    assert_problem(await admin.post("/v1/clients", json={"name": "X", "auto_chase": "maybe"}), 422)
    client = await create_client(admin)
    assert_problem(
        await patch_current(admin, f"/v1/clients/{client['id']}", {"auto_chase": None}), 422
    )
