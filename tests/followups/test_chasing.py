"""Chasing with judgement through the API: reminders in office hours with the next one shown,
the call to a candidate who cools, and the employer chased again after a missed date."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import httpx

from app.clock import FrozenClock
from tests.factories import create_candidate, create_interview, create_staff, patch_current
from tests.followups.helpers import all_events, sweep
from tests.test_conventions import assert_problem


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


async def kind_follow_ups(
    admin: httpx.AsyncClient, interview_id: str, kind: str
) -> list[dict[str, Any]]:
    page = await admin.get(
        "/v1/follow-ups", params={"interview_id": interview_id, "kind": kind, "limit": 200}
    )
    assert page.status_code == 200, page.text
    return sorted(page.json()["items"], key=lambda follow_up: follow_up["sequence"])


async def notices_of(admin: httpx.AsyncClient, kind: str) -> list[tuple[str, str | None]]:
    """(event type, the follow-up's next_reminder_at) for the notices about follow-ups of this
    kind."""
    events = await all_events(
        admin, "follow_up.overdue", "follow_up.reminder", "follow_up.escalated"
    )
    return [
        (e["type"], e["data"]["follow_up"]["next_reminder_at"])
        for e in events
        if e["data"]["follow_up"]["kind"] == kind
    ]


# ---------------------------------------------------------------- reminders


async def test_a_call_overdue_on_friday_is_reminded_tuesday_thursday_monday_at_1600(
    admin: httpx.AsyncClient, clock: FrozenClock
) -> None:
    """The issue's case with the default policy, shown in the follow-ups, the recruiters' queue and
    the events (the webhooks' payloads) alike."""
    clock.set(utc(2025, 11, 6, 17, 0))
    # Thursday 15:30 to 16:30: eight working hours later is Friday 16:00.
    interview = await create_interview(admin, starts_at=utc(2025, 11, 6, 15, 30))
    clock.set(utc(2025, 11, 7, 16, 0))
    await sweep(admin)
    (call,) = await kind_follow_ups(admin, interview["id"], "debrief_call")
    assert (call["status"], call["overdue_at"]) == ("overdue", "2025-11-07T16:00:00Z")
    assert call["next_reminder_at"] == "2025-11-11T16:00:00Z"
    queue = (await admin.get("/v1/debriefs/overdue")).json()["items"]
    assert [item["next_reminder_at"] for item in queue] == ["2025-11-11T16:00:00Z"]
    single = (await admin.get(f"/v1/follow-ups/{call['id']}")).json()
    assert single["next_reminder_at"] == "2025-11-11T16:00:00Z"

    for moment in (
        utc(2025, 11, 10, 16, 0),  # Monday: one working day only
        utc(2025, 11, 11, 15, 59),
        utc(2025, 11, 11, 16, 0),
        utc(2025, 11, 11, 23, 0),  # at night: nothing
        utc(2025, 11, 13, 16, 0),
        utc(2025, 11, 15, 16, 0),  # Saturday: nothing
        utc(2025, 11, 17, 16, 0),
        utc(2025, 11, 19, 16, 0),
        utc(2025, 11, 21, 16, 0),
    ):
        clock.set(moment)
        await sweep(admin)
    assert await notices_of(admin, "debrief_call") == [
        ("follow_up.overdue", "2025-11-11T16:00:00Z"),
        ("follow_up.reminder", "2025-11-13T16:00:00Z"),
        ("follow_up.reminder", "2025-11-17T16:00:00Z"),
        ("follow_up.reminder", None),  # the third and last: the escalation comes next
        ("follow_up.escalated", None),
    ]
    reminders = [
        e["occurred_at"]
        for e in await all_events(admin, "follow_up.reminder", "follow_up.escalated")
        if e["data"]["follow_up"]["kind"] == "debrief_call"
    ]
    assert reminders == [
        "2025-11-11T16:00:00Z",
        "2025-11-13T16:00:00Z",
        "2025-11-17T16:00:00Z",
        "2025-11-19T16:00:00Z",
    ]
    (call,) = await kind_follow_ups(admin, interview["id"], "debrief_call")
    assert (call["reminders_sent"], call["escalated_at"]) == (3, "2025-11-19T16:00:00Z")
    assert call["next_reminder_at"] is None
    queue = (await admin.get("/v1/debriefs/overdue")).json()["items"]
    assert [item["next_reminder_at"] for item in queue] == [None]


async def test_a_late_sweep_does_not_move_the_later_reminders(
    admin: httpx.AsyncClient, clock: FrozenClock
) -> None:
    clock.set(utc(2025, 11, 6, 17, 0))
    interview = await create_interview(admin, starts_at=utc(2025, 11, 6, 15, 30))
    clock.set(utc(2025, 11, 7, 16, 0))
    await sweep(admin)
    clock.set(utc(2025, 11, 12, 9, 5))  # nobody swept on Tuesday
    result = await sweep(admin)
    assert result["reminders"] >= 1
    (call,) = await kind_follow_ups(admin, interview["id"], "debrief_call")
    assert (call["reminders_sent"], call["next_reminder_at"]) == (1, "2025-11-13T16:00:00Z")


# ---------------------------------------------------------------- a candidate who cools


async def test_a_debrief_saying_not_interested_opens_a_call_for_the_owner(
    admin: httpx.AsyncClient, clock: FrozenClock
) -> None:
    rosa = await create_staff(admin)
    candidate = await create_candidate(admin, owner_id=rosa["id"])
    clock.set(utc(2025, 11, 7, 12, 0))
    interview = await create_interview(
        admin, starts_at=utc(2025, 11, 7, 10, 0), candidate_id=candidate["id"]
    )
    clock.set(utc(2025, 11, 7, 15, 0))
    recorded = await admin.post(
        f"/v1/interviews/{interview['id']}/debrief",
        json={"channel": "phone", "still_interested": "no"},
    )
    assert recorded.status_code == 201, recorded.text
    (call,) = await kind_follow_ups(admin, interview["id"], "candidate_call")
    # Friday 15:00 + 4 working hours: Monday 10:30.
    assert (call["status"], call["due_at"]) == ("pending", "2025-11-10T10:30:00Z")
    mine = await admin.get(
        "/v1/follow-ups", params={"owner_id": rosa["id"], "kind": "candidate_call"}
    )
    assert [follow_up["id"] for follow_up in mine.json()["items"]] == [call["id"]]
    opened = await all_events(admin, "follow_up.opened")
    assert call["id"] in [e["data"]["follow_up"]["id"] for e in opened]

    # It follows the reminder rules: overdue Monday 10:30, reminded two working days on.
    clock.set(utc(2025, 11, 10, 10, 30))
    await sweep(admin)
    (call,) = await kind_follow_ups(admin, interview["id"], "candidate_call")
    assert (call["status"], call["next_reminder_at"]) == ("overdue", "2025-11-12T10:30:00Z")
    cooling = (await admin.get(f"/v1/candidates/{candidate['id']}")).json()["flags"]
    assert "candidate_call_overdue" in cooling

    # Saying it again (or `unsure`) opens no second call; the owner completes the one there is.
    again = await admin.post(
        f"/v1/interviews/{interview['id']}/debrief", json={"still_interested": "unsure"}
    )
    assert again.status_code == 200, again.text
    assert len(await kind_follow_ups(admin, interview["id"], "candidate_call")) == 1
    clock.set(utc(2025, 11, 10, 11, 30))
    done = await admin.post(f"/v1/follow-ups/{call['id']}/complete")
    assert done.status_code == 200
    assert (done.json()["status"], done.json()["late"]) == ("done", True)


async def test_an_interested_candidate_gets_no_call_until_they_cool(
    admin: httpx.AsyncClient, clock: FrozenClock
) -> None:
    clock.set(utc(2025, 11, 7, 12, 0))
    interview = await create_interview(admin, starts_at=utc(2025, 11, 7, 10, 0))
    url = f"/v1/interviews/{interview['id']}/debrief"
    await admin.post(url, json={"channel": "phone", "still_interested": "yes"})
    assert await kind_follow_ups(admin, interview["id"], "candidate_call") == []
    clock.set(utc(2025, 11, 10, 16, 0))  # Monday 16:00: 1.5 hours today, 2.5 tomorrow
    amended = await admin.post(url, json={"still_interested": "unsure"})
    assert amended.status_code == 200, amended.text
    (call,) = await kind_follow_ups(admin, interview["id"], "candidate_call")
    assert call["due_at"] == "2025-11-11T11:30:00Z"
    waived = await admin.post(
        f"/v1/follow-ups/{call['id']}/waive", json={"reason": "spoke at the office"}
    )
    assert waived.json()["status"] == "waived"


async def test_the_candidates_own_form_opens_the_call_too(
    recruiter: httpx.AsyncClient, anonymous: httpx.AsyncClient, clock: FrozenClock
) -> None:
    clock.set(utc(2025, 11, 7, 12, 0))
    interview = await create_interview(recruiter, starts_at=utc(2025, 11, 7, 10, 0))
    link = await recruiter.post(f"/v1/interviews/{interview['id']}/debrief-links")
    token = link.json()["url"].rsplit("/", 1)[1]
    page = await anonymous.get(f"/f/{token}")
    csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page.text)
    assert csrf
    done = await anonymous.post(
        f"/f/{token}", data={"csrf": csrf.group(1), "still_interested": "unsure"}
    )
    assert done.status_code == 200, done.text
    assert "your recruiter will call you" in done.text
    (call,) = await kind_follow_ups(recruiter, interview["id"], "candidate_call")
    assert (call["status"], call["due_at"]) == ("pending", "2025-11-07T16:00:00Z")


async def test_no_call_is_opened_for_a_cancelled_interview(
    admin: httpx.AsyncClient, clock: FrozenClock
) -> None:
    clock.set(utc(2025, 11, 7, 12, 0))
    interview = await create_interview(admin, starts_at=utc(2025, 11, 7, 10, 0))
    await patch_current(admin, f"/v1/interviews/{interview['id']}", {"status": "no_show"})
    await admin.post(
        f"/v1/interviews/{interview['id']}/debrief",
        json={"channel": "phone", "still_interested": "no"},
    )
    assert await kind_follow_ups(admin, interview["id"], "candidate_call") == []


# ---------------------------------------------------------------- chasing the employer again


async def promised_friday(admin: httpx.AsyncClient, clock: FrozenClock) -> dict[str, Any]:
    """An interview on Monday 3 November 2025 10:00 to 11:00; the employer promised a decision
    by Friday 14th. The first chase is due at 75% of the way: Wednesday 12th 09:00."""
    clock.set(utc(2025, 11, 3, 12, 0))
    interview = await create_interview(
        admin, starts_at=utc(2025, 11, 3, 10, 0), decision_expected_by="2025-11-14"
    )
    (first,) = await kind_follow_ups(admin, interview["id"], "employer_follow_up")
    assert (first["sequence"], first["due_at"]) == (1, "2025-11-12T09:00:00Z")
    return interview


async def test_a_missed_decision_date_brings_a_second_chase_then_an_escalation(
    admin: httpx.AsyncClient, clock: FrozenClock
) -> None:
    rosa = await create_staff(admin)
    candidate = await create_candidate(admin, owner_id=rosa["id"])
    clock.set(utc(2025, 11, 3, 12, 0))
    interview = await create_interview(
        admin,
        starts_at=utc(2025, 11, 3, 10, 0),
        decision_expected_by="2025-11-14",
        candidate_id=candidate["id"],
    )
    (first,) = await kind_follow_ups(admin, interview["id"], "employer_follow_up")
    clock.set(utc(2025, 11, 12, 11, 0))
    assert (await admin.post(f"/v1/follow-ups/{first['id']}/complete")).status_code == 200
    first_done, second = await kind_follow_ups(admin, interview["id"], "employer_follow_up")
    assert first_done["status"] == "done"
    # Three working days after Friday's close: Wednesday 19th 17:30.
    assert (second["sequence"], second["status"], second["due_at"]) == (
        2,
        "pending",
        "2025-11-19T17:30:00Z",
    )
    opened = [e["data"]["follow_up"] for e in await all_events(admin, "follow_up.opened")]
    assert [(s["id"], s["sequence"]) for s in opened if s["id"] == second["id"]] == [
        (second["id"], 2)
    ]

    clock.set(utc(2025, 11, 19, 15, 0))
    assert (await admin.post(f"/v1/follow-ups/{second['id']}/complete")).status_code == 200
    assert len(await kind_follow_ups(admin, interview["id"], "employer_follow_up")) == 2  # the cap
    clock.set(utc(2025, 11, 24, 14, 59))
    await sweep(admin)
    assert await all_events(admin, "follow_up.escalated") == []
    clock.set(utc(2025, 11, 24, 15, 0))  # three working days after the last chase
    await sweep(admin)
    (escalation,) = await all_events(admin, "follow_up.escalated")
    assert escalation["data"]["follow_up"]["id"] == second["id"]
    assert escalation["data"]["reason"] == "no_decision"
    assert escalation["data"]["escalated_to"] == {
        "staff_id": None,
        "via": None,
        "owner_id": rosa["id"],
    }  # nobody above Rosa
    _, second = await kind_follow_ups(admin, interview["id"], "employer_follow_up")
    assert (second["status"], second["escalated_at"]) == ("done", "2025-11-24T15:00:00Z")
    clock.set(utc(2025, 12, 24, 15, 0))
    await sweep(admin)
    assert len(await all_events(admin, "follow_up.escalated")) == 1


async def test_a_decision_before_the_escalation_stops_it(
    admin: httpx.AsyncClient, clock: FrozenClock
) -> None:
    interview = await promised_friday(admin, clock)
    for at in (utc(2025, 11, 12, 11, 0), utc(2025, 11, 19, 15, 0)):
        clock.set(at)
        (chase,) = [
            s
            for s in await kind_follow_ups(admin, interview["id"], "employer_follow_up")
            if s["status"] == "pending" or s["status"] == "overdue"
        ]
        await admin.post(f"/v1/follow-ups/{chase['id']}/complete")
    clock.set(utc(2025, 11, 21, 10, 0))
    decided = await patch_current(admin, f"/v1/interviews/{interview['id']}", {"outcome": "offer"})
    assert decided.status_code == 200, decided.text
    clock.set(utc(2025, 11, 25, 10, 0))
    await sweep(admin)
    assert await all_events(admin, "follow_up.escalated") == []


async def test_a_late_first_chase_pushes_the_second_to_another_day(
    admin: httpx.AsyncClient, clock: FrozenClock
) -> None:
    interview = await promised_friday(admin, clock)
    (first,) = await kind_follow_ups(admin, interview["id"], "employer_follow_up")
    clock.set(utc(2025, 11, 18, 10, 0))  # done late, after the promised Friday
    await admin.post(f"/v1/follow-ups/{first['id']}/complete")
    _, second = await kind_follow_ups(admin, interview["id"], "employer_follow_up")
    assert second["due_at"] == "2025-11-21T10:00:00Z"  # three working days after the first
    # A new promised date moves the open chase with it.
    clock.set(utc(2025, 11, 19, 10, 0))
    moved = await patch_current(
        admin, f"/v1/interviews/{interview['id']}", {"decision_expected_by": "2025-11-28"}
    )
    assert moved.status_code == 200, moved.text
    _, second = await kind_follow_ups(admin, interview["id"], "employer_follow_up")
    assert second["due_at"] == "2025-12-03T17:30:00Z"


async def test_no_second_chase_without_a_promised_date_or_after_a_waiver(
    admin: httpx.AsyncClient, clock: FrozenClock
) -> None:
    clock.set(utc(2025, 11, 3, 12, 0))
    undated = await create_interview(admin, starts_at=utc(2025, 11, 3, 10, 0))
    (chase,) = await kind_follow_ups(admin, undated["id"], "employer_follow_up")
    await admin.post(f"/v1/follow-ups/{chase['id']}/complete")
    assert len(await kind_follow_ups(admin, undated["id"], "employer_follow_up")) == 1

    dated = await promised_friday(admin, clock)
    (chase,) = await kind_follow_ups(admin, dated["id"], "employer_follow_up")
    waived = await admin.post(f"/v1/follow-ups/{chase['id']}/waive", json={"reason": "agreed"})
    assert waived.status_code == 200
    assert len(await kind_follow_ups(admin, dated["id"], "employer_follow_up")) == 1
    assert_problem(await admin.post(f"/v1/follow-ups/{chase['id']}/complete"), 409)
