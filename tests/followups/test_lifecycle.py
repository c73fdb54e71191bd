"""The playbook end to end through the API, with a clock the tests move."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import update

from app.clock import FrozenClock
from app.db.engine import Database
from app.models import FollowUp
from tests.conftest import T0
from tests.factories import (
    create_candidate,
    create_client,
    create_employer_feedback,
    create_interview,
    create_staff,
    patch_current,
)
from tests.followups.helpers import all_events, follow_ups, sweep
from tests.test_conventions import assert_problem

# T0 is Wednesday 4 March 2026, 10:00 in London (GMT). This interview ends before opening time.
STARTS = T0 - timedelta(hours=3)  # 07:00
ENDS = "2026-03-04T08:00:00Z"


async def test_an_ended_interview_gets_its_follow_ups_at_once_with_their_deadlines(
    admin: httpx.AsyncClient,
) -> None:
    interview = await create_interview(admin, starts_at=STARTS)
    assert interview["ends_at"] == ENDS
    found = await follow_ups(admin, interview_id=interview["id"])
    assert {k: s["due_at"] for k, s in found.items()} == {
        "debrief_call": "2026-03-04T17:00:00Z",  # 8 working hours from 09:00
        "thank_you_note": "2026-03-05T08:00:00Z",  # 24 hours
        "employer_follow_up": "2026-03-11T09:00:00Z",  # a week on, moved to opening time
    }
    assert all(
        s["status"] == "pending" and s["candidate_id"] == interview["candidate_id"]
        for s in found.values()
    )
    assert (await admin.get(f"/v1/interviews/{interview['id']}")).json()["status"] == "completed"
    types = [e["type"] for e in await all_events(admin)]
    assert types.count("follow_up.opened") == 3
    assert types.count("interview.completed") == 1


async def test_the_sweep_opens_follow_ups_when_the_interview_ends(
    admin: httpx.AsyncClient, clock: FrozenClock
) -> None:
    interview = await create_interview(admin, starts_at=T0 + timedelta(hours=2))
    assert await follow_ups(admin, interview_id=interview["id"]) == {}
    assert (await sweep(admin))["opened"] == 0
    clock.set(T0 + timedelta(hours=3, minutes=1))
    assert (await sweep(admin))["opened"] == 1
    assert set(await follow_ups(admin, interview_id=interview["id"])) == {
        "debrief_call",
        "thank_you_note",
        "employer_follow_up",
    }
    assert (await sweep(admin))["opened"] == 0


async def test_overdue_is_flagged_once_with_one_event(
    admin: httpx.AsyncClient, clock: FrozenClock
) -> None:
    interview = await create_interview(admin, starts_at=STARTS)
    clock.set(datetime(2026, 3, 4, 17, 0, 1, tzinfo=UTC))
    first = await sweep(admin)
    assert first["overdue"] == 1
    call = (await follow_ups(admin, interview_id=interview["id"]))["debrief_call"]
    assert call["status"] == "overdue"
    assert call["overdue_at"] == "2026-03-04T17:00:01Z"
    events_before = await all_events(admin)
    again = await sweep(admin)
    assert (again["opened"], again["overdue"], again["reminders"], again["escalated"]) == (
        0,
        0,
        0,
        0,
    )
    assert await all_events(admin) == events_before
    overdue_events = await all_events(admin, "follow_up.overdue")
    assert [e["data"]["follow_up"]["id"] for e in overdue_events] == [call["id"]]


async def test_overdue_queue_lists_who_has_not_called_most_overdue_first(
    admin: httpx.AsyncClient, clock: FrozenClock
) -> None:
    rosa = await create_staff(admin)
    acme = await create_client(admin, name="Acme Ltd")
    early = await create_candidate(
        admin, full_name="Early Bird", phone="+447911123456", owner_id=rosa["id"]
    )
    late = await create_candidate(admin, full_name="Late Comer")
    first = await create_interview(
        admin,
        starts_at=STARTS - timedelta(days=1),
        candidate_id=early["id"],
        client_id=acme["id"],
        job_title="Controller",
    )
    await create_interview(admin, starts_at=STARTS, candidate_id=late["id"])
    clock.set(datetime(2026, 3, 5, 9, 0, tzinfo=UTC))
    await sweep(admin)
    queue = (await admin.get("/v1/debriefs/overdue")).json()["items"]
    assert [row["candidate"]["full_name"] for row in queue] == ["Early Bird", "Late Comer"]
    top = queue[0]
    assert top["candidate"] == {
        "id": early["id"],
        "full_name": "Early Bird",
        "phone": "+447911123456",
    }
    assert top["client"] == {"id": acme["id"], "name": "Acme Ltd"}
    assert top["interview_id"] == first["id"]
    assert top["job_title"] == "Controller"
    assert top["ends_at"] == "2026-03-03T08:00:00Z"
    assert top["due_at"] == "2026-03-03T17:00:00Z"
    assert top["overdue_seconds"] == 40 * 3600  # Tuesday 17:00 to Thursday 09:00
    assert top["reminders_sent"] == 0
    mine = (await admin.get("/v1/debriefs/overdue", params={"owner_id": rosa["id"]})).json()[
        "items"
    ]
    assert [row["candidate"]["id"] for row in mine] == [early["id"]]
    by_client = (await admin.get("/v1/debriefs/overdue", params={"client_id": acme["id"]})).json()[
        "items"
    ]
    assert [row["interview_id"] for row in by_client] == [first["id"]]
    page = (await admin.get("/v1/debriefs/overdue", params={"limit": 1})).json()
    rest = (
        await admin.get("/v1/debriefs/overdue", params={"limit": 1, "cursor": page["next_cursor"]})
    ).json()
    assert [r["candidate"]["full_name"] for r in page["items"] + rest["items"]] == [
        "Early Bird",
        "Late Comer",
    ]
    assert rest["next_cursor"] is None


async def test_candidate_flags_show_what_is_overdue(
    admin: httpx.AsyncClient, clock: FrozenClock
) -> None:
    interview = await create_interview(admin, starts_at=STARTS)
    url = f"/v1/candidates/{interview['candidate_id']}"
    assert (await admin.get(url)).json()["flags"] == []
    clock.set(datetime(2026, 3, 5, 9, 0, tzinfo=UTC))
    await sweep(admin)
    assert (await admin.get(url)).json()["flags"] == [
        "debrief_call_overdue",
        "thank_you_note_overdue",
    ]
    listed = (await admin.get("/v1/candidates")).json()["items"]
    assert listed[0]["flags"] == ["debrief_call_overdue", "thank_you_note_overdue"]


async def test_a_late_debrief_completes_the_call_and_stays_on_record_as_late(
    admin: httpx.AsyncClient, clock: FrozenClock
) -> None:
    interview = await create_interview(admin, starts_at=STARTS)
    clock.set(datetime(2026, 3, 5, 9, 0, tzinfo=UTC))
    await sweep(admin)
    clock.set(datetime(2026, 3, 5, 9, 30, tzinfo=UTC))
    response = await admin.post(
        f"/v1/interviews/{interview['id']}/debrief",
        json={"channel": "phone", "overall_rating": 3, "thank_you_sent_at": "2026-03-04T12:00:00Z"},
    )
    assert response.status_code == 201
    found = await follow_ups(admin, interview_id=interview["id"])
    call, note = found["debrief_call"], found["thank_you_note"]
    assert (call["status"], call["late"], call["completed_at"]) == (
        "done",
        True,
        "2026-03-05T09:30:00Z",
    )
    assert call["completed_by"].startswith("key:")
    assert (note["status"], note["late"], note["completed_at"]) == (
        "done",
        False,
        "2026-03-04T12:00:00Z",
    )
    # A week after the note, not after the interview.
    assert found["employer_follow_up"]["due_at"] == "2026-03-11T12:00:00Z"
    assert (await admin.get("/v1/debriefs/overdue")).json()["items"] == []
    assert (await admin.get(f"/v1/candidates/{interview['candidate_id']}")).json()["flags"] == []
    completed = await all_events(admin, "follow_up.completed")
    assert sorted(e["data"]["follow_up"]["kind"] for e in completed) == [
        "debrief_call",
        "thank_you_note",
    ]
    assert len(await all_events(admin, "debrief.received")) == 1


async def test_an_early_debrief_is_on_time(admin: httpx.AsyncClient, clock: FrozenClock) -> None:
    interview = await create_interview(admin, starts_at=STARTS)
    await admin.post(f"/v1/interviews/{interview['id']}/debrief", json={"channel": "sms"})
    call = (await follow_ups(admin, interview_id=interview["id"]))["debrief_call"]
    assert (call["status"], call["late"]) == ("done", False)


async def test_a_debrief_before_the_end_completes_the_call_when_it_opens(
    admin: httpx.AsyncClient, clock: FrozenClock
) -> None:
    interview = await create_interview(
        admin, starts_at=T0 - timedelta(minutes=30), duration_minutes=90
    )
    await admin.post(f"/v1/interviews/{interview['id']}/debrief", json={"channel": "in_person"})
    clock.set(T0 + timedelta(hours=2))
    await sweep(admin)
    call = (await follow_ups(admin, interview_id=interview["id"]))["debrief_call"]
    assert (call["status"], call["late"], call["completed_by"]) == ("done", False, "system")


async def test_a_call_reopened_after_the_debrief_is_done_at_once_and_amendments_leave_it(
    admin: httpx.AsyncClient, clock: FrozenClock
) -> None:
    """No debrief call is open while its interview has a debrief: one waived before the
    debrief and opened again after it is done at once, at the call's time; an amendment then
    finds nothing to complete and changes nothing."""
    candidate = await create_candidate(admin)
    interview = await create_interview(admin, starts_at=STARTS, candidate_id=candidate["id"])
    await patch_current(admin, f"/v1/candidates/{candidate['id']}", {"status": "withdrawn"})
    call = (await follow_ups(admin, interview_id=interview["id"]))["debrief_call"]
    assert (call["status"], call["waived_reason"]) == ("waived", "candidate_withdrawn")
    debrief = f"/v1/interviews/{interview['id']}/debrief"
    called = {"channel": "phone", "called_at": "2026-03-04T09:30:00Z"}
    assert (await admin.post(debrief, json=called)).status_code == 201
    clock.set(T0 + timedelta(hours=1))
    await patch_current(admin, f"/v1/candidates/{candidate['id']}", {"status": "active"})
    done = (await follow_ups(admin, interview_id=interview["id"]))["debrief_call"]
    assert (done["status"], done["completed_at"], done["completed_by"]) == (
        "done",
        "2026-03-04T09:30:00Z",
        "system",
    )
    amended = await admin.post(debrief, json={"notes": "Keen on the role."})
    assert amended.status_code == 200
    assert (await follow_ups(admin, interview_id=interview["id"]))["debrief_call"] == done


async def test_a_call_cancelled_by_an_older_release_comes_back_done_after_a_debrief(
    admin: httpx.AsyncClient, db: Database
) -> None:
    """Follow-ups an older release cancelled (status `cancelled`, before waivers had reasons)
    come back when the interview is put back; a call the debrief did meanwhile comes back
    done at the call's time, not open (it would be chased)."""
    interview = await create_interview(admin, starts_at=STARTS)
    path = f"/v1/interviews/{interview['id']}"
    await patch_current(admin, path, {"status": "no_show"})
    async with db.engine.begin() as conn:  # as the older release left it
        await conn.execute(
            update(FollowUp)
            .where(
                FollowUp.interview_id == uuid.UUID(interview["id"]),
                FollowUp.kind == "debrief_call",
            )
            .values(status="cancelled", waived_reason=None)
        )
    called = {"channel": "phone", "called_at": "2026-03-04T09:30:00Z"}
    assert (await admin.post(f"{path}/debrief", json=called)).status_code == 201
    await patch_current(admin, path, {"status": "completed"})
    call = (await follow_ups(admin, interview_id=interview["id"]))["debrief_call"]
    assert (call["status"], call["completed_at"], call["completed_by"]) == (
        "done",
        "2026-03-04T09:30:00Z",
        "system",
    )


