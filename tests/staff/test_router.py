from __future__ import annotations

import httpx

from tests.factories import create_staff
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
