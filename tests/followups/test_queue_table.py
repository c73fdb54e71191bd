"""The queue page reads `debrief_queue`, whose rows the code changing what they show writes in
the same transaction (app/debrief_queue): whatever changes the follow-ups, candidates, interviews
or clients, the page shows what the tables hold, on both databases and under concurrent
changes. Each rule of docs/architecture.md ("The overdue queue") is checked here; the
suite's fixture also compares the table with the live join after every passing test."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest
from sqlalchemy import text

from app.clock import FrozenClock
from app.db.engine import Database
from app.events.service import EVENT_ORDER_LOCK
from app.followups import jobs as followup_jobs
from app.sweep import jobs
from tests.cli.test_commands import debrief
from tests.conftest import asyncpg_dsn
from tests.factories import (
    create_candidate,
    create_client,
    create_interview,
    create_staff,
    patch_current,
)
from tests.followups.helpers import follow_ups, sweep
from tests.postgres import wait_until_waiting_for_a_lock, wait_until_waiting_for_a_row
from tests.queue_check import assert_in_follow_up, queue_rows

STARTS = datetime(2026, 3, 4, 7, 0, tzinfo=UTC)  # ends 08:00, debrief call due 17:00
NEXT_MORNING = datetime(2026, 3, 5, 9, 0, tzinfo=UTC)
DEBRIEF = {"channel": "phone", "overall_rating": 4, "still_interested": "yes"}


async def page(admin: httpx.AsyncClient, **params: Any) -> list[dict[str, Any]]:
    response = await admin.get("/v1/debriefs/overdue", params=params)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def overdue_call(
    admin: httpx.AsyncClient, clock: FrozenClock, **candidate: Any
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """A candidate, an employer and an interview whose debrief call the sweep flags overdue."""
    person = await create_candidate(admin, **candidate)
    employer = await create_client(admin, name="Acme Ltd")
    interview = await create_interview(
        admin, starts_at=STARTS, candidate_id=person["id"], client_id=employer["id"]
    )
    clock.set(NEXT_MORNING)
    await sweep(admin)
    return person, employer, interview


async def test_the_queue_follows_every_change_to_what_it_shows(
    admin: httpx.AsyncClient, clock: FrozenClock, db: Database
) -> None:
    rosa, tom = await create_staff(admin), await create_staff(admin)
    person, employer, interview = await overdue_call(
        admin, clock, full_name="Early Bird", phone="+447911123456", owner_id=rosa["id"]
    )
    other, _, other_interview = await overdue_call(admin, clock, full_name="Second Person")
    assert [row["candidate"]["full_name"] for row in await page(admin)] == [
        "Early Bird",
        "Second Person",
    ]
    await assert_in_follow_up(db)

    changed = await patch_current(
        admin,
        f"/v1/candidates/{person['id']}",
        {"full_name": "Early Riser", "phone": "+447911123457", "owner_id": tom["id"]},
    )
    assert changed.status_code == 200, changed.text
    top = (await page(admin))[0]
    assert top["candidate"] == {
        "id": person["id"],
        "full_name": "Early Riser",
        "phone": "+447911123457",
    }
    assert top["owner_id"] == tom["id"]
    assert await page(admin, owner_id=rosa["id"]) == []
    assert [r["candidate"]["id"] for r in await page(admin, owner_id=tom["id"])] == [person["id"]]
    await assert_in_follow_up(db)

    renamed = await patch_current(admin, f"/v1/clients/{employer['id']}", {"name": "Acme Group"})
    assert renamed.status_code == 200, renamed.text
    retitled = await patch_current(
        admin, f"/v1/interviews/{interview['id']}", {"job_title": "Group Controller"}
    )
    assert retitled.status_code == 200, retitled.text
    top = (await page(admin, client_id=employer["id"]))[0]
    assert (top["client"]["name"], top["job_title"]) == ("Acme Group", "Group Controller")
    await assert_in_follow_up(db)

    # The first reminder, two days on: the count goes up on the page.
    clock.set(NEXT_MORNING + timedelta(days=2))
    await sweep(admin)
    assert [r["reminders_sent"] for r in await page(admin)] == [1, 1]
    await assert_in_follow_up(db)

    # The candidate calls in: off the queue. The other is erased: their call is waived.
    done = await admin.post(f"/v1/interviews/{interview['id']}/debrief", json=DEBRIEF)
    assert done.status_code == 201, done.text
    erased = await admin.delete(f"/v1/candidates/{other['id']}")
    assert erased.status_code in (200, 204), erased.text
    assert await page(admin) == []
    calls = await admin.get(
        "/v1/follow-ups", params={"interview_id": other_interview["id"], "kind": "debrief_call"}
    )
    assert [(c["status"], c["waived_reason"]) for c in calls.json()["items"]] == [
        ("waived", "candidate_erased")
    ]
    await assert_in_follow_up(db)


async def test_a_crm_sync_and_a_reschedule_move_the_queue_too(
    admin: httpx.AsyncClient, clock: FrozenClock, db: Database
) -> None:
    person, _, interview = await overdue_call(admin, clock, external_id="crm-1")
    synced = await admin.post(
        "/v1/candidates/bulk",
        json={
            "items": [{"external_id": "crm-1", "full_name": "Synced Name", "email": "s@x.co.uk"}]
        },
    )
    assert synced.status_code == 200, synced.text
    assert synced.json()["results"][0]["status"] == "updated"
    assert (await page(admin))[0]["candidate"]["full_name"] == "Synced Name"
    # Moved a day earlier: ends and is due a day earlier, still overdue.
    moved = await patch_current(
        admin,
        f"/v1/interviews/{interview['id']}",
        {"starts_at": (STARTS - timedelta(days=1)).isoformat()},
    )
    assert moved.status_code == 200, moved.text
    top = (await page(admin))[0]
    assert (top["ends_at"], top["due_at"]) == ("2026-03-03T08:00:00Z", "2026-03-03T17:00:00Z")
    await assert_in_follow_up(db)
    assert person["id"] == top["candidate"]["id"]


async def test_bulk_upserts_of_clients_and_interviews_move_the_queue_too(
    admin: httpx.AsyncClient, clock: FrozenClock, db: Database
) -> None:
    person = await create_candidate(admin, full_name="Bulk Person")
    employer = await create_client(admin, name="Old Employer", external_id="crm-client")
    interview = await create_interview(
        admin,
        starts_at=STARTS,
        candidate_id=person["id"],
        client_id=employer["id"],
        external_id="crm-interview",
    )
    clock.set(NEXT_MORNING)
    await sweep(admin)
    clients = await admin.post(
        "/v1/clients/bulk", json={"items": [{"external_id": "crm-client", "name": "New Employer"}]}
    )
    assert clients.status_code == 200, clients.text
    interviews = await admin.post(
        "/v1/interviews/bulk",
        json={
            "items": [
                {
                    "external_id": "crm-interview",
                    "job_title": "Finance Manager",
                    "starts_at": (STARTS - timedelta(days=1)).isoformat(),
                }
            ]
        },
    )
    assert interviews.status_code == 200, interviews.text
    [top] = await page(admin)
    assert (top["interview_id"], top["client"]["name"], top["job_title"]) == (
        interview["id"],
        "New Employer",
        "Finance Manager",
    )
    assert top["due_at"] == "2026-03-03T17:00:00Z"
    await assert_in_follow_up(db)


async def test_a_call_leaves_the_queue_once_closed_or_no_longer_late(
    admin: httpx.AsyncClient, clock: FrozenClock, db: Database
) -> None:
    """One row per overdue debrief call, no other: not the other follow-ups that are overdue too,
    and not a call done, waived, cancelled or re-dated into the future."""
    interviews = [(await overdue_call(admin, clock))[2] for _ in range(5)]
    calls = [(await follow_ups(admin, interview_id=i["id"]))["debrief_call"] for i in interviews]
    notes = await follow_ups(admin, interview_id=interviews[0]["id"])
    assert notes["thank_you_note"]["status"] == "overdue"  # overdue, and not on the queue
    assert [r["follow_up_id"] for r in await page(admin)] == [c["id"] for c in calls]
    await assert_in_follow_up(db)

    done = await admin.post(f"/v1/follow-ups/{calls[0]['id']}/complete")
    assert done.status_code == 200, done.text
    waived = await admin.post(
        f"/v1/follow-ups/{calls[1]['id']}/waive", json={"reason": "Called from the office"}
    )
    assert waived.status_code == 200, waived.text
    cancelled = await patch_current(
        admin, f"/v1/interviews/{interviews[2]['id']}", {"status": "cancelled"}
    )
    assert cancelled.status_code == 200, cancelled.text
    # Moved to next week: its call is due after it, so pending again.
    moved = await patch_current(
        admin,
        f"/v1/interviews/{interviews[3]['id']}",
        {"starts_at": (NEXT_MORNING + timedelta(days=7)).isoformat()},
    )
    assert moved.status_code == 200, moved.text
    assert (await follow_ups(admin, interview_id=interviews[3]["id"]))["debrief_call"][
        "status"
    ] == "pending"
    assert [r["follow_up_id"] for r in await page(admin)] == [calls[4]["id"]]
    await assert_in_follow_up(db)


async def test_the_retention_sweep_takes_an_erased_persons_call_off_the_queue(
    admin: httpx.AsyncClient, clock: FrozenClock, db: Database
) -> None:
    """An erasure waives the person's open calls, so the queue shows no nameless row."""
    person, _, interview = await overdue_call(
        admin, clock, full_name="Long Gone", phone="+447911123456"
    )
    await admin.put("/v1/settings/follow-up-policy", json={"retention_days": 30})
    clock.advance(timedelta(days=40))
    assert (await sweep(admin))["erased"] == 1
    assert await page(admin) == []
    found = await admin.get(
        "/v1/follow-ups", params={"interview_id": interview["id"], "kind": "debrief_call"}
    )
    (call,) = found.json()["items"]
    assert (call["candidate_id"], call["status"], call["waived_reason"]) == (
        person["id"],
        "waived",
        "candidate_erased",
    )
    await assert_in_follow_up(db)


