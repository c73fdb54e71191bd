"""The queue page reads `debrief_queue`, which database triggers keep in step with the steps,
candidates, interviews and clients it shows (migration 0007): whatever changes them, the
page shows what the tables hold, on both databases and under concurrent changes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest
from sqlalchemy import select, text

from app.clock import FrozenClock
from app.db.engine import Database
from app.models import Candidate, Client, DebriefQueueEntry, FollowUp, Interview
from app.sweep import jobs
from tests.conftest import asyncpg_dsn
from tests.factories import (
    create_candidate,
    create_client,
    create_interview,
    create_staff,
    patch_current,
)
from tests.followups.helpers import sweep
from tests.postgres import wait_until_waiting_for_a_lock

STARTS = datetime(2026, 3, 4, 7, 0, tzinfo=UTC)  # ends 08:00, debrief call due 17:00
NEXT_MORNING = datetime(2026, 3, 5, 9, 0, tzinfo=UTC)
DEBRIEF = {"channel": "phone", "overall_rating": 4, "still_interested": "yes"}
RENAME = "UPDATE candidates SET full_name = 'New Name' WHERE id = $1"


async def queue_rows(db: Database) -> list[tuple[Any, ...]]:
    q = DebriefQueueEntry.__table__.c
    async with db.read_engine.connect() as conn:
        rows = await conn.execute(select(DebriefQueueEntry.__table__).order_by(q.follow_up_id))
        return [tuple(r) for r in rows]


async def joined_rows(db: Database) -> list[tuple[Any, ...]]:
    """What the queue should hold: the overdue debrief calls joined with what they show."""
    stmt = (
        select(
            FollowUp.id,
            FollowUp.due_at,
            FollowUp.reminders_sent,
            Candidate.id,
            Candidate.full_name,
            Candidate.phone,
            Candidate.owner_id,
            Interview.id,
            Interview.job_title,
            Interview.ends_at,
            Client.id,
            Client.name,
        )
        .join(Interview, Interview.id == FollowUp.interview_id)
        .join(Candidate, Candidate.id == FollowUp.candidate_id)
        .join(Client, Client.id == Interview.client_id)
        .where(FollowUp.status == "overdue", FollowUp.kind == "debrief_call")
        .order_by(FollowUp.id)
    )
    async with db.read_engine.connect() as conn:
        return [tuple(r) for r in await conn.execute(stmt)]


async def assert_in_step(db: Database) -> None:
    assert await queue_rows(db) == await joined_rows(db)


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
    await assert_in_step(db)

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
    await assert_in_step(db)

    renamed = await patch_current(admin, f"/v1/clients/{employer['id']}", {"name": "Acme Group"})
    assert renamed.status_code == 200, renamed.text
    retitled = await patch_current(
        admin, f"/v1/interviews/{interview['id']}", {"job_title": "Group Controller"}
    )
    assert retitled.status_code == 200, retitled.text
    top = (await page(admin, client_id=employer["id"]))[0]
    assert (top["client"]["name"], top["job_title"]) == ("Acme Group", "Group Controller")
    await assert_in_step(db)

    # The first reminder, two days on: the count goes up on the page.
    clock.set(NEXT_MORNING + timedelta(days=2))
    await sweep(admin)
    assert [r["reminders_sent"] for r in await page(admin)] == [1, 1]
    await assert_in_step(db)

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
    await assert_in_step(db)


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
    await assert_in_step(db)
    assert person["id"] == top["candidate"]["id"]


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


async def stale_marks(db: Database) -> int:
    async with db.read_engine.connect() as conn:
        marks = (await conn.execute(text("SELECT count(*) FROM debrief_queue_stale"))).scalar()
    return int(marks or 0)


@pytest.mark.postgres
async def test_a_rename_during_the_sweeps_flagging_is_shown_once_both_have_committed(
    admin: httpx.AsyncClient, clock: FrozenClock, db: Database, database_url: str
) -> None:
    """The sweep flags a step (copying the candidate's name) while the candidate is renamed:
    the rename neither waits for the sweep nor is lost; the next sweep writes it."""
    person = await create_candidate(admin, full_name="Old Name")
    await create_interview(admin, starts_at=STARTS, candidate_id=person["id"])
    flag = (
        "UPDATE follow_ups SET status = 'overdue' WHERE kind = 'debrief_call' AND candidate_id = $1"
    )
    async with holding(database_url, flag, person["id"]):
        renamed = await asyncio.wait_for(
            patch_current(admin, f"/v1/candidates/{person['id']}", {"full_name": "New Name"}), 10
        )
        assert renamed.status_code == 200, renamed.text
    # The flagging copied the old name; the rename marked the row to be written again.
    assert [r["candidate"]["full_name"] for r in await page(admin)] == ["Old Name"]
    counts = await jobs.sweep(db, clock.now)
    assert counts.swept
    assert [r["candidate"]["full_name"] for r in await page(admin)] == ["New Name"]
    await assert_in_step(db)
    assert await stale_marks(db) == 0


@pytest.mark.postgres
async def test_flagging_during_a_rename_waits_for_it_and_shows_the_new_name(
    admin: httpx.AsyncClient, clock: FrozenClock, db: Database, database_url: str
) -> None:
    person = await create_candidate(admin, full_name="Old Name")
    await create_interview(admin, starts_at=STARTS, candidate_id=person["id"])
    clock.set(NEXT_MORNING)
    async with holding(database_url, RENAME, person["id"]):
        flagging = asyncio.create_task(jobs.sweep(db, clock.now))
        await wait_until_waiting_for_a_lock(db, "%UPDATE follow_ups%")
        assert not flagging.done()
    counts = await asyncio.wait_for(flagging, 30)
    assert counts.overdue == 2  # the debrief call and the thank-you note
    assert [r["candidate"]["full_name"] for r in await page(admin)] == ["New Name"]
    await assert_in_step(db)
    assert await stale_marks(db) == 0


@pytest.mark.postgres
async def test_two_changes_to_the_same_row_at_once_neither_wait_nor_are_lost(
    admin: httpx.AsyncClient, clock: FrozenClock, db: Database, database_url: str
) -> None:
    """A candidate renamed while their employer is renamed: both write the same queue row.
    The second does not wait for the first (which could wait for it in turn elsewhere); the
    sweep writes the row again once both have committed."""
    person, employer, _ = await overdue_call(admin, clock, full_name="Old Name")
    async with holding(database_url, RENAME, person["id"]):
        renamed = await asyncio.wait_for(
            patch_current(admin, f"/v1/clients/{employer['id']}", {"name": "Acme Group"}), 10
        )
        assert renamed.status_code == 200, renamed.text
    top = (await page(admin))[0]
    assert (top["candidate"]["full_name"], top["client"]["name"]) == ("New Name", "Acme Ltd")
    await jobs.sweep(db, clock.now)
    top = (await page(admin))[0]
    assert (top["candidate"]["full_name"], top["client"]["name"]) == ("New Name", "Acme Group")
    await assert_in_step(db)
    assert await stale_marks(db) == 0


@pytest.mark.postgres
async def test_a_reschedule_while_the_sweep_reminds_about_the_call_does_not_deadlock(
    admin: httpx.AsyncClient, clock: FrozenClock, db: Database, database_url: str
) -> None:
    """The sweep's reminders lock the call first and write its queue row later; a reschedule
    in between must not take the queue row, or each would wait for the other."""
    _, _, interview = await overdue_call(admin, clock)
    call = "WHERE interview_id = $1 AND kind = 'debrief_call'"
    lock = f"SELECT id FROM follow_ups {call} FOR UPDATE"
    async with holding(database_url, lock, interview["id"]) as reminder:
        moving = asyncio.create_task(
            patch_current(
                admin,
                f"/v1/interviews/{interview['id']}",
                {"starts_at": (STARTS - timedelta(days=1)).isoformat()},
            )
        )
        await wait_until_waiting_for_a_lock(db, "%UPDATE follow_ups%")
        remind = f"UPDATE follow_ups SET reminders_sent = reminders_sent + 1 {call}"
        await asyncio.wait_for(reminder.execute(remind, interview["id"]), 10)
    moved = await asyncio.wait_for(moving, 10)
    assert moved.status_code == 200, moved.text
    top = (await page(admin))[0]
    assert (top["due_at"], top["reminders_sent"]) == ("2026-03-03T17:00:00Z", 1)
    await jobs.sweep(db, clock.now)
    await assert_in_step(db)


@pytest.mark.postgres
@pytest.mark.parametrize("how", ["patch", "bulk"])
async def test_renaming_and_withdrawing_a_candidate_while_their_interview_is_rescheduled(
    admin: httpx.AsyncClient, clock: FrozenClock, db: Database, database_url: str, how: str
) -> None:
    """A status change waives steps, so it holds the candidate's interviews before it changes
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
    await assert_in_step(db)


@pytest.mark.postgres
async def test_erasing_a_candidate_while_their_interview_is_rescheduled_does_not_deadlock(
    admin: httpx.AsyncClient, clock: FrozenClock, db: Database, database_url: str
) -> None:
    """A reschedule holds the interview, then re-dates its steps; erasure waits for the
    interview before it changes the candidate's fields (which locks the candidate's calls)."""
    person, _, interview = await overdue_call(admin, clock, full_name="To Be Erased")
    retitle = "UPDATE interviews SET job_title = 'Moved' WHERE id = $1"
    async with holding(database_url, retitle, interview["id"]) as rescheduler:
        erasing = asyncio.create_task(admin.delete(f"/v1/candidates/{person['id']}"))
        await wait_until_waiting_for_a_lock(db, "%UPDATE interviews%")
        await asyncio.wait_for(
            rescheduler.execute(
                "UPDATE follow_ups SET due_at = due_at - interval '1 day' WHERE interview_id = $1",
                interview["id"],
            ),
            10,
        )
    erased = await asyncio.wait_for(erasing, 10)
    assert erased.status_code in (200, 204), erased.text
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
    await assert_in_step(db)
