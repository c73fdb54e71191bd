from __future__ import annotations

import uuid

import httpx
from fastapi import FastAPI
from sqlalchemy import update

from app.db.engine import Database
from app.models import Setting
from tests.factories import create_staff, patch_current
from tests.test_conventions import assert_problem


async def test_the_default_policy_is_the_playbook(admin: httpx.AsyncClient) -> None:
    response = await admin.get("/v1/settings/follow-up-policy")
    assert response.status_code == 200
    assert response.json() == {
        "timezone": "Europe/London",
        "holiday_country": "GB",
        "holiday_subdivision": "ENG",
        "business_hours": {
            "days": ["mon", "tue", "wed", "thu", "fri"],
            "start": "09:00",
            "end": "17:30",
        },
        "debrief_call_working_hours": 8.0,
        "thank_you_note_hours": 24.0,
        "employer_follow_up_fraction": 0.75,
        "employer_follow_up_days": 7,
        "employer_feedback_working_days": 5,
        "final_round_prep_working_days": 2,
        "max_reminders": 3,
        "debrief_link_days": 7,
        "retention_days": None,
        "thank_you_note_ideal_hours": 3.0,
        "escalation_contact_id": None,
        "history_working_days": 5,
        "reminder_interval_working_days": 2,
        "candidate_call_working_hours": 4.0,
        "employer_follow_up_again_working_days": 3,
        "max_employer_follow_ups": 2,
        "candidate_email_delay_minutes": 30,
        "candidate_waking_hours": {
            "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
            "start": "08:00",
            "end": "20:00",
        },
        "candidate_email_within_hours": 48,
        "candidate_nudges": 1,
        "candidate_nudge_working_days": 1,
        "staff_digest_at": "09:00",
        "version": 0,
        "updated_at": None,
    }


async def test_put_replaces_the_policy_and_bumps_its_version(admin: httpx.AsyncClient) -> None:
    body = {
        "timezone": "America/New_York",
        "holiday_country": "US",
        "holiday_subdivision": "NY",
        "business_hours": {"days": ["mon", "tue", "wed", "thu"], "start": "08:30", "end": "16:00"},
    }
    put = await admin.put("/v1/settings/follow-up-policy", json=body)
    assert put.status_code == 200
    assert put.headers["etag"] == '"1"'
    got = (await admin.get("/v1/settings/follow-up-policy")).json()
    assert got["timezone"] == "America/New_York"
    assert got["business_hours"] == {
        "days": ["mon", "tue", "wed", "thu"],
        "start": "08:30",
        "end": "16:00",
    }
    assert got["max_reminders"] == 3  # left out: the default
    assert got["version"] == 1
    stale = await admin.put("/v1/settings/follow-up-policy", json={}, headers={"If-Match": '"0"'})
    assert_problem(stale, 412)


async def test_invalid_policies_are_422_and_change_nothing(admin: httpx.AsyncClient) -> None:
    for body in (
        {"business_hours": {"start": "18:00", "end": "09:00"}},
        {"business_hours": {"days": []}},
        {"business_hours": {"days": ["mon", "funday"]}},
        {"holiday_country": "XX"},
        {"holiday_country": "GB", "holiday_subdivision": "CA"},
        {"timezone": "Europe/Atlantis"},
        {"debrief_call_working_hours": 0},
        {"employer_follow_up_fraction": 1.5},
        {"max_reminders": -1},
        {"thank_you_note_ideal_hours": 0},
        {"thank_you_note_ideal_hours": 25},
        {"thank_you_note_hours": 12, "thank_you_note_ideal_hours": 13},
        {"history_working_days": 0},
        {"history_working_days": 91},
        {"reminder_interval_working_days": 0},
        {"reminder_interval_working_days": 1.5},
        {"reminder_interval_hours": 48, "reminder_interval_working_days": 2},
        {"reminder_interval_hours": "soon"},
        {"candidate_call_working_hours": 0},
        {"employer_follow_up_again_working_days": 0},
        {"max_employer_follow_ups": 0},
        {"surprise": True},
    ):
        assert_problem(await admin.put("/v1/settings/follow-up-policy", json=body), 422)
    assert (await admin.get("/v1/settings/follow-up-policy")).json()["version"] == 0


async def test_only_admins_see_and_change_the_policy(
    recruiter: httpx.AsyncClient, integration: httpx.AsyncClient
) -> None:
    for client in (recruiter, integration):
        assert_problem(await client.get("/v1/settings/follow-up-policy"), 403)
        assert_problem(await client.put("/v1/settings/follow-up-policy", json={}), 403)
        assert_problem(await client.post("/v1/admin/sweeps"), 403)


async def test_the_ideal_for_the_note_never_passes_its_deadline(admin: httpx.AsyncClient) -> None:
    """Sent without the ideal (as a policy stored before it existed was), a deadline shorter
    than the default ideal takes the deadline as the ideal; sent with a longer ideal, 422."""
    url = "/v1/settings/follow-up-policy"
    short = await admin.put(url, json={"thank_you_note_hours": 2})
    assert short.status_code == 200, short.text
    assert (short.json()["thank_you_note_hours"], short.json()["thank_you_note_ideal_hours"]) == (
        2.0,
        2.0,
    )
    problem = assert_problem(
        await admin.put(url, json={"thank_you_note_hours": 2, "thank_you_note_ideal_hours": 3}),
        422,
    )
    assert problem["errors"][0]["message"] == (
        "thank_you_note_ideal_hours must not exceed thank_you_note_hours"
    ), problem
    assert (await admin.get(url)).json()["version"] == 1


async def test_the_fallback_escalation_contact_must_be_an_active_staff_member(
    admin: httpx.AsyncClient,
) -> None:
    maria = await create_staff(admin, full_name="Maria Director")
    gone = await create_staff(admin)
    await patch_current(admin, f"/v1/staff/{gone['id']}", {"active": False})
    for contact in (str(uuid.uuid4()), gone["id"], "not-an-id"):
        body = assert_problem(
            await admin.put(
                "/v1/settings/follow-up-policy", json={"escalation_contact_id": contact}
            ),
            422,
        )
        assert body["errors"][0]["field"] == "escalation_contact_id"
    assert (await admin.get("/v1/settings/follow-up-policy")).json()["version"] == 0

    put = await admin.put(
        "/v1/settings/follow-up-policy", json={"escalation_contact_id": maria["id"]}
    )
    assert put.status_code == 200, put.text
    got = (await admin.get("/v1/settings/follow-up-policy")).json()
    assert (got["escalation_contact_id"], got["version"]) == (maria["id"], 1)


async def test_a_policy_with_the_former_reminder_interval_in_hours_still_reads(
    admin: httpx.AsyncClient, api: FastAPI
) -> None:
    """`reminder_interval_hours` became `reminder_interval_working_days`: a stored policy (or a
    body) with the former field reads as whole working days, rounded up."""
    put = await admin.put("/v1/settings/follow-up-policy", json={"reminder_interval_hours": 60})
    assert put.status_code == 200
    assert put.json()["reminder_interval_working_days"] == 3
    assert "reminder_interval_hours" not in put.json()
    db: Database = api.state.db
    async with db.engine.begin() as conn:
        await conn.execute(
            update(Setting)
            .where(Setting.key == "follow_up_policy")
            .values(value={"max_reminders": 1, "reminder_interval_hours": 24.0})
        )
    got = (await admin.get("/v1/settings/follow-up-policy")).json()
    assert (got["reminder_interval_working_days"], got["max_reminders"]) == (1, 1)
