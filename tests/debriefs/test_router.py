from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx

from app.clock import FrozenClock
from tests.conftest import T0
from tests.factories import create_interview
from tests.test_conventions import assert_problem

DEBRIEF = {
    "channel": "phone",
    "overall_rating": 4,
    "went_well": "Good rapport with the finance director",
    "went_badly": "Stumbled on a consolidation question",
    "challenging_questions": [
        "Walk us through a group consolidation",
        "Why leave after two years?",
    ],
    "still_interested": "yes",
    "company_fit": 5,
    "salary_expectation": {"amount": "58000", "currency": "gbp"},
    "other_applications_active": True,
    "thank_you_sent_at": "2026-03-04T12:30:00+00:00",
    "linkedin_connected": False,
}


async def _past_interview(client: httpx.AsyncClient, clock: FrozenClock) -> dict:
    interview = await create_interview(client, starts_at=T0)
    clock.advance(timedelta(hours=3))
    return interview


async def test_record_then_amend_the_debrief(admin: httpx.AsyncClient, clock: FrozenClock) -> None:
    interview = await _past_interview(admin, clock)
    url = f"/v1/interviews/{interview['id']}/debrief"
    first = await admin.post(url, json=DEBRIEF)
    assert first.status_code == 201
    body = first.json()
    assert body["salary_expectation"] == {"amount": "58000.00", "currency": "GBP"}
    assert body["received_via"] == "staff"
    assert body["received_at"] == "2026-03-04T13:00:00Z"

    amended = await admin.post(url, json={"notes": "Called back: keen to proceed"})
    assert amended.status_code == 200
    assert amended.json()["notes"] == "Called back: keen to proceed"
    assert amended.json()["overall_rating"] == 4
    assert amended.json()["version"] == 2
    assert (await admin.get(url)).json() == amended.json()


async def test_first_debriefs_sent_at_once_make_one_debrief(
    admin: httpx.AsyncClient, clock: FrozenClock
) -> None:
    # A candidate's form and a recruiter's call log at the same moment: the interview is
    # locked while its debrief is written, so one creates and the others amend.
    interview = await _past_interview(admin, clock)
    url = f"/v1/interviews/{interview['id']}/debrief"
    answers = await asyncio.gather(*(admin.post(url, json=DEBRIEF) for _ in range(8)))
    assert sorted(a.status_code for a in answers) == [200] * 7 + [201]
    assert (await admin.get(url)).status_code == 200


async def test_debrief_needs_a_channel_the_first_time(
    admin: httpx.AsyncClient, clock: FrozenClock
) -> None:
    interview = await _past_interview(admin, clock)
    body = assert_problem(
        await admin.post(f"/v1/interviews/{interview['id']}/debrief", json={"overall_rating": 3}),
        422,
    )
    assert body["errors"][0]["field"] == "channel"


async def test_debrief_before_the_interview_is_409(admin: httpx.AsyncClient) -> None:
    interview = await create_interview(admin, starts_at=T0 + timedelta(days=1))
    assert_problem(await admin.post(f"/v1/interviews/{interview['id']}/debrief", json=DEBRIEF), 409)


async def test_debrief_field_validation(admin: httpx.AsyncClient, clock: FrozenClock) -> None:
    interview = await _past_interview(admin, clock)
    url = f"/v1/interviews/{interview['id']}/debrief"
    for field, value in [
        ("overall_rating", 6),
        ("company_fit", 0),
        ("still_interested", "maybe"),
        ("salary_expectation", {"amount": "50000", "currency": "XYZ"}),
        ("challenging_questions", "one question"),
        ("thank_you_sent_at", "2026-03-04T12:30:00"),
        ("channel", "carrier_pigeon"),
    ]:
        body = assert_problem(await admin.post(url, json={**DEBRIEF, field: value}), 422)
        assert body["errors"][0]["field"].startswith(field), (field, body)
    future = assert_problem(
        await admin.post(url, json={**DEBRIEF, "thank_you_sent_at": "2026-03-05T09:00:00Z"}), 422
    )
    assert future["errors"][0]["field"] == "thank_you_sent_at"
    assert (await admin.get(url)).status_code == 404


async def test_missing_debrief_and_interview_are_404(
    admin: httpx.AsyncClient, clock: FrozenClock
) -> None:
    interview = await _past_interview(admin, clock)
    assert_problem(await admin.get(f"/v1/interviews/{interview['id']}/debrief"), 404)
    assert_problem(
        await admin.post(
            "/v1/interviews/01890000-0000-7000-8000-000000000000/debrief", json=DEBRIEF
        ),
        404,
    )


async def test_employer_feedback_records_the_outcome_on_the_interview(
    admin: httpx.AsyncClient, clock: FrozenClock
) -> None:
    interview = await _past_interview(admin, clock)
    url = f"/v1/interviews/{interview['id']}/employer-feedback"
    created = await admin.post(url, json={"outcome": "rejected", "improvements": "More IFRS depth"})
    assert created.status_code == 201
    feedback = created.json()
    assert feedback["received_at"] == "2026-03-04T13:00:00Z"
    assert feedback["relayed_to_candidate_at"] is None
    updated_interview = (await admin.get(f"/v1/interviews/{interview['id']}")).json()
    assert updated_interview["outcome"] == "rejected"
    assert updated_interview["outcome_recorded_at"] == "2026-03-04T13:00:00Z"

    listed = (await admin.get(url)).json()["items"]
    assert [f["id"] for f in listed] == [feedback["id"]]

    relayed = await admin.patch(
        f"{url}/{feedback['id']}",
        json={"relayed_to_candidate_at": "2026-03-04T12:55:00Z"},
        headers={"If-Match": '"1"'},
    )
    assert relayed.status_code == 200
    assert relayed.json()["relayed_to_candidate_at"] == "2026-03-04T12:55:00Z"
