"""Reads take their connections first come, first served (`Database.reading`, `Turns`), and
the hot reads' own asyncpg pool (`Database.hot_pool`) recovers from lost connections."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import asyncpg
import pytest
from sqlalchemy.exc import TimeoutError as PoolTimeout

from app.db import engine as engine_module
from app.db import hot_read_pool
from app.db import turns as turns_module
from app.db.engine import Database
from app.db.hot_read_pool import HotReadPool
from app.db.turns import Turns


@pytest.mark.postgres
async def test_a_freed_connection_goes_to_the_longest_waiter(database_url: str) -> None:
    # With the pool's own queue, a request arriving as a connection came back could take
    # it from under the waiter woken for it; under load a tenth of the reads waited
    # several times the median.
    db = Database(database_url, pool_size=1)
    order: list[str] = []
    held, release = asyncio.Event(), asyncio.Event()

    async def read(name: str, hold: asyncio.Event | None = None, hops: int = 0) -> None:
        for _ in range(hops):  # arrive this many turns of the event loop later
            await asyncio.sleep(0)
        async with db.reading() as conn:
            order.append(name)
            await conn.exec_driver_sql("SELECT 1")
            if hold is not None:
                held.set()
                await hold.wait()

    try:
        holder = asyncio.create_task(read("holder", release))
        await held.wait()
        waiters = []
        for number in range(3):
            waiters.append(asyncio.create_task(read(f"waiter {number}")))
            await asyncio.sleep(0.02)  # queued before the next one comes
        # Newcomers arrive while the freed connection is being handed over, one turn of the
        # event loop apart, so that some come between its return and the waiter's wake-up.
        release.set()
        newcomers = [asyncio.create_task(read(f"newcomer {n}", hops=n)) for n in range(12)]
        await asyncio.wait_for(asyncio.gather(holder, *waiters, *newcomers), timeout=10)
    finally:
        await db.dispose()
    assert order == [
        "holder",
        *(f"waiter {n}" for n in range(3)),
        *(f"newcomer {n}" for n in range(12)),
    ]


@pytest.mark.postgres
async def test_a_read_that_waits_too_long_for_a_connection_gives_up(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As the pool's own timeout did: the request is answered 503 (see `app.api.problems`).
    monkeypatch.setattr(turns_module, "POOL_TIMEOUT", 0.2)
    monkeypatch.setattr(engine_module, "POOL_TIMEOUT", 0.2)
    db = Database(database_url, pool_size=1)
    held, release = asyncio.Event(), asyncio.Event()

    async def hold() -> None:
        async with db.reading():
            held.set()
            await release.wait()

    holder = asyncio.create_task(hold())
    try:
        await held.wait()
        with pytest.raises(PoolTimeout):
            async with db.reading():
                pass
        release.set()
        await holder
        async with db.reading() as conn:  # the place was given back
            assert (await conn.exec_driver_sql("SELECT 1")).scalar() == 1
    finally:
        release.set()
        await db.dispose()


async def test_turns_go_to_the_longest_waiter_and_time_out() -> None:
    # Places like these stand in front of the read engine's pool and of the hot reads' asyncpg
    # pool, whose own queue (an asyncio.Queue) lets a newcomer take a connection from under
    # a woken waiter.
    turns = Turns(1)
    order: list[str] = []
    release = asyncio.Event()

    async def take(name: str, hold: asyncio.Event | None = None, hops: int = 0) -> None:
        for _ in range(hops):
            await asyncio.sleep(0)
        place = await turns.take()
        order.append(name)
        try:
            if hold is not None:
                await hold.wait()
            await asyncio.sleep(0)
        finally:
            place.release()

    holder = asyncio.create_task(take("holder", release))
    await asyncio.sleep(0)
    waiters = [asyncio.create_task(take(f"waiter {n}")) for n in range(3)]
    await asyncio.sleep(0.01)
    release.set()
    newcomers = [asyncio.create_task(take(f"newcomer {n}", hops=n)) for n in range(8)]
    await asyncio.wait_for(asyncio.gather(holder, *waiters, *newcomers), timeout=5)
    assert order == [
        "holder",
        *(f"waiter {n}" for n in range(3)),
        *(f"newcomer {n}" for n in range(8)),
    ]


async def test_a_turn_not_given_within_the_timeout_fails_as_a_pool_timeout(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(turns_module, "POOL_TIMEOUT", 0.05)
    turns = Turns(1)
    place = await turns.take()
    with pytest.raises(PoolTimeout):
        await turns.take()
    place.release()
    (await turns.take()).release()  # the place was given back


@asynccontextmanager
async def _hot_reads(url: str, size: int) -> AsyncIterator[tuple[Database, HotReadPool]]:
    """A Database on `url` and its hot-read pool, disposed of afterwards."""
    db = Database(url, pool_size=size)
    assert db.hot_pool is not None
    try:
        yield db, db.hot_pool
    finally:
        await db.dispose()


async def _backends(pool: HotReadPool, count: int) -> set[int]:
    """The server processes of `count` connections of the pool, all held at once."""
    sql = "SELECT pg_backend_pid() AS pid, pg_sleep(0.1)"
    answers = await asyncio.gather(*(pool.fetch(sql, []) for _ in range(count)))
    return {row["pid"] for rows in answers for row in rows}


@pytest.mark.postgres
async def test_killed_hot_read_connections_cost_at_most_one_failed_read(
    database_url: str,
) -> None:
    # PostgreSQL restarted, or its connections were killed: the read that meets a dead
    # connection fails as unavailable (answered 503), never as an unexpected error, and the
    # reads after it run on new connections.
    async with _hot_reads(database_url, 3) as (db, pool):
        killed = await _backends(pool, 3)
        assert len(killed) == 3
        async with db.reading() as conn:
            for pid in killed:
                await conn.exec_driver_sql(f"SELECT pg_terminate_backend({pid})")
        failures = 0
        for _ in range(4):
            try:
                await pool.fetch("SELECT 1", [])
            except ConnectionError:
                failures += 1
        assert failures <= 1
        assert (await _backends(pool, 3)).isdisjoint(killed)


@pytest.mark.postgres
async def test_a_lost_hot_read_connection_replaces_the_idle_ones(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The idle connections of a pool that lost one are most likely dead too (a restart):
    # they are replaced before their next use, as SQLAlchemy invalidates its pool, instead of
    # failing one read each.
    async with _hot_reads(database_url, 3) as (_db, pool):
        before = await _backends(pool, 3)
        fetch = hot_read_pool._ReadConnection.fetch

        async def lost_once(self: hot_read_pool._ReadConnection, *args: Any) -> Any:
            monkeypatch.setattr(hot_read_pool._ReadConnection, "fetch", fetch)
            raise asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed")

        monkeypatch.setattr(hot_read_pool._ReadConnection, "fetch", lost_once)
        with pytest.raises(ConnectionError):
            await pool.fetch("SELECT 1", [])
        assert (await _backends(pool, 3)).isdisjoint(before)


@pytest.mark.postgres
async def test_hot_reads_read_values_as_sqlalchemy_does(database_url: str) -> None:
    # The hot reads skip SQLAlchemy's result processing: their types must come out the same.
    async with _hot_reads(database_url, 1) as (db, pool):
        sql = (
            "SELECT '2026-03-04 11:00:00+01'::timestamptz AS at, '{\"a\": [1]}'::jsonb AS doc,"
            " '{\"b\": null}'::json AS plain, 'c1f2e9a4-0b5e-4b8e-9f5d-3e2a1b0c9d8e'::uuid AS id"
        )
        (hot,) = await pool.fetch(sql, [])
        async with db.reading() as conn:
            engine_row = (await conn.exec_driver_sql(sql)).mappings().one()
    assert hot["at"] == engine_row["at"]
    assert hot["at"].utcoffset() == timedelta(0)
    assert hot["doc"] == engine_row["doc"] == {"a": [1]}
    assert hot["plain"] == engine_row["plain"] == {"b": None}
    assert str(hot["id"]) == str(engine_row["id"]) == "c1f2e9a4-0b5e-4b8e-9f5d-3e2a1b0c9d8e"


@pytest.mark.postgres
async def test_a_query_error_on_a_hot_read_keeps_the_connection(database_url: str) -> None:
    # Bad SQL or a statement timeout is the query's own error, raised as it is: not a 503,
    # and no reason to replace the pool's connections.
    async with _hot_reads(database_url, 1) as (db, pool):
        before = await _backends(pool, 1)
        with pytest.raises(asyncpg.exceptions.DivisionByZeroError):
            await pool.fetch("SELECT 1 / $1::int AS n", [0])
        (pid,) = before
        sleeping = asyncio.create_task(pool.fetch("SELECT pg_sleep(5)", []))
        await asyncio.sleep(0.2)
        async with db.reading() as conn:  # as a statement timeout would
            await conn.exec_driver_sql(f"SELECT pg_cancel_backend({pid})")
        with pytest.raises(asyncpg.exceptions.QueryCanceledError):
            await sleeping
        assert await _backends(pool, 1) == before


@pytest.mark.postgres
async def test_a_hot_read_without_a_database_to_connect_to_is_unavailable(
    database_url: str,
) -> None:
    # Refused, too many connections, a database that is not there: answered 503 as the
    # SQLAlchemy reads are (ConnectionError is one of `app.api.problems.DATABASE_ERRORS`).
    missing = f"{database_url.rsplit('/', 1)[0]}/debrief_no_such_database"
    async with _hot_reads(missing, 1) as (_db, pool):
        with pytest.raises(ConnectionError):
            await pool.fetch("SELECT 1", [])


@pytest.mark.postgres
async def test_a_cancelled_first_hot_read_does_not_cancel_the_others(database_url: str) -> None:
    # The first reads of a process wait for the pool to start together; a client that goes
    # away meanwhile must not take the others' reads down with it.
    async with _hot_reads(database_url, 2) as (_db, pool):
        gone = asyncio.create_task(pool.fetch("SELECT 1 AS n", []))
        staying = asyncio.create_task(pool.fetch("SELECT 2 AS n", []))
        await asyncio.sleep(0)
        gone.cancel()
        assert [row["n"] for row in await staying] == [2]
        with pytest.raises(asyncio.CancelledError):
            await gone
