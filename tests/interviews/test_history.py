"""History is not overdue: an interview recorded long after it ended, or sent with
`track_follow_ups: false`, opens no follow-ups, and says so; `true` tracks it whatever its age.
One recorded with its outcome decided opens only what that outcome calls for."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from app.clock import FrozenClock
from tests.cli.test_commands import debrief
from tests.conftest import T0
from tests.factories import create_candidate, create_client, create_interview, patch_current
from tests.followups.helpers import all_events, follow_ups, sweep
from tests.test_conventions import assert_problem

SIXTY_DAYS_AGO = T0 - timedelta(days=60)


async def test_an_interview_recorded_sixty_days_after_it_ended_opens_nothing(
    admin: httpx.AsyncClient, clock: FrozenClock
) -> None:
    interview = await create_interview(admin, starts_at=SIXTY_DAYS_AGO, outcome="offer")
    assert interview["follow_ups_tracked"] is False
    assert await follow_ups(admin, interview_id=interview["id"]) == {}
    got = (await admin.get(f"/v1/interviews/{interview['id']}")).json()
    assert (got["status"], got["follow_ups_tracked"]) == ("completed", False)
    counts = await sweep(admin)
    assert (counts["overdue"], counts["reminders"]) == (0, 0)
    clock.advance(timedelta(days=30))
    assert (await sweep(admin))["overdue"] == 0
    assert await follow_ups(admin, interview_id=interview["id"]) == {}
    assert [e["type"] for e in await all_events(admin) if e["type"].startswith("follow_up.")] == []


async def test_history_begins_five_working_days_after_the_end(admin: httpx.AsyncClient) -> None:
    # T0 is Wednesday 4 March 10:00: five working days back is Wednesday 25 February 10:00.
    last_tracked = await create_interview(admin, starts_at=datetime(2026, 2, 25, 9, 0, tzinfo=UTC))
    first_untracked = await create_interview(
        admin,
        starts_at=datetime(2026, 2, 25, 9, 0, tzinfo=UTC),
        ends_at="2026-02-25T09:59:59Z",
    )
    assert last_tracked["follow_ups_tracked"] is True
    assert set(await follow_ups(admin, interview_id=last_tracked["id"])) == {
        "debrief_call",
        "thank_you_note",
        "employer_follow_up",
    }
    assert first_untracked["follow_ups_tracked"] is False
    assert await follow_ups(admin, interview_id=first_untracked["id"]) == {}


async def test_the_history_window_is_the_policys(admin: httpx.AsyncClient) -> None:
    eight_working_days_ago = datetime(2026, 2, 20, 9, 0, tzinfo=UTC)  # a Friday
    assert (await create_interview(admin, starts_at=eight_working_days_ago))[
        "follow_ups_tracked"
    ] is False
    put = await admin.put("/v1/settings/follow-up-policy", json={"history_working_days": 10})
    assert put.status_code == 200, put.text
    assert (await create_interview(admin, starts_at=eight_working_days_ago))[
        "follow_ups_tracked"
    ] is True


async def test_track_follow_ups_true_back_fills_an_old_interview(admin: httpx.AsyncClient) -> None:
    # Monday 5 January 2026, 10:00 to 11:00, recorded on purpose two months later.
    interview = await create_interview(
        admin, starts_at=datetime(2026, 1, 5, 10, 0, tzinfo=UTC), track_follow_ups=True
    )
    assert interview["follow_ups_tracked"] is True
    found = await follow_ups(admin, interview_id=interview["id"])
    assert {k: s["due_at"] for k, s in found.items()} == {
        "debrief_call": "2026-01-06T10:30:00Z",
        "thank_you_note": "2026-01-06T11:00:00Z",
        "employer_follow_up": "2026-01-12T11:00:00Z",
    }
    assert (await sweep(admin))["overdue"] == 3


async def test_track_follow_ups_false_never_opens_follow_ups(
    admin: httpx.AsyncClient, clock: FrozenClock
) -> None:
    interview = await create_interview(
        admin, starts_at=T0 + timedelta(days=1), stage="final", track_follow_ups=False
    )
    assert interview["follow_ups_tracked"] is False
    assert await follow_ups(admin, interview_id=interview["id"]) == {}  # not even the final's prep
    clock.advance(timedelta(days=2))
    await sweep(admin)
    assert await follow_ups(admin, interview_id=interview["id"]) == {}
    assert (await admin.get(f"/v1/interviews/{interview['id']}")).json()["status"] == "completed"


async def test_tracking_stopped_and_started_again(
    admin: httpx.AsyncClient, clock: FrozenClock
) -> None:
    interview = await create_interview(admin, starts_at=datetime(2026, 3, 4, 7, 0, tzinfo=UTC))
    url = f"/v1/interviews/{interview['id']}"
    stopped = await patch_current(admin, url, {"track_follow_ups": False})
    assert stopped.json()["follow_ups_tracked"] is False
    found = await follow_ups(admin, interview_id=interview["id"])
    assert {(s["status"], s["waived_reason"]) for s in found.values()} == {
        ("waived", "interview_untracked")
    }
    # null is no instruction on an existing interview: nothing changes.
    same = await patch_current(admin, url, {"track_follow_ups": None})
    assert (same.status_code, same.json()["version"]) == (200, stopped.json()["version"])
    # Asked to track again a month on: whatever its age, the follow-ups are open again.
    clock.advance(timedelta(days=30))
    started = await patch_current(admin, url, {"track_follow_ups": True})
    assert started.json()["follow_ups_tracked"] is True
    found = await follow_ups(admin, interview_id=interview["id"])
    assert {k: (s["status"], s["due_at"]) for k, s in found.items()} == {
        "debrief_call": ("pending", "2026-03-04T17:00:00Z"),
        "thank_you_note": ("pending", "2026-03-05T08:00:00Z"),
        "employer_follow_up": ("pending", "2026-03-11T09:00:00Z"),
    }
    assert_problem(await patch_current(admin, url, {"track_follow_ups": "sometimes"}), 422)


async def test_an_old_interview_tracked_later_opens_its_follow_ups(
    admin: httpx.AsyncClient,
) -> None:
    interview = await create_interview(admin, starts_at=SIXTY_DAYS_AGO)
    url = f"/v1/interviews/{interview['id']}"
    await patch_current(admin, url, {"track_follow_ups": True})
    assert set(await follow_ups(admin, interview_id=interview["id"])) == {
        "debrief_call",
        "thank_you_note",
        "employer_follow_up",
    }


async def test_an_interview_recorded_with_its_outcome_opens_what_the_outcome_calls_for(
    admin: httpx.AsyncClient,
) -> None:
    # Ended at 08:00 today (T0 is 10:00): recent, but the employer has already decided.
    starts = datetime(2026, 3, 4, 7, 0, tzinfo=UTC)

    async def due(**fields: Any) -> dict[str, str]:
        interview = await create_interview(admin, starts_at=starts, **fields)
        found = await follow_ups(admin, interview_id=interview["id"])
        return {k: s["due_at"] for k, s in found.items()}

    note = "2026-03-05T08:00:00Z"
    assert await due(outcome="offer") == {"thank_you_note": note}
    assert await due(outcome="withdrawn") == {"thank_you_note": note}
    assert await due(outcome="rejected") == {
        "thank_you_note": note,
        "employer_feedback": "2026-03-11T10:00:00Z",  # 5 working days after it was recorded
    }
    assert await due(outcome="next_round", next_stage="final") == {
        "thank_you_note": note,
        "final_round_prep": "2026-03-06T10:00:00Z",  # 2 working days after it was recorded
    }


async def test_a_crm_sync_decides_once_and_its_repeat_changes_nothing(
    integration: httpx.AsyncClient, admin: httpx.AsyncClient
) -> None:
    candidate = await create_candidate(admin, external_id="crm-1")
    employer = await create_client(admin, external_id="emp-1")
    base = {
        "candidate_external_id": "crm-1",
        "client_external_id": "emp-1",
        "job_title": "Controller",
        "stage": "first",
        "format": "video",
    }
    items = [
        {**base, "external_id": "old", "starts_at": SIXTY_DAYS_AGO.isoformat(), "outcome": "offer"},
        {**base, "external_id": "new", "starts_at": "2026-03-04T07:00:00Z"},
        {
            **base,
            "external_id": "kept",
            "starts_at": SIXTY_DAYS_AGO.isoformat(),
            "track_follow_ups": True,
        },
    ]
    first = await integration.post("/v1/interviews/bulk", json={"items": items})
    assert [r["status"] for r in first.json()["results"]] == ["created"] * 3
    listed = (await admin.get("/v1/interviews", params={"candidate_id": candidate["id"]})).json()
    tracked = {i["external_id"]: i["follow_ups_tracked"] for i in listed["items"]}
    assert tracked == {"old": False, "new": True, "kept": True}
    assert all(i["client_id"] == employer["id"] for i in listed["items"])
    ids = {r["index"]: r["id"] for r in first.json()["results"]}
    assert await follow_ups(admin, interview_id=ids[0]) == {}
    assert len(await follow_ups(admin, interview_id=ids[1])) == 3
    assert len(await follow_ups(admin, interview_id=ids[2])) == 3
    again = await integration.post("/v1/interviews/bulk", json={"items": items})
    assert [r["status"] for r in again.json()["results"]] == ["unchanged"] * 3


async def test_a_spreadsheet_of_past_interviews_opens_nothing(
    database_url: str, admin: httpx.AsyncClient, tmp_path: Path
) -> None:
    await admin.post("/v1/candidates", json={"external_id": "crm-1", "full_name": "Amira Okafor"})
    await admin.post("/v1/clients", json={"external_id": "emp-1", "name": "Acme Ltd"})
    sheet = tmp_path / "interviews.csv"
    # The command runs on the real clock: 2024 is history, 2099 is to come.
    sheet.write_text(
        "external_id,candidate_external_id,client_external_id,job_title,stage,format,starts_at,"
        "outcome,track_follow_ups\n"
        "int-1,crm-1,emp-1,Controller,first,video,2024-01-08T10:00:00+00:00,offer,\n"
        "int-2,crm-1,emp-1,Controller,second,video,2024-01-15T10:00:00+00:00,,yes\n"
        "int-3,crm-1,emp-1,Controller,final,video,2099-01-15T10:00:00+00:00,,no\n"
    )
    result = debrief("import", "interviews", str(sheet), env={"DEBRIEF_DATABASE_URL": database_url})
    assert result.returncode == 0, result.stdout + result.stderr
    listed = (await admin.get("/v1/interviews")).json()["items"]
    assert {i["external_id"]: i["follow_ups_tracked"] for i in listed} == {
        "int-1": False,
        "int-2": True,
        "int-3": False,
    }
    by_interview = {i["external_id"]: await follow_ups(admin, interview_id=i["id"]) for i in listed}
    assert {k: sorted(v) for k, v in by_interview.items()} == {
        "int-1": [],
        "int-2": ["debrief_call", "employer_follow_up", "thank_you_note"],
        "int-3": [],
    }
