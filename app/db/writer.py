"""SQLite: the one write connection of a process, taken by its writers in turn."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.pool import AsyncAdaptedQueuePool, ConnectionPoolEntry
from sqlalchemy.util.concurrency import await_

from app.db.turns import Turns


class WriterQueue(AsyncAdaptedQueuePool):
    """SQLite: one write connection, handed to the process's writers first come, first served.

    SQLite lets one transaction write at a time. Left to race for its lock, writers on
    separate connections each retried on `busy_timeout`'s sleeps, and whoever retried at the
    right moment won: under load most writes took milliseconds and some seconds. Every
    write transaction of the process (requests, the sweep, the webhook and notification
    loops, imports, the command line) opens its session on the write engine, so they all
    meet here: a writer waits for its turn (`Turns`, first come first served, 503 after
    POOL_TIMEOUT seconds) when its transaction's first statement needs the connection, and
    gives the turn to the next when the transaction has ended (commit or rollback) and the
    connection is back. Reads use the read engine's connections and never wait here.
    """

    def __init__(self, creator: Any, **kw: Any) -> None:
        kw.update(pool_size=1, max_overflow=0)
        super().__init__(creator, **kw)
        self._writers = Turns(1)
        self._held: asyncio.Semaphore | None = None

    def _do_get(self) -> ConnectionPoolEntry:
        turn = await_(self._writers.take())
        try:
            entry = super()._do_get()
        except BaseException:
            turn.release()
            raise
        self._held = turn
        return entry

    def _do_return_conn(self, record: ConnectionPoolEntry) -> None:
        try:
            super()._do_return_conn(record)
        finally:
            turn, self._held = self._held, None
            if turn is not None:
                turn.release()


class _Cursor:
    """A stdlib cursor behind the awaitable interface SQLAlchemy's aiosqlite adapter calls;
    each call runs at once, on the event loop."""

    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._cursor = cursor

    async def __aenter__(self) -> _Cursor:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        self._cursor.close()

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value

    async def execute(self, sql: str, parameters: Any = ()) -> _Cursor:
        self._cursor.execute(sql, parameters)
        return self

    async def executemany(self, sql: str, parameters: Any) -> _Cursor:
        self._cursor.executemany(sql, parameters)
        return self

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        return self._cursor.fetchmany(self._cursor.arraysize if size is None else size)

    async def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    async def close(self) -> None:
        self._cursor.close()


class _AtOnce:
    """What the adapter hands work to when it sets the isolation level (aiosqlite's queue
    to its thread): the work is done at once."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection = connection

    def put_nowait(self, item: tuple[asyncio.Future[Any], Callable[[], Any]]) -> None:
        future, work = item
        try:
            future.set_result(work())
        except Exception as exc:
            future.set_exception(exc)


class InlineConnection:
    """SQLite: the write connection, a stdlib `sqlite3` connection used from the event loop.

    aiosqlite runs each statement on a thread of its own, a hop there and back per
    statement; the writer's statements take SQLite microseconds, and while a transaction
    holds the one write connection every hop lengthens the queue behind it. So the write
    engine keeps SQLAlchemy's aiosqlite dialect (its SQL, types and error handling) over
    this connection, whose awaitables complete at once."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._conn = connection
        self._connection: sqlite3.Connection | None = connection
        self._tx = _AtOnce(connection)

    @property
    def isolation_level(self) -> str | None:
        return self._conn.isolation_level

    def cursor(self) -> _Cursor:
        return _Cursor(self._conn.cursor())

    async def execute(self, sql: str, parameters: Any = ()) -> _Cursor:
        return await self.cursor().execute(sql, parameters)

    async def commit(self) -> None:
        self._conn.commit()

    async def rollback(self) -> None:
        self._conn.rollback()

    async def create_function(self, *args: Any, **kw: Any) -> None:
        self._conn.create_function(*args, **kw)

    async def close(self) -> None:
        self._connection = None
        self._conn.close()

    def stop(self) -> None:
        self._connection = None
        self._conn.close()


def inline_connector(path: str) -> Callable[[], Awaitable[InlineConnection]]:
    """The write engine's `async_creator`: a connection to the database file at `path`."""

    async def connect() -> InlineConnection:
        # Used from one event loop at a time, by one writer at a time (`WriterQueue`); the
        # thread check would refuse a loop run in another thread (a test client's).
        return InlineConnection(sqlite3.connect(path, check_same_thread=False))

    return connect
