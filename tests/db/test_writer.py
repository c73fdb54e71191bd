"""SQLite's writers take turns on the process's one write connection (`app.db.writer`):
many at once all succeed, first come first served, a failed one hands the turn on, and
reads never wait for them.

These run on a SQLite file of their own whatever database the suite runs on: the queue is
SQLite's, and it is the embedded default."""

from __future__ import annotations

import asyncio
import sqlite3
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select, text

from app.auth.service import issue_key
from app.clock import FrozenClock
from app.db.engine import Database
from app.db.migrations import upgrade
from app.db.transaction import transaction
from app.main import create_app
from app.models import Staff
from tests.conftest import T0, make_settings
from tests.debriefs.test_router import DEBRIEF
from tests.factories import create_candidate, create_interview

WRITERS = 32


@pytest.fixture(scope="module")
async def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = Path(tmp_path_factory.mktemp("writer")) / "debrief.db"
    url = f"sqlite+aiosqlite:///{path}"
    await upgrade(url)
    return url


@pytest.fixture
async def sqlite_app(sqlite_url: str) -> AsyncIterator[FastAPI]:
    """The app as `debrief serve` runs it on a SQLite file (the scheduler's sweep is run
    by the tests, at the moments they choose)."""
    application = create_app(make_settings(sqlite_url), clock=FrozenClock(T0))
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def admin(sqlite_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    db: Database = sqlite_app.state.db
    async with transaction(db, now=T0) as session:
        _, secret = await issue_key(
            session=session, name="writer tests", role="admin", staff_id=None, now=T0
        )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=sqlite_app),
        base_url="http://testserver",
        headers={"Authorization": f"Bearer {secret}"},
    ) as client:
        yield client


def _staff(name: str) -> Staff:
    return Staff(
        full_name=name,
        email=f"{uuid.uuid4().hex[:12]}@agency.co.uk",
        active=True,
        created_at=T0,
        updated_at=T0,
    )


async def test_32_debriefs_recorded_at_once_while_the_sweep_runs_all_succeed(
    sqlite_app: FastAPI, admin: httpx.AsyncClient
) -> None:
    interviews = [await create_interview(admin, starts_at=T0) for _ in range(WRITERS)]
    # Two days on: every debrief call is late, so the sweep has follow-ups to flag and events to
    # write while the recruiters record their calls.
    sqlite_app.state.clock.advance(timedelta(days=2))

    async def record(interview: dict[str, object]) -> httpx.Response:
        return await admin.post(f"/v1/interviews/{interview['id']}/debrief", json=DEBRIEF)

    answers = await asyncio.gather(
        admin.post("/v1/admin/sweeps"),
        *(record(i) for i in interviews),
        admin.post("/v1/admin/sweeps"),
    )

    assert [a.status_code for a in answers] == [200] + [201] * WRITERS + [200], [
        a.text for a in answers if a.status_code >= 300
    ]
    for interview in interviews:
        follow_ups = (
            await admin.get(
                "/v1/follow-ups", params={"interview_id": interview["id"], "kind": "debrief_call"}
            )
        ).json()["items"]
        assert [(s["status"], s["late"]) for s in follow_ups] == [("done", True)]


async def test_writers_get_the_connection_first_come_first_served(sqlite_app: FastAPI) -> None:
    db: Database = sqlite_app.state.db
    order: list[str] = []
    held, release = asyncio.Event(), asyncio.Event()

    async def write(name: str, hold: asyncio.Event | None = None, hops: int = 0) -> None:
        for _ in range(hops):  # arrive this many turns of the event loop later
            await asyncio.sleep(0)
        async with transaction(db, now=T0) as session:
            await session.execute(text("SELECT 1"))  # the transaction has the writer now
            order.append(name)
            session.add(_staff(name))
            if hold is not None:
                held.set()
                await hold.wait()

    holder = asyncio.create_task(write("holder", release))
    await held.wait()
    waiters = []
    for number in range(3):
        waiters.append(asyncio.create_task(write(f"waiter {number}")))
        await asyncio.sleep(0.02)  # queued before the next one comes
    # Newcomers arrive while the connection is handed over, one turn of the loop apart, so
    # some come between its return and the waiter's wake-up: none of them jumps the queue.
    release.set()
    newcomers = [asyncio.create_task(write(f"newcomer {n}", hops=n)) for n in range(12)]
    await asyncio.wait_for(asyncio.gather(holder, *waiters, *newcomers), timeout=30)

    assert order == [
        "holder",
        *(f"waiter {n}" for n in range(3)),
        *(f"newcomer {n}" for n in range(12)),
    ]