async def test_rebuild_queue_writes_the_rows_again_after_a_change_in_sql(
    admin: httpx.AsyncClient, clock: FrozenClock, db: Database, database_url: str
) -> None:
    """A change made outside the service (a hand-written fix) does not reach the queue;
    `debrief rebuild-queue` writes its rows again."""
    await overdue_call(admin, clock, full_name="Old Name")
    async with db.engine.begin() as conn:
        await conn.execute(text("UPDATE candidates SET full_name = 'Fixed By Hand'"))
    assert [r["candidate"]["full_name"] for r in await page(admin)] == ["Old Name"]
    done = debrief("rebuild-queue", env={"DEBRIEF_DATABASE_URL": database_url})
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "The overdue queue holds 1 debrief calls."
    assert [r["candidate"]["full_name"] for r in await page(admin)] == ["Fixed By Hand"]
    await assert_in_follow_up(db)


# ---------------------------------------------------------------------------- PostgreSQL races
#
# Each test lets one writer reach a chosen point and stay there: holding the event-order lock
# (app/events/service.py) in another session stops any writer just before it commits (its
# events go in first, under that lock), and the sweep's flagging inside its statement, after
# it has locked the follow-ups. Then the other writer runs into it.


@asynccontextmanager
async def holding(database_url: str, sql: str, *args: Any) -> AsyncIterator[asyncpg.Connection]:
    """Another session, in a transaction that has run `sql` and holds its locks until the
    block ends; then it commits."""
    conn = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        async with conn.transaction():
            await conn.execute(sql, *args)
            yield conn
    finally:
        await conn.close()


