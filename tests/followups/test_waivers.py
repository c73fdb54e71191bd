"""Chasing stops when it no longer makes sense: a change to the candidate or the interview
waives the follow-ups it closes, with a machine-readable reason and its event; nothing is marked
done that nobody did."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from app.clock import FrozenClock
from tests.conftest import T0
from tests.factories import create_candidate, create_interview, patch_current
from tests.followups.helpers import all_events, follow_ups, sweep

STARTS = datetime(2026, 3, 4, 7, 0, tzinfo=UTC)  # Wednesday; ends 08:00
THURSDAY_0900 = datetime(2026, 3, 5, 9, 0, tzinfo=UTC)
THURSDAY_1100 = datetime(2026, 3, 5, 11, 0, tzinfo=UTC)


def state(follow_up: dict[str, Any]) -> tuple[Any, ...]:
    return (
        follow_up["status"],
        follow_up["waived_reason"],
        follow_up["completed_by"],
        follow_up["completed_at"],
    )


async def _overdue_interview(admin: httpx.AsyncClient, clock: FrozenClock) -> dict[str, Any]:
    """An interview whose debrief call and note went overdue on Thursday morning."""
    interview = await create_interview(admin, starts_at=STARTS)
    clock.set(THURSDAY_0900)
    assert (await sweep(admin))["overdue"] == 2
    return interview


async def test_a_withdrawn_candidate_is_no_longer_chased_but_still_thanks_the_interviewers(
    admin: httpx.AsyncClient, clock: FrozenClock
) -> None:
    interview = await _overdue_interview(admin, clock)
    candidate_url = f"/v1/candidates/{interview['candidate_id']}"
    assert (await admin.get("/v1/debriefs/overdue")).json()["items"] != []
    clock.set(THURSDAY_1100)
    changed = await patch_current(admin, candidate_url, {"status": "withdrawn"})
    assert changed.status_code == 200, changed.text

    found = await follow_ups(admin, interview_id=interview["id"])
    waived = ("waived", "candidate_withdrawn", "system", "2026-03-05T11:00:00Z")
    assert state(found["debrief_call"]) == waived
    assert state(found["employer_follow_up"]) == waived
    assert found["debrief_call"]["late"] is False
    assert state(found["thank_you_note"]) == ("overdue", None, None, None)
    events = await all_events(admin, "follow_up.waived", "follow_up.completed")
    assert [(e["type"], e["data"]["follow_up"]["kind"]) for e in events] == [
        ("follow_up.waived", "debrief_call"),
        ("follow_up.waived", "employer_follow_up"),
    ]
    assert {e["data"]["follow_up"]["waived_reason"] for e in events} == {"candidate_withdrawn"}
    assert (await admin.get("/v1/debriefs/overdue")).json()["items"] == []
    assert (await admin.get(candidate_url)).json()["flags"] == ["thank_you_note_overdue"]

    # A week later: the note was reminded about and escalated; the waived follow-ups never were.
    clock.set(datetime(2026, 3, 20, 12, 0, tzinfo=UTC))
    for _ in range(5):
        await sweep(admin)
    nudged = await all_events(admin, "follow_up.reminder", "follow_up.escalated")
    assert nudged
    assert {e["data"]["follow_up"]["kind"] for e in nudged} == {"thank_you_note"}


async def test_a_candidate_back_in_the_search_is_chased_again_until_it_is_history(
    admin: httpx.AsyncClient, clock: FrozenClock
) -> None:
    interview = await _overdue_interview(admin, clock)
    candidate_url = f"/v1/candidates/{interview['candidate_id']}"
    await patch_current(admin, candidate_url, {"status": "withdrawn"})
    # Set back on Monday: the interview (Wednesday) is not history until Wednesday 11 March.
    clock.set(datetime(2026, 3, 9, 10, 0, tzinfo=UTC))
    await patch_current(admin, candidate_url, {"status": "active"})
    found = await follow_ups(admin, interview_id=interview["id"])
    assert {k: (s["status"], s["due_at"], s["waived_reason"]) for k, s in found.items()} == {
        "debrief_call": ("pending", "2026-03-04T17:00:00Z", None),
        "thank_you_note": ("overdue", "2026-03-05T08:00:00Z", None),
        "employer_follow_up": ("pending", "2026-03-11T09:00:00Z", None),
    }
    reopened = (await all_events(admin, "follow_up.opened"))[3:]
    assert sorted(e["data"]["follow_up"]["kind"] for e in reopened) == [
        "debrief_call",
        "employer_follow_up",
    ]
    assert (await sweep(admin))["overdue"] == 1  # the call is late again, and chased

    # Withdrawn again, and back after the interview became history: it stays closed.
    await patch_current(admin, candidate_url, {"status": "withdrawn"})
    clock.set(datetime(2026, 3, 11, 9, 1, tzinfo=UTC))
    await patch_current(admin, candidate_url, {"status": "active"})
    found = await follow_ups(admin, interview_id=interview["id"])
    assert found["debrief_call"]["status"] == "waived"
    assert found["employer_follow_up"]["status"] == "waived"


async def test_a_crm_marking_candidates_placed_in_bulk_waives_their_follow_ups(
    integration: httpx.AsyncClient, admin: httpx.AsyncClient, clock: FrozenClock
) -> None:
    placed = await create_candidate(admin, external_id="crm-7")
    other = await create_candidate(admin, external_id="crm-8")
    mine = await create_interview(admin, starts_at=STARTS, candidate_id=placed["id"])
    theirs = await create_interview(admin, starts_at=STARTS, candidate_id=other["id"])
    clock.set(THURSDAY_1100)
    synced = await integration.post(
        "/v1/candidates/bulk",
        json={
            "items": [
                {"external_id": "crm-7", "full_name": "Amira Okafor", "status": "placed"},
                {"external_id": "crm-8", "full_name": "Ben Lowe"},
            ]
        },
    )
    assert [r["status"] for r in synced.json()["results"]] == ["updated", "updated"]
    found = await follow_ups(admin, interview_id=mine["id"])
    assert {k: state(s)[:2] for k, s in found.items()} == {
        "debrief_call": ("waived", "candidate_placed"),
        "thank_you_note": ("pending", None),
        "employer_follow_up": ("waived", "candidate_placed"),
    }
    untouched = await follow_ups(admin, interview_id=theirs["id"])
    assert {s["status"] for s in untouched.values()} == {"pending"}
    # The same payload again changes nothing and waives nothing more.
    before = len(await all_events(admin))
    again = await integration.post(
        "/v1/candidates/bulk",
        json={"items": [{"external_id": "crm-7", "full_name": "Amira Okafor", "status": "placed"}]},
    )
    assert [r["status"] for r in again.json()["results"]] == ["unchanged"]
    assert len(await all_events(admin)) == before


async def test_an_archived_candidate_has_every_follow_up_waived(
    admin: httpx.AsyncClient, clock: FrozenClock
) -> None:
    interview = await _overdue_interview(admin, clock)
    await patch_current(
        admin, f"/v1/candidates/{interview['candidate_id']}", {"status": "archived"}
    )
    found = await follow_ups(admin, interview_id=interview["id"])
    assert {state(s)[:3] for s in found.values()} == {("waived", "candidate_archived", "system")}


async def test_withdrawing_from_one_job_waives_the_employer_chase_instead_of_completing_it(
    admin: httpx.AsyncClient, recruiter: httpx.AsyncClient, clock: FrozenClock
) -> None:
    interview = await create_interview(admin, starts_at=STARTS)
    clock.set(THURSDAY_1100)
    changed = await patch_current(
        recruiter, f"/v1/interviews/{interview['id']}", {"outcome": "withdrawn"}
    )
    assert changed.status_code == 200, changed.text
    found = await follow_ups(admin, interview_id=interview["id"])
    chase = found["employer_follow_up"]
    assert state(chase) == ("waived", "interview_withdrawn", "system", "2026-03-05T11:00:00Z")
    # The debrief still matters (the seeds: feedback helps in the next interview), and the
    # interviewers are thanked all the same.
    assert found["debrief_call"]["status"] == "pending"
    assert found["thank_you_note"]["status"] == "pending"
    assert await all_events(admin, "follow_up.completed") == []
    (event,) = await all_events(admin, "follow_up.waived")
    assert event["data"]["follow_up"] == chase

    # Put back to pending (a mistake): the chase is open again.
    await patch_current(recruiter, f"/v1/interviews/{interview['id']}", {"outcome": "pending"})
    chase = (await follow_ups(admin, interview_id=interview["id"]))["employer_follow_up"]
    assert (chase["status"], chase["due_at"], chase["completed_by"]) == (
        "pending",
        "2026-03-11T09:00:00Z",
        None,
    )
    # An offer, though, is the employer's decision: the chase is done, by whoever recorded it.
    await patch_current(recruiter, f"/v1/interviews/{interview['id']}", {"outcome": "offer"})
    chase = (await follow_ups(admin, interview_id=interview["id"]))["employer_follow_up"]
    assert chase["status"] == "done"
    assert chase["completed_by"].startswith("key:")


async def test_a_no_show_waives_every_follow_up(
    admin: httpx.AsyncClient, clock: FrozenClock
) -> None:
    interview = await _overdue_interview(admin, clock)
    await patch_current(admin, f"/v1/interviews/{interview['id']}", {"status": "no_show"})
    found = await follow_ups(admin, interview_id=interview["id"])
    assert {state(s)[:3] for s in found.values()} == {("waived", "interview_no_show", "system")}
    assert (await admin.get(f"/v1/candidates/{interview['candidate_id']}")).json()["flags"] == []


async def test_a_rejected_candidate_who_withdraws_gets_no_feedback_chase(
    admin: httpx.AsyncClient, clock: FrozenClock
) -> None:
    interview = await create_interview(admin, starts_at=STARTS)
    await patch_current(admin, f"/v1/interviews/{interview['id']}", {"outcome": "rejected"})
    assert (await follow_ups(admin, interview_id=interview["id"]))["employer_feedback"][
        "status"
    ] == ("pending")
    await patch_current(
        admin, f"/v1/candidates/{interview['candidate_id']}", {"status": "withdrawn"}
    )
    feedback = (await follow_ups(admin, interview_id=interview["id"]))["employer_feedback"]
    assert state(feedback)[:2] == ("waived", "candidate_withdrawn")


async def test_an_interview_ending_after_the_candidate_withdrew_opens_only_the_note(
    admin: httpx.AsyncClient, clock: FrozenClock
) -> None:
    candidate = await create_candidate(admin)
    await patch_current(admin, f"/v1/candidates/{candidate['id']}", {"status": "withdrawn"})
    interview = await create_interview(
        admin, starts_at=T0 + timedelta(hours=3), candidate_id=candidate["id"]
    )
    clock.set(datetime(2026, 3, 4, 18, 0, tzinfo=UTC))
    assert (await sweep(admin))["opened"] == 1
    assert set(await follow_ups(admin, interview_id=interview["id"])) == {"thank_you_note"}
    assert (await admin.get(f"/v1/interviews/{interview['id']}")).json()["status"] == "completed"


async def test_erasure_waives_what_is_left_and_keeps_the_reasons_given_before(
    admin: httpx.AsyncClient, clock: FrozenClock
) -> None:
    interview = await _overdue_interview(admin, clock)
    candidate_url = f"/v1/candidates/{interview['candidate_id']}"
    await patch_current(admin, candidate_url, {"status": "withdrawn"})
    clock.set(THURSDAY_1100)
    assert (await admin.delete(candidate_url)).status_code == 204
    found = await follow_ups(admin, interview_id=interview["id"])
    assert {k: state(s)[:3] for k, s in found.items()} == {
        "debrief_call": ("waived", "candidate_withdrawn", "system"),
        "thank_you_note": ("waived", "candidate_erased", "system"),
        "employer_follow_up": ("waived", "candidate_withdrawn", "system"),
    }
    assert found["thank_you_note"]["completed_at"] == "2026-03-05T11:00:00Z"
    reasons = [
        e["data"]["follow_up"]["waived_reason"] for e in await all_events(admin, "follow_up.waived")
    ]
    assert reasons == ["candidate_withdrawn", "candidate_withdrawn", "candidate_erased"]


async def test_a_follow_up_reopened_after_its_work_was_done_meanwhile_is_done(
    admin: httpx.AsyncClient, clock: FrozenClock
) -> None:
    interview = await create_interview(admin, starts_at=STARTS)
    candidate_url = f"/v1/candidates/{interview['candidate_id']}"
    clock.set(THURSDAY_1100)
    await patch_current(admin, candidate_url, {"status": "withdrawn"})
    clock.set(datetime(2026, 3, 5, 12, 0, tzinfo=UTC))
    debriefed = await admin.post(
        f"/v1/interviews/{interview['id']}/debrief", json={"channel": "phone"}
    )
    assert debriefed.status_code == 201, debriefed.text
    clock.set(datetime(2026, 3, 6, 10, 0, tzinfo=UTC))
    await patch_current(admin, candidate_url, {"status": "active"})
    call = (await follow_ups(admin, interview_id=interview["id"]))["debrief_call"]
    assert (call["status"], call["completed_at"], call["late"], call["waived_reason"]) == (
        "done",
        "2026-03-05T12:00:00Z",
        True,
        None,
    )