async def test_rescheduling_re_dates_open_follow_ups(
    admin: httpx.AsyncClient, clock: FrozenClock
) -> None:
    interview = await create_interview(admin, starts_at=STARTS)
    clock.set(datetime(2026, 3, 5, 9, 0, tzinfo=UTC))
    await sweep(admin)
    assert (await follow_ups(admin, interview_id=interview["id"]))["debrief_call"][
        "status"
    ] == "overdue"
    # It actually took place on Thursday afternoon: the call is due Friday, no longer overdue.
    moved = await patch_current(
        admin, f"/v1/interviews/{interview['id']}", {"starts_at": "2026-03-05T07:30:00Z"}
    )
    assert moved.status_code == 200
    found = await follow_ups(admin, interview_id=interview["id"])
    assert found["debrief_call"]["due_at"] == "2026-03-05T17:00:00Z"
    assert found["debrief_call"]["status"] == "pending"
    assert found["debrief_call"]["overdue_at"] is None
    assert found["thank_you_note"]["due_at"] == "2026-03-06T08:30:00Z"


async def test_cancelling_waives_open_follow_ups_and_undoing_it_opens_them_again(
    admin: httpx.AsyncClient, clock: FrozenClock
) -> None:
    interview = await create_interview(admin, starts_at=STARTS)
    clock.set(datetime(2026, 3, 4, 12, 0, tzinfo=UTC))
    await patch_current(admin, f"/v1/interviews/{interview['id']}", {"status": "cancelled"})
    found = await follow_ups(admin, interview_id=interview["id"])
    assert {(s["status"], s["waived_reason"], s["completed_by"]) for s in found.values()} == {
        ("waived", "interview_cancelled", "system")
    }
    assert {s["completed_at"] for s in found.values()} == {"2026-03-04T12:00:00Z"}
    assert len(await all_events(admin, "interview.cancelled")) == 1
    waived = await all_events(admin, "follow_up.waived")
    assert sorted(e["data"]["follow_up"]["kind"] for e in waived) == sorted(found)
    assert {e["data"]["follow_up"]["waived_reason"] for e in waived} == {"interview_cancelled"}
    # Cancelled by mistake: put back, the follow-ups are open again with their deadlines.
    await patch_current(admin, f"/v1/interviews/{interview['id']}", {"status": "completed"})
    again = await follow_ups(admin, interview_id=interview["id"])
    assert {k: (s["status"], s["due_at"], s["waived_reason"]) for k, s in again.items()} == {
        "debrief_call": ("pending", "2026-03-04T17:00:00Z", None),
        "thank_you_note": ("pending", "2026-03-05T08:00:00Z", None),
        "employer_follow_up": ("pending", "2026-03-11T09:00:00Z", None),
    }
    assert len(await all_events(admin, "follow_up.opened")) == 6