def commits_held(database_url: str) -> Any:
    """Every writer waits just before its commit until the block ends."""
    return holding(database_url, "SELECT pg_advisory_xact_lock($1)", EVENT_ORDER_LOCK)


WAITING_TO_COMMIT = "%pg_advisory_xact_lock%"
LOCKING_CALLS = "%ORDER BY follow_ups.id FOR NO KEY UPDATE%"
LOCKING_INTERVIEWS = "%ORDER BY interviews.id FOR KEY SHARE%"
WRITING_ROWS = "%DELETE FROM debrief_queue%"


def rename(admin: httpx.AsyncClient, person: dict[str, Any]) -> asyncio.Task[httpx.Response]:
    return asyncio.create_task(
        patch_current(admin, f"/v1/candidates/{person['id']}", {"full_name": "New Name"})
    )


async def answered(task: asyncio.Task[httpx.Response]) -> httpx.Response:
    response = await asyncio.wait_for(task, 30)
    assert response.status_code in (200, 201, 204), response.text
    return response


@pytest.mark.postgres
async def test_a_rename_during_the_sweeps_flagging_waits_for_it_and_is_shown(
    admin: httpx.AsyncClient, clock: FrozenClock, db: Database, database_url: str
) -> None:
    """The sweep has flagged the call (and will copy the old name); the rename waits for the
    call, then writes its row again with the new name."""
    person = await create_candidate(admin, full_name="Old Name")
    await create_interview(admin, starts_at=STARTS, candidate_id=person["id"])
    clock.set(NEXT_MORNING)
    async with commits_held(database_url):
        flagging = asyncio.create_task(jobs.sweep(db, clock.now))
        await wait_until_waiting_for_a_lock(db, "%UPDATE follow_ups%")
        renaming = rename(admin, person)
        await wait_until_waiting_for_a_row(db, LOCKING_CALLS)
    assert (await asyncio.wait_for(flagging, 30)).overdue == 2
    await answered(renaming)
    assert [r["candidate"]["full_name"] for r in await page(admin)] == ["New Name"]
    await assert_in_follow_up(db)


