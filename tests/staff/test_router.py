from __future__ import annotations

import asyncio
import uuid

import httpx

from tests.factories import create_staff, patch_current
from tests.test_conventions import assert_problem


async def test_admin_manages_staff_and_everyone_can_list_them(
    admin: httpx.AsyncClient, recruiter: httpx.AsyncClient
) -> None:
    staff = await create_staff(admin, full_name="Dev Patel", email="Dev@Agency.co.uk")
    listed = (await recruiter.get("/v1/staff", params={"email": "dev@agency.co.uk"})).json()[
        "items"
    ]
    assert [s["id"] for s in listed] == [staff["id"]]
    assert_problem(
        await recruiter.post("/v1/staff", json={"full_name": "X", "email": "x@agency.co.uk"}), 403
    )


async def test_staff_email_is_unique_ignoring_case(admin: httpx.AsyncClient) -> None:
    await create_staff(admin, email="sam@agency.co.uk")
    assert_problem(
        await admin.post("/v1/staff", json={"full_name": "Sam", "email": "SAM@agency.co.uk"}), 409
    )


async def test_staff_have_an_optional_manager_and_time_zone(
    admin: httpx.AsyncClient, recruiter: httpx.AsyncClient
) -> None:
    maria = await create_staff(admin, full_name="Maria Manager", timezone="Europe/Madrid")
    rosa = await create_staff(admin, manager_id=maria["id"], timezone="America/New_York")
    assert (maria["manager_id"], maria["timezone"]) == (None, "Europe/Madrid")
    assert (rosa["manager_id"], rosa["timezone"]) == (maria["id"], "America/New_York")
    got = (await recruiter.get(f"/v1/staff/{rosa['id']}")).json()
    assert (got["manager_id"], got["timezone"]) == (maria["id"], "America/New_York")
    listed = {s["id"]: s for s in (await recruiter.get("/v1/staff")).json()["items"]}
    assert listed[rosa["id"]]["manager_id"] == maria["id"]

    cleared = await patch_current(
        admin, f"/v1/staff/{rosa['id']}", {"manager_id": None, "timezone": None}
    )
    assert cleared.status_code == 200, cleared.text
    assert (cleared.json()["manager_id"], cleared.json()["timezone"]) == (None, None)


async def test_a_time_zone_must_be_an_iana_name(admin: httpx.AsyncClient) -> None:
    sam = await create_staff(admin)
    for zone in ("Mars/Olympus", "europe/london", "", "GMT+1", "Europe/London " * 6):
        body = assert_problem(
            await admin.post(
                "/v1/staff", json={"full_name": "Z", "email": "z@agency.co.uk", "timezone": zone}
            ),
            422,
        )
        assert body["errors"][0]["field"] == "timezone"
        patched = await patch_current(admin, f"/v1/staff/{sam['id']}", {"timezone": zone})
        assert_problem(patched, 422)
    assert (await admin.get("/v1/staff", params={"email": "z@agency.co.uk"})).json()["items"] == []
    assert (await admin.get(f"/v1/staff/{sam['id']}")).json()["version"] == sam["version"]


async def test_a_manager_is_an_active_staff_member_and_never_makes_a_loop(
    admin: httpx.AsyncClient,
) -> None:
    director = await create_staff(admin)
    lead = await create_staff(admin, manager_id=director["id"])
    rosa = await create_staff(admin, manager_id=lead["id"])
    gone = await create_staff(admin)
    await patch_current(admin, f"/v1/staff/{gone['id']}", {"active": False})

    def refused(response: httpx.Response, message: str) -> None:
        body = assert_problem(response, 422)
        assert body["errors"][0]["field"] == "manager_id"
        assert message in body["errors"][0]["message"]

    refused(
        await admin.post(
            "/v1/staff",
            json={"full_name": "N", "email": "n@agency.co.uk", "manager_id": str(uuid.uuid4())},
        ),
        "no staff member",
    )
    refused(
        await admin.post(
            "/v1/staff",
            json={"full_name": "N", "email": "n@agency.co.uk", "manager_id": gone["id"]},
        ),
        "not active",
    )
    url = f"/v1/staff/{director['id']}"
    refused(await patch_current(admin, url, {"manager_id": director["id"]}), "own manager")
    refused(await patch_current(admin, url, {"manager_id": lead["id"]}), "loop")
    refused(await patch_current(admin, url, {"manager_id": rosa["id"]}), "loop")  # two levels down
    after = (await admin.get(url)).json()
    assert (after["manager_id"], after["version"]) == (None, director["version"])
    # Sideways and upwards moves are fine.
    moved = await patch_current(admin, f"/v1/staff/{rosa['id']}", {"manager_id": director["id"]})
    assert moved.status_code == 200, moved.text


async def test_deactivating_a_manager_clears_their_reports_manager(
    admin: httpx.AsyncClient,
) -> None:
    maria = await create_staff(admin)
    rosa = await create_staff(admin, manager_id=maria["id"])
    dev = await create_staff(admin, manager_id=maria["id"])
    other = await create_staff(admin, manager_id=rosa["id"])
    response = await patch_current(admin, f"/v1/staff/{maria['id']}", {"active": False})
    assert response.status_code == 200, response.text
    for report in (rosa, dev):
        now = (await admin.get(f"/v1/staff/{report['id']}")).json()
        assert now["manager_id"] is None
        assert now["version"] == report["version"] + 1  # a client's stale ETag now fails
    assert (await admin.get(f"/v1/staff/{other['id']}")).json()["manager_id"] == rosa["id"]
    # Coming back does not restore them: an admin names managers again.
    await patch_current(admin, f"/v1/staff/{maria['id']}", {"active": True})
    assert (await admin.get(f"/v1/staff/{rosa['id']}")).json()["manager_id"] is None


async def test_two_changes_at_once_cannot_make_a_loop_together(
    admin: httpx.AsyncClient,
) -> None:
    """Each alone is fine; together they would loop. One waits for the other and is refused
    (a few pairs: without the lock, some pairs would both pass)."""
    for _ in range(5):
        ana = await create_staff(admin)
        ben = await create_staff(admin)
        a_url, b_url = f"/v1/staff/{ana['id']}", f"/v1/staff/{ben['id']}"
        a_etag = (await admin.get(a_url)).headers["etag"]
        b_etag = (await admin.get(b_url)).headers["etag"]
        answers = await asyncio.gather(
            admin.patch(a_url, json={"manager_id": ben["id"]}, headers={"If-Match": a_etag}),
            admin.patch(b_url, json={"manager_id": ana["id"]}, headers={"If-Match": b_etag}),
        )
        assert sorted(r.status_code for r in answers) == [200, 422], [r.text for r in answers]
        managers = {(await admin.get(u)).json()["manager_id"] for u in (a_url, b_url)}
        assert None in managers
