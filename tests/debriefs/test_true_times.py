"""True times through the API: a debrief says when the call took place (`called_at`) and
when the note went out (`thank_you_sent_at`), and the follow-ups, events and reports go by them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from app.clock import FrozenClock
from tests.conftest import ClientMaker
from tests.factories import create_interview, patch_current
from tests.followups.helpers import all_events, follow_ups, sweep
from tests.test_conventions import assert_problem

# Tuesday 4 November 2025, London on GMT: an interview 14:00-15:00 has its debrief call due
# on Wednesday at 14:30 (2.5 working hours on Tuesday, 5.5 on Wednesday).
STARTS = datetime(2025, 11, 4, 14, 0, tzinfo=UTC)
DUE = "2025-11-05T14:30:00Z"
CALLED = "2025-11-05T14:00:00Z"
LOGGED = datetime(2025, 11, 5, 18, 0, tzinfo=UTC)


async def _interview_logged_at_six(admin: httpx.AsyncClient, clock: FrozenClock) -> dict[str, Any]:
    clock.set(STARTS - timedelta(hours=5))
    interview = await create_interview(admin, starts_at=STARTS)
    clock.set(LOGGED)
    await sweep(admin)  # the call nobody has logged yet is flagged overdue
    return interview


async def test_a_call_logged_at_1800_with_called_at_1400_on_the_day_it_was_due_is_not_late(
    admin: httpx.AsyncClient, clock: FrozenClock, client_for: ClientMaker
) -> None:
    interview = await _interview_logged_at_six(admin, clock)
    before = (await follow_ups(admin, interview_id=interview["id"]))["debrief_call"]
    assert (before["due_at"], before["status"]) == (DUE, "overdue")

    url = f"/v1/interviews/{interview['id']}/debrief"
    logged = await admin.post(url, json={"channel": "phone", "called_at": CALLED})
    assert logged.status_code == 201, logged.text
    assert (logged.json()["called_at"], logged.json()["received_at"]) == (
        CALLED,
        "2025-11-05T18:00:00Z",
    )
    call = (await follow_ups(admin, interview_id=interview["id"]))["debrief_call"]
    assert (call["status"], call["completed_at"], call["late"]) == ("done", CALLED, False)

    crm = await client_for("integration")
    (completed,) = [
        e["data"]["follow_up"]
        for e in await all_events(crm, "follow_up.completed")
        if e["data"]["follow_up"]["kind"] == "debrief_call"
    ]
    assert (completed["completed_at"], completed["late"]) == (CALLED, False)
    (received,) = await all_events(crm, "debrief.received")
    assert received["data"]["debrief"]["called_at"] == CALLED

    report = await admin.get(
        "/v1/reports/debrief-timeliness", params={"from": "2025-11-01", "to": "2025-11-30"}
    )
    overall = report.json()["overall"]
    assert (overall["debriefs_on_time"], overall["debriefs_late"]) == (1, 0)
    assert overall["median_seconds_to_debrief"] == 23 * 3600.0  # 15:00 to 14:00 next day


async def test_without_called_at_the_call_is_taken_as_now(
    admin: httpx.AsyncClient, clock: FrozenClock
) -> None:
    interview = await _interview_logged_at_six(admin, clock)
    url = f"/v1/interviews/{interview['id']}/debrief"
    logged = (await admin.post(url, json={"channel": "phone", "called_at": None})).json()
    assert logged["called_at"] == "2025-11-05T18:00:00Z"
    call = (await follow_ups(admin, interview_id=interview["id"]))["debrief_call"]
    assert (call["completed_at"], call["late"]) == ("2025-11-05T18:00:00Z", True)


async def test_correcting_called_at_re_times_the_call(
    admin: httpx.AsyncClient, clock: FrozenClock, client_for: ClientMaker
) -> None:
    """Logged without the time, then corrected: the follow-up is judged again, by the same
    person, and its completion is sent again with the new time."""
    interview = await _interview_logged_at_six(admin, clock)
    url = f"/v1/interviews/{interview['id']}/debrief"
    assert (await admin.post(url, json={"channel": "phone"})).status_code == 201
    first = (await follow_ups(admin, interview_id=interview["id"]))["debrief_call"]
    assert first["late"] is True
    clock.advance(timedelta(minutes=5))
    amended = await admin.post(url, json={"called_at": CALLED})
    assert amended.status_code == 200, amended.text
    call = (await follow_ups(admin, interview_id=interview["id"]))["debrief_call"]
    assert (call["completed_at"], call["late"], call["completed_by"]) == (
        CALLED,
        False,
        first["completed_by"],
    )
    crm = await client_for("integration")
    sent = [
        (e["data"]["follow_up"]["completed_at"], e["data"]["follow_up"]["late"])
        for e in await all_events(crm, "follow_up.completed")
        if e["data"]["follow_up"]["kind"] == "debrief_call"
    ]
    assert sent == [("2025-11-05T18:00:00Z", True), (CALLED, False)]


async def test_a_follow_up_done_by_hand_is_not_moved_by_a_correction(
    admin: httpx.AsyncClient, clock: FrozenClock
) -> None:
    interview = await _interview_logged_at_six(admin, clock)
    call = (await follow_ups(admin, interview_id=interview["id"]))["debrief_call"]
    assert (await admin.post(f"/v1/follow-ups/{call['id']}/complete")).status_code == 200
    clock.advance(timedelta(minutes=5))
    url = f"/v1/interviews/{interview['id']}/debrief"
    assert (await admin.post(url, json={"channel": "phone"})).status_code == 201
    assert (await admin.post(url, json={"called_at": CALLED})).status_code == 200
    after = (await follow_ups(admin, interview_id=interview["id"]))["debrief_call"]
    assert (after["completed_at"], after["late"]) == ("2025-11-05T18:00:00Z", True)


async def test_reported_times_must_lie_between_the_start_and_now(
    admin: httpx.AsyncClient, clock: FrozenClock
) -> None:
    interview = await _interview_logged_at_six(admin, clock)
    url = f"/v1/interviews/{interview['id']}/debrief"
    for field, value, message in [
        ("called_at", "2025-11-05T18:00:01Z", "cannot be in the future"),
        ("called_at", "2025-11-04T13:59:59Z", "cannot be before the interview started"),
        ("thank_you_sent_at", "2025-11-05T19:00:01+01:00", "cannot be in the future"),
        ("thank_you_sent_at", "2025-11-04T09:00:00Z", "cannot be before the interview started"),
    ]:
        answer = await admin.post(url, json={"channel": "phone", field: value})
        problem = assert_problem(answer, 422)
        assert problem["errors"] == [
            {"field": field, "location": "body", "message": message, "type": "value_error"}
        ], problem
    naive = assert_problem(
        await admin.post(url, json={"channel": "phone", "called_at": "2025-11-05T14:00:00"}), 422
    )
    assert naive["errors"][0]["field"] == "called_at"
    assert_problem(await admin.get(url), 404)  # nothing was stored
    assert (await follow_ups(admin, interview_id=interview["id"]))["debrief_call"]["status"] == (
        "overdue"
    )


# ---------------------------------------------------------------- the thank-you note


async def test_the_note_follow_up_carries_its_ideal_and_its_deadline(
    admin: httpx.AsyncClient, clock: FrozenClock
) -> None:
    """10:00-11:00 on Wednesday 4 March 2026: ideally thanked by 14:00, at the latest by
    11:00 the next day. A policy change applies to follow-ups opened afterwards; a reschedule
    moves both."""
    interview = await create_interview(admin, starts_at=datetime(2026, 3, 4, 10, tzinfo=UTC))
    clock.set(datetime(2026, 3, 4, 11, 0, tzinfo=UTC))
    await sweep(admin)
    found = await follow_ups(admin, interview_id=interview["id"])
    note = found["thank_you_note"]
    assert (note["ideal_by"], note["due_at"]) == ("2026-03-04T14:00:00Z", "2026-03-05T11:00:00Z")
    assert {
        kind: follow_up["ideal_by"] for kind, follow_up in found.items() if kind != "thank_you_note"
    } == {
        "debrief_call": None,
        "employer_follow_up": None,
    }

    policy = {"thank_you_note_ideal_hours": 2}
    assert (await admin.put("/v1/settings/follow-up-policy", json=policy)).status_code == 200
    assert (await follow_ups(admin, interview_id=interview["id"]))["thank_you_note"][
        "ideal_by"
    ] == ("2026-03-04T14:00:00Z")
    later = await create_interview(admin, starts_at=datetime(2026, 3, 4, 9, tzinfo=UTC))
    await sweep(admin)
    assert (await follow_ups(admin, interview_id=later["id"]))["thank_you_note"]["ideal_by"] == (
        "2026-03-04T12:00:00Z"
    )

    moved = await patch_current(
        admin,
        f"/v1/interviews/{later['id']}",
        {"starts_at": "2026-03-04T10:30:00Z", "ends_at": "2026-03-04T11:00:00Z"},
    )
    assert moved.status_code == 200, moved.text
    note = (await follow_ups(admin, interview_id=later["id"]))["thank_you_note"]
    assert (note["ideal_by"], note["due_at"]) == ("2026-03-04T13:00:00Z", "2026-03-05T11:00:00Z")


async def test_a_note_sent_two_hours_after_and_reported_the_next_day_is_on_time(
    admin: httpx.AsyncClient, clock: FrozenClock
) -> None:
    interview = await create_interview(admin, starts_at=datetime(2026, 3, 4, 10, tzinfo=UTC))
    clock.set(datetime(2026, 3, 5, 16, 0, tzinfo=UTC))  # past the note's deadline
    await sweep(admin)
    url = f"/v1/interviews/{interview['id']}/debrief"
    body = {"channel": "phone", "thank_you_sent_at": "2026-03-04T13:00:00Z"}
    assert (await admin.post(url, json=body)).status_code == 201
    found = await follow_ups(admin, interview_id=interview["id"])
    note = found["thank_you_note"]
    assert (note["status"], note["completed_at"], note["late"]) == (
        "done",
        "2026-03-04T13:00:00Z",
        False,
    )
    assert note["completed_at"] <= note["ideal_by"]
    # No decision date: the employer is chased a week after the note, not after the report.
    assert found["employer_follow_up"]["due_at"] == "2026-03-11T13:00:00Z"
    pipeline = await admin.get(
        "/v1/reports/pipeline", params={"from": "2026-03-01", "to": "2026-03-31"}
    )
    thanks = pipeline.json()["thank_you"]
    assert (thanks["sent_within_ideal_share"], thanks["sent_within_deadline_share"]) == (1.0, 1.0)


async def test_correcting_the_note_time_re_times_the_note_and_the_chase(
    admin: httpx.AsyncClient, clock: FrozenClock
) -> None:
    interview = await create_interview(admin, starts_at=datetime(2026, 3, 4, 10, tzinfo=UTC))
    clock.set(datetime(2026, 3, 5, 16, 0, tzinfo=UTC))
    await sweep(admin)
    url = f"/v1/interviews/{interview['id']}/debrief"
    late = {"channel": "phone", "thank_you_sent_at": "2026-03-05T15:00:00Z"}
    assert (await admin.post(url, json=late)).status_code == 201
    assert (await follow_ups(admin, interview_id=interview["id"]))["thank_you_note"]["late"] is True
    fixed = await admin.post(url, json={"thank_you_sent_at": "2026-03-04T13:00:00Z"})
    assert fixed.status_code == 200
    found = await follow_ups(admin, interview_id=interview["id"])
    assert (found["thank_you_note"]["completed_at"], found["thank_you_note"]["late"]) == (
        "2026-03-04T13:00:00Z",
        False,
    )
    assert found["employer_follow_up"]["due_at"] == "2026-03-11T13:00:00Z"
