"""Don't chase daily: the overdue notice, reminders one interval apart, one escalation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from app.clock import FrozenClock
from tests.conftest import T0
from tests.factories import create_candidate, create_interview, create_staff
from tests.followups.helpers import all_events, follow_ups, sweep

STARTS = T0 - timedelta(hours=3)  # the debrief call is due Wednesday 17:00 UTC
DUE = datetime(2026, 3, 4, 17, 0, tzinfo=UTC)


async def _notices(admin: httpx.AsyncClient) -> list[tuple[str, int | None]]:
    events = await all_events(
        admin, "follow_up.overdue", "follow_up.reminder", "follow_up.escalated"
    )
    return [
        (e["type"], e["data"].get("reminder"))
        for e in events
        if e["data"]["follow_up"]["kind"] == "debrief_call"
    ]


async def test_reminders_are_spaced_capped_and_followed_by_one_escalation(
    admin: httpx.AsyncClient, clock: FrozenClock
) -> None:
    """Due Wednesday 4 March 17:00: reminders two working days apart (Friday, Tuesday,
    Thursday), the escalation two working days after the last (Monday), each at 17:00."""
    rosa = await create_staff(admin)
    candidate = await create_candidate(admin, owner_id=rosa["id"])
    await create_interview(admin, starts_at=STARTS, candidate_id=candidate["id"])
    clock.set(DUE)
    await sweep(admin)
    assert await _notices(admin) == [("follow_up.overdue", None)]

    def at(day: int) -> datetime:
        return datetime(2026, 3, day, 17, 0, tzinfo=UTC)

    minute = timedelta(minutes=1)
    timeline = [
        (at(6) - minute, []),
        (at(6), [("follow_up.reminder", 1)]),
        (at(6) + minute, []),  # never two in one interval
        (at(9), []),  # Monday: one working day on
        (at(10), [("follow_up.reminder", 2)]),
        (at(12), [("follow_up.reminder", 3)]),
        (at(16) - minute, []),
        (at(16), [("follow_up.escalated", None)]),  # one interval after the last
        (at(16) + timedelta(days=60), []),  # and then silence
    ]
    seen = await _notices(admin)
    for moment, expected in timeline:
        clock.set(moment)
        await sweep(admin)
        now_seen = await _notices(admin)
        assert now_seen[len(seen) :] == expected, moment
        seen = now_seen

    call = (await follow_ups(admin, candidate_id=candidate["id"]))["debrief_call"]
    assert call["reminders_sent"] == 3
    assert call["escalated_at"] == "2026-03-16T17:00:00Z"
    assert call["next_reminder_at"] is None
    escalation = await all_events(admin, "follow_up.escalated")
    escalated_call = [e for e in escalation if e["data"]["follow_up"]["kind"] == "debrief_call"]
    # Rosa has no manager and the policy no escalation contact: it goes to nobody above her.
    assert escalated_call[0]["data"]["escalated_to"] == {
        "staff_id": None,
        "via": None,
        "owner_id": rosa["id"],
    }
    assert escalated_call[0]["data"]["reason"] == "overdue"


async def test_a_follow_up_flagged_late_gets_no_burst(
    admin: httpx.AsyncClient, clock: FrozenClock
) -> None:
    """The scheduler was off for ten days: one overdue notice now, the first reminder two
    working days after it was flagged."""
    await create_interview(admin, starts_at=STARTS)
    clock.set(DUE + timedelta(days=10))  # Saturday 14 March 17:00: flagged now
    result = await sweep(admin)
    assert (result["reminders"], result["escalated"]) == (0, 0)
    assert await _notices(admin) == [("follow_up.overdue", None)]
    first = datetime(2026, 3, 17, 17, 30, tzinfo=UTC)  # from Monday's opening: Tuesday's close
    clock.set(first - timedelta(minutes=1))
    await sweep(admin)
    assert await _notices(admin) == [("follow_up.overdue", None)]
    clock.set(first)
    await sweep(admin)
    assert await _notices(admin) == [("follow_up.overdue", None), ("follow_up.reminder", 1)]


async def test_a_sweep_after_a_long_outage_sends_one_reminder_not_several(
    admin: httpx.AsyncClient, clock: FrozenClock
) -> None:
    interview = await create_interview(admin, starts_at=STARTS)
    clock.set(DUE)
    await sweep(admin)
    clock.set(datetime(2026, 3, 13, 9, 0, tzinfo=UTC))  # three reminder times passed
    await sweep(admin)
    assert await _notices(admin) == [("follow_up.overdue", None), ("follow_up.reminder", 1)]
    # The next notice keeps the schedule: Monday 16 March 17:00 (here the second reminder).
    call = (await follow_ups(admin, interview_id=interview["id"]))["debrief_call"]
    assert call["next_reminder_at"] == "2026-03-16T17:00:00Z"
    clock.set(datetime(2026, 3, 16, 16, 59, tzinfo=UTC))
    await sweep(admin)
    assert len(await _notices(admin)) == 2
    clock.set(datetime(2026, 3, 16, 17, 0, tzinfo=UTC))
    await sweep(admin)
    assert (await _notices(admin))[-1] == ("follow_up.reminder", 2)


async def test_completing_an_overdue_follow_up_stops_the_reminders(
    admin: httpx.AsyncClient, clock: FrozenClock
) -> None:
    interview = await create_interview(admin, starts_at=STARTS)
    clock.set(DUE)
    await sweep(admin)
    clock.advance(timedelta(hours=1))
    await admin.post(f"/v1/interviews/{interview['id']}/debrief", json={"channel": "phone"})
    clock.advance(timedelta(days=30))
    await sweep(admin)
    assert await _notices(admin) == [("follow_up.overdue", None)]


async def test_policy_change_applies_only_to_follow_ups_opened_afterwards(
    admin: httpx.AsyncClient, clock: FrozenClock
) -> None:
    before = await create_interview(admin, starts_at=STARTS)
    put = await admin.put(
        "/v1/settings/follow-up-policy",
        json={
            "debrief_call_working_hours": 2,
            "max_reminders": 0,
            "reminder_interval_working_days": 1,
        },
    )
    assert put.status_code == 200
    after = await create_interview(admin, starts_at=STARTS)
    assert (await follow_ups(admin, interview_id=before["id"]))["debrief_call"][
        "due_at"
    ] == "2026-03-04T17:00:00Z"
    assert (await follow_ups(admin, interview_id=after["id"]))["debrief_call"][
        "due_at"
    ] == "2026-03-04T11:00:00Z"
    clock.set(DUE)
    await sweep(admin)
    clock.set(DUE + timedelta(hours=24))  # the new follow-up escalates after one working day
    result = await sweep(admin)
    assert (result["reminders"], result["escalated"]) == (0, 1)
    old = (await follow_ups(admin, interview_id=before["id"]))["debrief_call"]
    assert (old["reminders_sent"], old["escalated_at"]) == (0, None)
