"""Finals from anywhere: a final to come gets its preparation follow-up (referees, salary) however
it was booked, two working days before it, and never two steps for one final."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from app.clock import FrozenClock
from tests.conftest import T0
from tests.factories import create_candidate, create_client, create_interview, patch_current
from tests.followups.helpers import all_events

FINAL = datetime(2026, 3, 16, 10, 0, tzinfo=UTC)  # Monday; T0 is Wednesday 4 March
PREP_DUE = "2026-03-12T10:00:00Z"  # the Thursday before


async def _preps(admin: httpx.AsyncClient, candidate_id: str) -> list[dict[str, Any]]:
    found = await admin.get(
        "/v1/follow-ups",
        params={"candidate_id": candidate_id, "kind": "final_round_prep", "limit": 200},
    )
    items: list[dict[str, Any]] = found.json()["items"]
    return items


async def test_a_final_booked_directly_gets_its_preparation(admin: httpx.AsyncClient) -> None:
    final = await create_interview(admin, starts_at=FINAL, stage="final")
    (prep,) = await _preps(admin, final["candidate_id"])
    assert (prep["interview_id"], prep["status"], prep["due_at"]) == (
        final["id"],
        "pending",
        PREP_DUE,
    )
    (opened,) = await all_events(admin, "follow_up.opened")
    assert opened["data"]["follow_up"]["kind"] == "final_round_prep"


async def test_a_final_after_easter_is_prepared_for_before_good_friday(
    admin: httpx.AsyncClient,
) -> None:
    # Tuesday 7 April 2026 at 10:00 BST; Good Friday and Easter Monday are holidays.
    final = await create_interview(
        admin, starts_at=datetime(2026, 4, 7, 9, 0, tzinfo=UTC), stage="final"
    )
    (prep,) = await _preps(admin, final["candidate_id"])
    assert prep["due_at"] == "2026-04-01T09:00:00Z"  # Wednesday 1 April, 10:00 BST


async def test_an_interview_moved_to_the_final_stage_gets_its_preparation(
    admin: httpx.AsyncClient,
) -> None:
    interview = await create_interview(admin, starts_at=FINAL, stage="second")
    assert await _preps(admin, interview["candidate_id"]) == []
    await patch_current(admin, f"/v1/interviews/{interview['id']}", {"stage": "final"})
    (prep,) = await _preps(admin, interview["candidate_id"])
    assert prep["due_at"] == PREP_DUE
    # Moved a week later: re-dated, not duplicated.
    await patch_current(
        admin, f"/v1/interviews/{interview['id']}", {"starts_at": "2026-03-23T10:00:00Z"}
    )
    (prep,) = await _preps(admin, interview["candidate_id"])
    assert prep["due_at"] == "2026-03-19T10:00:00Z"


async def test_a_final_synced_by_the_crm_gets_one_preparation(
    integration: httpx.AsyncClient, admin: httpx.AsyncClient
) -> None:
    candidate = await create_candidate(admin, external_id="crm-1")
    await create_client(admin, external_id="emp-1")
    item = {
        "external_id": "final-1",
        "candidate_external_id": "crm-1",
        "client_external_id": "emp-1",
        "job_title": "Controller",
        "stage": "final",
        "format": "in_person",
        "starts_at": FINAL.isoformat(),
    }
    for _ in range(2):
        synced = await integration.post("/v1/interviews/bulk", json={"items": [item]})
        assert synced.status_code == 200, synced.text
    (prep,) = await _preps(admin, candidate["id"])
    assert prep["due_at"] == PREP_DUE


async def test_no_preparation_for_a_final_past_untracked_or_of_a_withdrawn_candidate(
    admin: httpx.AsyncClient,
) -> None:
    past = await create_interview(admin, starts_at=T0 - timedelta(hours=3), stage="final")
    assert await _preps(admin, past["candidate_id"]) == []
    untracked = await create_interview(
        admin, starts_at=FINAL, stage="final", track_follow_ups=False
    )
    assert await _preps(admin, untracked["candidate_id"]) == []
    candidate = await create_candidate(admin)
    await patch_current(admin, f"/v1/candidates/{candidate['id']}", {"status": "withdrawn"})
    await create_interview(admin, starts_at=FINAL, stage="final", candidate_id=candidate["id"])
    assert await _preps(admin, candidate["id"]) == []


async def test_an_outcome_leading_to_a_final_already_booked_adds_no_second_follow_up(
    admin: httpx.AsyncClient,
) -> None:
    candidate = await create_candidate(admin)
    employer = await create_client(admin)
    pair = {"candidate_id": candidate["id"], "client_id": employer["id"]}
    second = await create_interview(
        admin, starts_at=T0 - timedelta(hours=3), stage="second", **pair
    )
    final = await create_interview(admin, starts_at=FINAL, stage="final", **pair)
    await patch_current(
        admin, f"/v1/interviews/{second['id']}", {"outcome": "next_round", "next_stage": "final"}
    )
    (prep,) = await _preps(admin, candidate["id"])
    assert (prep["interview_id"], prep["due_at"]) == (final["id"], PREP_DUE)


async def test_a_final_booked_after_the_outcome_keeps_the_one_follow_up(
    admin: httpx.AsyncClient,
) -> None:
    candidate = await create_candidate(admin)
    employer = await create_client(admin)
    pair = {"candidate_id": candidate["id"], "client_id": employer["id"]}
    second = await create_interview(
        admin, starts_at=T0 - timedelta(hours=3), stage="second", **pair
    )
    await patch_current(
        admin, f"/v1/interviews/{second['id']}", {"outcome": "next_round", "next_stage": "final"}
    )
    # Prepared already, the day after the outcome: the final booked later needs no new follow-up.
    (prep,) = await _preps(admin, candidate["id"])
    assert (await admin.post(f"/v1/follow-ups/{prep['id']}/complete")).status_code == 200
    await create_interview(admin, starts_at=FINAL, stage="final", **pair)
    (prep,) = await _preps(admin, candidate["id"])
    assert (prep["interview_id"], prep["status"]) == (second["id"], "done")


async def test_a_cancelled_final_hands_the_preparation_back_to_the_interview_before_it(
    admin: httpx.AsyncClient, clock: FrozenClock
) -> None:
    candidate = await create_candidate(admin)
    employer = await create_client(admin)
    pair = {"candidate_id": candidate["id"], "client_id": employer["id"]}
    second = await create_interview(
        admin, starts_at=T0 - timedelta(hours=3), stage="second", **pair
    )
    final = await create_interview(admin, starts_at=FINAL, stage="final", **pair)
    await patch_current(
        admin, f"/v1/interviews/{second['id']}", {"outcome": "next_round", "next_stage": "final"}
    )
    clock.set(datetime(2026, 3, 5, 12, 0, tzinfo=UTC))
    await patch_current(admin, f"/v1/interviews/{final['id']}", {"status": "cancelled"})
    preps = {p["interview_id"]: p for p in await _preps(admin, candidate["id"])}
    assert (preps[final["id"]]["status"], preps[final["id"]]["waived_reason"]) == (
        "waived",
        "interview_cancelled",
    )
    # The final is off for now: prepare within two working days of the outcome (Wednesday).
    assert (preps[second["id"]]["status"], preps[second["id"]]["due_at"]) == (
        "pending",
        "2026-03-06T10:00:00Z",
    )
    # Rebooked: the earlier interview's follow-up is dated before it, and the final opens none.
    await patch_current(admin, f"/v1/interviews/{final['id']}", {"status": "scheduled"})
    preps = {p["interview_id"]: p for p in await _preps(admin, candidate["id"])}
    assert preps[second["id"]]["due_at"] == PREP_DUE
    assert preps[final["id"]]["status"] == "waived"


async def test_concurrent_bookings_never_open_two_follow_ups_for_one_final(
    admin: httpx.AsyncClient,
) -> None:
    """The outcome that leads to a final and the final itself, sent at the same moment by
    two callers (on PostgreSQL two transactions that see neither's follow-up yet)."""
    for _ in range(4):
        candidate = await create_candidate(admin)
        employer = await create_client(admin)
        pair = {"candidate_id": candidate["id"], "client_id": employer["id"]}
        second = await create_interview(
            admin, starts_at=T0 - timedelta(hours=3), stage="second", **pair
        )
        etag = (await admin.get(f"/v1/interviews/{second['id']}")).headers["etag"]
        outcome, booked = await asyncio.gather(
            admin.patch(
                f"/v1/interviews/{second['id']}",
                json={"outcome": "next_round", "next_stage": "final"},
                headers={"If-Match": etag},
            ),
            admin.post(
                "/v1/interviews",
                json={
                    **pair,
                    "job_title": "Controller",
                    "stage": "final",
                    "format": "video",
                    "starts_at": FINAL.isoformat(),
                },
            ),
        )
        assert (outcome.status_code, booked.status_code) == (200, 201), outcome.text + booked.text
        assert len(await _preps(admin, candidate["id"])) == 1