async def test_a_cancelled_future_interview_never_opens_follow_ups(
    admin: httpx.AsyncClient, clock: FrozenClock
) -> None:
    interview = await create_interview(admin, starts_at=T0 + timedelta(hours=1))
    await admin.patch(
        f"/v1/interviews/{interview['id']}",
        json={"status": "cancelled"},
        headers={"If-Match": '"1"'},
    )
    clock.advance(timedelta(days=3))
    assert (await sweep(admin))["opened"] == 0
    assert await follow_ups(admin, interview_id=interview["id"]) == {}


async def test_a_rejection_opens_employer_feedback_and_relaying_it_completes_it(
    admin: httpx.AsyncClient, clock: FrozenClock
) -> None:
    interview = await create_interview(admin, starts_at=STARTS)
    feedback = await create_employer_feedback(
        admin, interview["id"], outcome="rejected", improvements="Needs deeper IFRS 16 knowledge"
    )
    found = await follow_ups(admin, interview_id=interview["id"])
    assert found["employer_feedback"]["due_at"] == "2026-03-11T10:00:00Z"  # 5 working days
    assert found["employer_follow_up"]["status"] == "done"  # the employer has decided
    clock.advance(timedelta(hours=2))
    await admin.patch(
        f"/v1/interviews/{interview['id']}/employer-feedback/{feedback['id']}",
        json={"relayed_to_candidate_at": "2026-03-04T11:45:00Z"},
        headers={"If-Match": '"1"'},
    )
    follow_up = (await follow_ups(admin, interview_id=interview["id"]))["employer_feedback"]
    assert (follow_up["status"], follow_up["completed_at"], follow_up["late"]) == (
        "done",
        "2026-03-04T11:45:00Z",
        False,
    )
    assert len(await all_events(admin, "interview.outcome_recorded")) == 1


