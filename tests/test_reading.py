"""Reads take the read engine's connections first come, first served (`Database.reading`)."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy.exc import TimeoutError as PoolTimeout

from app import db as app_db
from app.db import Database


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
    # As the pool's own timeout did: the request is answered 503 (see `app.errors`).
    monkeypatch.setattr(app_db, "POOL_TIMEOUT", 0.2)
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