@pytest.mark.postgres
async def test_flagging_during_a_rename_waits_for_it_and_shows_the_new_name(
    admin: httpx.AsyncClient, clock: FrozenClock, db: Database, database_url: str
) -> None:
    person = await create_candidate(admin, full_name="Old Name")
    await create_interview(admin, starts_at=STARTS, candidate_id=person["id"])
    clock.set(NEXT_MORNING)
    async with commits_held(database_url):
        renaming = rename(admin, person)  # locks the pending call, then waits to commit
        await wait_until_waiting_for_a_lock(db, WAITING_TO_COMMIT)
        flagging = asyncio.create_task(jobs.sweep(db, clock.now))
        await wait_until_waiting_for_a_row(db, "%UPDATE follow_ups%")
    await answered(renaming)
    assert (await asyncio.wait_for(flagging, 30)).overdue == 2
    assert [r["candidate"]["full_name"] for r in await page(admin)] == ["New Name"]
    await assert_in_follow_up(db)


@pytest.mark.postgres
async def test_two_renames_of_what_one_row_shows_both_reach_it(
    admin: httpx.AsyncClient, clock: FrozenClock, db: Database, database_url: str
) -> None:
    """A candidate renamed while their employer is renamed: the second waits for the first
    and writes the row with both names."""
    person, employer, _ = await overdue_call(admin, clock, full_name="Old Name")
    async with commits_held(database_url):
        renaming = rename(admin, person)
        await wait_until_waiting_for_a_lock(db, WAITING_TO_COMMIT)
        employer_renaming = asyncio.create_task(
            patch_current(admin, f"/v1/clients/{employer['id']}", {"name": "Acme Group"})
        )
        await wait_until_waiting_for_a_row(db, LOCKING_CALLS)
    await answered(renaming)
    await answered(employer_renaming)
    top = (await page(admin))[0]
    assert (top["candidate"]["full_name"], top["client"]["name"]) == ("New Name", "Acme Group")
    await assert_in_follow_up(db)


@pytest.mark.postgres
async def test_a_reschedule_while_the_sweep_reminds_about_the_call_keeps_both(
    admin: httpx.AsyncClient, clock: FrozenClock, db: Database, database_url: str
) -> None:
    """The sweep's reminder holds the call and its row; the reschedule waits for the call
    rather than deadlocking, and the row ends with the new due time and the reminder."""
    _, _, interview = await overdue_call(admin, clock)
    clock.set(NEXT_MORNING + timedelta(days=2))
    url, earlier = f"/v1/interviews/{interview['id']}", (STARTS - timedelta(days=1)).isoformat()
    async with commits_held(database_url):
        reminding = asyncio.create_task(followup_jobs.send_notices(db, clock.now()))
        await wait_until_waiting_for_a_lock(db, WAITING_TO_COMMIT)
        moving = asyncio.create_task(patch_current(admin, url, {"starts_at": earlier}))
        await wait_until_waiting_for_a_row(db, "%UPDATE follow_ups%")
    assert await asyncio.wait_for(reminding, 30) == (2, 0)  # the call and the thank-you note
    moved = await asyncio.wait_for(moving, 30)
    if moved.status_code == 412:
        # It had read the follow-ups before the reminder changed them: refused, nothing changed;
        # sent again, as the answer says, it goes through.
        moved = await patch_current(admin, url, {"starts_at": earlier})
    assert moved.status_code == 200, moved.text
    top = (await page(admin))[0]
    assert (top["due_at"], top["reminders_sent"]) == ("2026-03-03T17:00:00Z", 1)
    await assert_in_follow_up(db)