async def test_a_failed_write_is_rolled_back_and_the_next_writer_goes_on(
    sqlite_app: FastAPI,
) -> None:
    db: Database = sqlite_app.state.db
    inside = asyncio.Event()

    async def failing() -> None:
        async with transaction(db, now=T0) as session:
            session.add(_staff("Never Stored"))
            await session.flush()
            inside.set()
            await asyncio.sleep(0.05)  # the next writer is queued by now
            raise ValueError("the job went wrong half way")

    async def next_writer() -> None:
        await inside.wait()
        async with transaction(db, now=T0) as session:
            session.add(_staff("Stored Afterwards"))

    failed, succeeded = await asyncio.wait_for(
        asyncio.gather(failing(), next_writer(), return_exceptions=True), timeout=10
    )

    assert isinstance(failed, ValueError)
    assert succeeded is None
    async with db.reading() as conn:
        names = (await conn.execute(select(Staff.full_name))).scalars().all()
    assert "Stored Afterwards" in names
    assert "Never Stored" not in names


async def test_refused_writes_among_good_ones_leave_the_good_ones_unharmed(
    sqlite_app: FastAPI, admin: httpx.AsyncClient
) -> None:
    # Half the debriefs are for interviews still to come (409, rolled back after the
    # interview was read and locked in the write transaction): each hands the writer on.
    past = [await create_interview(admin, starts_at=T0) for _ in range(WRITERS // 2)]
    future = [
        await create_interview(admin, starts_at=T0 + timedelta(days=10))
        for _ in range(WRITERS // 2)
    ]
    sqlite_app.state.clock.advance(timedelta(hours=3))
    db: Database = sqlite_app.state.db
    before = await _debriefs(db)

    answers = await asyncio.gather(
        *(
            admin.post(f"/v1/interviews/{i['id']}/debrief", json=DEBRIEF)
            for pair in zip(past, future, strict=True)
            for i in pair
        )
    )

    assert [a.status_code for a in answers] == [201, 409] * (WRITERS // 2)
    assert await _debriefs(db) == before + len(past)


async def _debriefs(db: Database) -> int:
    async with db.reading() as conn:
        return int((await conn.execute(text("SELECT count(*) FROM debriefs"))).scalar_one())


async def test_reads_answer_while_a_writer_holds_the_connection(
    sqlite_app: FastAPI, admin: httpx.AsyncClient
) -> None:
    candidate = await create_candidate(admin)
    db: Database = sqlite_app.state.db
    held, release = asyncio.Event(), asyncio.Event()

    async def long_write() -> None:
        async with transaction(db, now=T0) as session:
            session.add(_staff("Slow Import"))
            await session.flush()
            held.set()
            await release.wait()

    writer = asyncio.create_task(long_write())
    await held.wait()
    try:
        one = await asyncio.wait_for(admin.get(f"/v1/candidates/{candidate['id']}"), 5)
        listed = await asyncio.wait_for(admin.get("/v1/candidates", params={"limit": 1}), 5)
        queue = await asyncio.wait_for(admin.get("/v1/debriefs/overdue"), 5)
        async with db.reading() as conn:
            staff = (await conn.execute(select(func.count()).select_from(Staff))).scalar()
    finally:
        release.set()
        await writer
    assert (one.status_code, listed.status_code, queue.status_code) == (200, 200, 200)
    assert one.json()["full_name"] == candidate["full_name"]
    async with db.reading() as conn:  # the write is seen once committed, not before
        after = (await conn.execute(select(func.count()).select_from(Staff))).scalar()
    assert after == (staff or 0) + 1


async def test_a_write_waiting_for_another_process_leaves_the_process_answering(
    sqlite_app: FastAPI, admin: httpx.AsyncClient, sqlite_url: str
) -> None:
    """Another process (the command line's import) holds SQLite's write lock: a debrief
    waits for it off the event loop (the write path's statements run on the loop only once
    their transaction holds the lock), so reads go on being answered; then it is stored."""
    candidate = await create_candidate(admin)
    interview = await create_interview(admin, starts_at=T0, candidate_id=candidate["id"])
    sqlite_app.state.clock.advance(timedelta(days=1))
    other = sqlite3.connect(sqlite_url.removeprefix("sqlite+aiosqlite:///"), isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        posting = asyncio.create_task(
            admin.post(f"/v1/interviews/{interview['id']}/debrief", json=DEBRIEF)
        )
        await asyncio.sleep(0.2)
        started = asyncio.get_running_loop().time()
        read = await asyncio.wait_for(admin.get(f"/v1/candidates/{candidate['id']}"), 5)
        waited = asyncio.get_running_loop().time() - started
        assert not posting.done()  # still waiting for the lock
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert read.status_code == 200
    assert waited < 0.5
    assert (await asyncio.wait_for(posting, 10)).status_code == 201
