"""The write pool on PostgreSQL serves waiting checkouts first come, first served
(`app.db.fair_pool`): a request that asks as a connection comes back does not pass those
already waiting, a wait that times out is a pool timeout (answered 503), and no connection
is lost on the way. The queue is the driver's, so these run on the suite's database."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import event, text
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from app.db.engine import Database
from app.db.fair_pool import FairAsyncPool
from app.db.writer import WriterQueue


@pytest.fixture
async def one_connection(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(
        database_url, poolclass=FairAsyncPool, pool_size=1, max_overflow=0, pool_timeout=0.5
    )
    yield engine
    await engine.dispose()


async def test_waiting_checkouts_are_served_in_the_order_they_came(
    one_connection: AsyncEngine,
) -> None:
    served: list[str] = []
    holding = await one_connection.connect()
    await holding.execute(text("SELECT 1"))

    async def use(name: str) -> None:
        async with one_connection.connect() as conn:
            await conn.execute(text("SELECT 1"))
            served.append(name)

    waiting = []
    for name in ("first", "second", "third"):
        waiting.append(asyncio.create_task(use(name)))
        await asyncio.sleep(0.01)  # each is in line before the next asks
    # A latecomer whose turn to run comes just before the first waiter's: in asyncio's own
    # queue it would take the connection given back, and the first waiter would queue again.
    go = asyncio.Event()

    async def latecomer() -> None:
        await go.wait()
        await use("latecomer")

    late = asyncio.create_task(latecomer())
    await asyncio.sleep(0.01)
    # Told as the connection comes back, just before the pool takes it: the latecomer is
    # woken before the first waiter, whom the connection's return wakes.
    event.listen(one_connection.sync_engine, "checkin", lambda *_: go.set(), once=True)
    await holding.close()
    await asyncio.gather(*waiting, late)
    assert served == ["first", "second", "third", "latecomer"]


async def test_a_wait_that_times_out_loses_no_connection(one_connection: AsyncEngine) -> None:
    holding = await one_connection.connect()
    await holding.execute(text("SELECT 1"))
    with pytest.raises(PoolTimeout):
        async with one_connection.connect() as conn:
            await conn.execute(text("SELECT 1"))
    await holding.close()
    async with one_connection.connect() as conn:  # the one connection is there, at once
        assert (await conn.execute(text("SELECT 1"))).scalar_one() == 1
    assert one_connection.pool.checkedout() == 0  # type: ignore[attr-defined]


async def test_a_cancelled_wait_leaves_the_line(one_connection: AsyncEngine) -> None:
    holding = await one_connection.connect()
    await holding.execute(text("SELECT 1"))

    async def wait_for_it() -> None:
        async with one_connection.connect() as conn:
            await conn.execute(text("SELECT 1"))

    gave_up = asyncio.create_task(wait_for_it())
    await asyncio.sleep(0.01)
    gave_up.cancel()  # a client that went away
    await holding.close()
    with pytest.raises(asyncio.CancelledError):
        await gave_up
    async with one_connection.connect() as conn:
        assert (await conn.execute(text("SELECT 1"))).scalar_one() == 1
    assert one_connection.pool.checkedout() == 0  # type: ignore[attr-defined]


def test_the_app_writes_through_it_on_postgresql(db: Database) -> None:
    """On SQLite the one write connection has its own line (`app.db.writer`)."""
    pool = db.engine.sync_engine.pool
    assert isinstance(pool, WriterQueue if db.is_sqlite else FairAsyncPool)


async def test_the_pools_log_as_sqlalchemy_s_own(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Under SQLAlchemy's logger (WARNING by default), not the app's INFO: a dispose is not a
    line in the service's log."""
    caplog.set_level(logging.INFO)
    for poolclass in (FairAsyncPool, WriterQueue):
        engine = create_async_engine(database_url, poolclass=poolclass, pool_size=1)
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        await engine.dispose()
    assert [r.getMessage() for r in caplog.records if "Pool" in r.getMessage()] == []