@pytest.mark.postgres
@pytest.mark.parametrize("how", ["patch", "bulk"])
async def test_renaming_and_withdrawing_a_candidate_while_their_interview_is_rescheduled(
    admin: httpx.AsyncClient, clock: FrozenClock, db: Database, database_url: str, how: str
) -> None:
    """A status change waives follow-ups, so it holds the candidate's interviews before it changes
    the candidate's fields (which locks their calls), as an erasure does: no deadlock."""
    person, _, interview = await overdue_call(
        admin, clock, full_name="Old Name", external_id="crm-9"
    )
    url = f"/v1/candidates/{person['id']}"
    etag = (await admin.get(url)).headers["etag"]
    change = {"full_name": "New Name", "status": "withdrawn"}
    retitle = "UPDATE interviews SET job_title = 'Moved' WHERE id = $1"
    async with holding(database_url, retitle, interview["id"]) as rescheduler:
        changing = asyncio.create_task(
            admin.patch(url, json=change, headers={"If-Match": etag})
            if how == "patch"
            else admin.post(
                "/v1/candidates/bulk", json={"items": [{"external_id": "crm-9", **change}]}
            )
        )
        await wait_until_waiting_for_a_lock(db, "%FROM interviews%")
        await asyncio.wait_for(
            rescheduler.execute(
                "UPDATE follow_ups SET due_at = due_at - interval '1 day' WHERE interview_id = $1",
                interview["id"],
            ),
            10,
        )
    changed = await asyncio.wait_for(changing, 10)
    assert changed.status_code == 200, changed.text
    assert await page(admin) == []  # the call is waived
    await jobs.sweep(db, clock.now)
    await assert_in_follow_up(db)


@pytest.mark.postgres
async def test_erasing_a_candidate_while_their_interview_is_rescheduled_does_not_deadlock(
    admin: httpx.AsyncClient, clock: FrozenClock, db: Database, database_url: str
) -> None:
    """The reschedule holds the interview and the call it re-dated; the erasure locks the
    candidate, waits for the interview, and waives the call once it is its turn."""
    person, _, interview = await overdue_call(admin, clock, full_name="To Be Erased")
    async with commits_held(database_url):
        moving = asyncio.create_task(
            patch_current(
                admin,
                f"/v1/interviews/{interview['id']}",
                {"job_title": "Moved", "starts_at": (STARTS - timedelta(days=1)).isoformat()},
            )
        )
        await wait_until_waiting_for_a_lock(db, WAITING_TO_COMMIT)
        erasing = asyncio.create_task(admin.delete(f"/v1/candidates/{person['id']}"))
        await wait_until_waiting_for_a_row(db, "%UPDATE interviews%")
    await answered(moving)
    await answered(erasing)
    # The call, re-dated by the reschedule, is waived by the erasure: off the queue.
    assert await page(admin) == []
    found = await admin.get(
        "/v1/follow-ups", params={"interview_id": interview["id"], "kind": "debrief_call"}
    )
    (call,) = found.json()["items"]
    assert (call["status"], call["waived_reason"], call["due_at"]) == (
        "waived",
        "candidate_erased",
        "2026-03-03T17:00:00Z",
    )
    await jobs.sweep(db, clock.now)
    await assert_in_follow_up(db)


@pytest.mark.postgres
async def test_a_rename_while_a_reschedule_opens_a_follow_up_of_the_same_candidate(
    admin: httpx.AsyncClient, clock: FrozenClock, db: Database, database_url: str
) -> None:
    """The reschedule holds the interview and the call it re-dated, then opens a follow-up of the
    candidate (its foreign key check locks the candidate's key), while the rename holds the
    candidate and waits for that interview: the rename's lock on the candidate lets the check
    through."""
    person, _, interview = await overdue_call(admin, clock, full_name="Old Name")
    call = "SELECT id FROM follow_ups WHERE interview_id = $1 AND kind = 'debrief_call'"
    async with holding(database_url, call + " FOR NO KEY UPDATE", interview["id"]):
        moving = asyncio.create_task(
            patch_current(
                admin,
                f"/v1/interviews/{interview['id']}",
                {"starts_at": (STARTS - timedelta(days=1)).isoformat(), "outcome": "rejected"},
            )
        )
        await wait_until_waiting_for_a_row(db, "%UPDATE follow_ups%")
        renaming = rename(admin, person)
        await wait_until_waiting_for_a_row(db, LOCKING_INTERVIEWS)
    await answered(moving)
    await answered(renaming)
    assert "employer_feedback" in await follow_ups(admin, interview_id=interview["id"])
    top = (await page(admin))[0]
    assert (top["candidate"]["full_name"], top["due_at"]) == ("New Name", "2026-03-03T17:00:00Z")
    await assert_in_follow_up(db)