async def test_final_round_prep_is_dated_before_the_final_once_it_is_scheduled(
    admin: httpx.AsyncClient,
) -> None:
    candidate = await create_candidate(admin)
    client = await create_client(admin)
    second = await create_interview(
        admin,
        starts_at=STARTS,
        candidate_id=candidate["id"],
        client_id=client["id"],
        stage="second",
    )
    await patch_current(
        admin, f"/v1/interviews/{second['id']}", {"outcome": "next_round", "next_stage": "final"}
    )
    prep = (await follow_ups(admin, interview_id=second["id"]))["final_round_prep"]
    assert prep["due_at"] == "2026-03-06T10:00:00Z"  # 2 working days after the outcome
    await create_interview(
        admin,
        starts_at=datetime(2026, 3, 16, 14, 0, tzinfo=UTC),
        candidate_id=candidate["id"],
        client_id=client["id"],
        stage="final",
    )
    prep = (await follow_ups(admin, interview_id=second["id"]))["final_round_prep"]
    assert prep["due_at"] == "2026-03-12T14:00:00Z"  # 2 working days before the final


async def test_complete_and_waive_by_hand(
    admin: httpx.AsyncClient, recruiter: httpx.AsyncClient, clock: FrozenClock
) -> None:
    interview = await create_interview(admin, starts_at=STARTS)
    found = await follow_ups(admin, interview_id=interview["id"])
    done = await recruiter.post(f"/v1/follow-ups/{found['debrief_call']['id']}/complete")
    assert done.status_code == 200
    assert (done.json()["status"], done.json()["late"]) == ("done", False)
    assert_problem(
        await recruiter.post(f"/v1/follow-ups/{found['debrief_call']['id']}/complete"), 409
    )
    assert_problem(
        await recruiter.post(f"/v1/follow-ups/{found['thank_you_note']['id']}/waive", json={}), 422
    )
    waived = await recruiter.post(
        f"/v1/follow-ups/{found['thank_you_note']['id']}/waive",
        json={"reason": "Met the panel again next day"},
    )
    assert (waived.json()["status"], waived.json()["waived_reason"]) == (
        "waived",
        "Met the panel again next day",
    )
    assert len(await all_events(admin, "follow_up.waived")) == 1
    assert_problem(
        await recruiter.post("/v1/follow-ups/01890000-0000-7000-8000-000000000000/complete"), 404
    )