@pytest.mark.postgres
async def test_a_debrief_recorded_during_a_rename_takes_the_call_off_the_queue(
    admin: httpx.AsyncClient, clock: FrozenClock, db: Database, database_url: str
) -> None:
    person, _, interview = await overdue_call(admin, clock, full_name="Old Name")
    async with commits_held(database_url):
        renaming = rename(admin, person)
        await wait_until_waiting_for_a_lock(db, WAITING_TO_COMMIT)
        recording = asyncio.create_task(
            admin.post(f"/v1/interviews/{interview['id']}/debrief", json=DEBRIEF)
        )
        await wait_until_waiting_for_a_row(db, LOCKING_CALLS)
    await answered(renaming)
    await answered(recording)
    assert await page(admin) == []
    assert await queue_rows(db) == []


def holding_the_row(database_url: str, interview: dict[str, Any]) -> Any:
    """Another session holding the row of this interview's call: a writer that reaches it
    waits there, after it has taken its locks and before it commits."""
    row = "SELECT 1 FROM debrief_queue WHERE interview_id = $1 FOR UPDATE"
    return holding(database_url, row, interview["id"])


@pytest.mark.postgres
async def test_the_sweep_leaves_alone_the_interviews_of_a_candidate_being_renamed(
    admin: httpx.AsyncClient, clock: FrozenClock, db: Database, database_url: str
) -> None:
    """An interview that ended while no sweep ran has its follow-ups opened and its call flagged in
    one sweep. While its candidate is being renamed the sweep skips it (the rename holds the
    candidate's interviews), so the call is never flagged with the old name."""
    person = await create_candidate(admin, full_name="Old Name")
    first = await create_interview(admin, starts_at=STARTS, candidate_id=person["id"])
    await create_interview(admin, starts_at=STARTS + timedelta(days=1), candidate_id=person["id"])
    clock.set(STARTS + timedelta(hours=11))  # the first call is overdue, the second not yet held
    assert (await sweep(admin))["overdue"] == 1
    clock.set(NEXT_MORNING + timedelta(days=1))  # the second ended, its call past due, unopened
    async with holding_the_row(database_url, first):
        renaming = rename(admin, person)
        await wait_until_waiting_for_a_row(db, WRITING_ROWS)
        assert (await jobs.sweep(db, clock.now)).opened == 0
    await answered(renaming)
    counts = await jobs.sweep(db, clock.now)
    assert (counts.opened, counts.overdue) == (1, 2)  # the second's call and thank-you note
    assert [r["candidate"]["full_name"] for r in await page(admin)] == ["New Name"] * 2
    await assert_in_follow_up(db)


@pytest.mark.postgres
async def test_an_interview_created_while_its_employer_is_renamed_waits_for_the_rename(
    admin: httpx.AsyncClient, clock: FrozenClock, db: Database, database_url: str
) -> None:
    """An interview recorded after the fact opens its call at once; created while its
    employer is renamed, it waits for the rename, so its row is never written with the old
    name."""
    _, employer, interview = await overdue_call(admin, clock)
    other = await create_candidate(admin, full_name="Second Person")
    async with holding_the_row(database_url, interview):
        renaming = asyncio.create_task(
            patch_current(admin, f"/v1/clients/{employer['id']}", {"name": "Acme Group"})
        )
        await wait_until_waiting_for_a_row(db, WRITING_ROWS)
        creating = asyncio.create_task(
            create_interview(
                admin, starts_at=STARTS, candidate_id=other["id"], client_id=employer["id"]
            )
        )
        await wait_until_waiting_for_a_row(db, "%FROM clients%FOR SHARE%")
    await answered(renaming)
    await asyncio.wait_for(creating, 30)
    await sweep(admin)
    assert [r["client"]["name"] for r in await page(admin)] == ["Acme Group"] * 2
    await assert_in_follow_up(db)