async def test_follow_ups_filters(admin: httpx.AsyncClient, clock: FrozenClock) -> None:
    rosa = await create_staff(admin)
    mine = await create_candidate(admin, owner_id=rosa["id"])
    a = await create_interview(admin, starts_at=STARTS, candidate_id=mine["id"])
    await create_interview(admin, starts_at=STARTS)
    by_owner = (await admin.get("/v1/follow-ups", params={"owner_id": rosa["id"]})).json()["items"]
    assert {s["interview_id"] for s in by_owner} == {a["id"]}
    calls = (await admin.get("/v1/follow-ups", params={"kind": "debrief_call"})).json()["items"]
    assert len(calls) == 2
    soon = (
        await admin.get("/v1/follow-ups", params={"due_before": "2026-03-05T00:00:00Z"})
    ).json()["items"]
    assert {s["kind"] for s in soon} == {"debrief_call"}
    ordered = (await admin.get("/v1/follow-ups")).json()["items"]
    assert [s["due_at"] for s in ordered] == sorted(s["due_at"] for s in ordered)
    assert_problem(await admin.get("/v1/follow-ups", params={"status": "late"}), 422)


async def test_the_overdue_event_shows_the_follow_up_as_the_api_does(
    admin: httpx.AsyncClient, clock: FrozenClock
) -> None:
    """Whichever way the sweep writes the event (one SQL statement on PostgreSQL), its payload
    is the API's view of the follow-up, microseconds included."""
    interview = await create_interview(admin, starts_at=STARTS)
    clock.set(datetime(2026, 3, 4, 17, 0, 1, 250000, tzinfo=UTC))
    await sweep(admin)
    call = (await follow_ups(admin, interview_id=interview["id"]))["debrief_call"]
    (event,) = await all_events(admin, "follow_up.overdue")
    assert event["data"] == {"follow_up": call}
    assert call["overdue_at"] == "2026-03-04T17:00:01.250000Z"
    assert event["occurred_at"] == "2026-03-04T17:00:01.250000Z"
