"""PostgreSQL: the asyncpg pool of the hot reads (`app.db.queries.Prepared`), without
SQLAlchemy's connection handling in between."""

from __future__ import annotations

import asyncio
from contextlib import suppress
from typing import Any

import asyncpg
import orjson
from sqlalchemy.engine import Dialect, make_url

from app.db.turns import Turns

# Seconds `Database.dispose()` waits for hot reads still running before cutting them off.
CLOSE_TIMEOUT = 10


class _ReadConnection(asyncpg.Connection):  # type: ignore[misc]
    """A hot-read connection: autocommit SELECTs only, so no session state to reset when it
    goes back to the pool (asyncpg's reset query would cost a round trip per read)."""

    def get_reset_query(self) -> str:
        return ""


async def _json_codecs(conn: asyncpg.Connection) -> None:
    # As SQLAlchemy's asyncpg dialect sets them up, with the same deserializer (orjson).
    await conn.set_type_codec(
        "json",
        encoder=str.encode,
        decoder=orjson.loads,
        schema="pg_catalog",
        format="binary",
    )
    await conn.set_type_codec(
        "jsonb",
        encoder=lambda text: b"\x01" + text.encode(),
        decoder=lambda data: orjson.loads(data[1:]),
        schema="pg_catalog",
        format="binary",
    )


# What asyncpg raises when a connection is lost or the server is going away; answered 503
# (`ConnectionError`), and the pool's idle connections are replaced.
_CONNECTION_LOST = (
    OSError,
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.CrashShutdownError,
    asyncpg.exceptions.CannotConnectNowError,
)
# Failing to get a connection at all (refused, too many connections, a wrong password or
# database, a pool being closed): answered 503, as SQLAlchemy's DBAPIError is.
_NO_CONNECTION = (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError)


def _connection_lost(conn: asyncpg.Connection, exc: BaseException) -> bool:
    if isinstance(exc, _CONNECTION_LOST) or conn.is_closed():
        return True
    # The server's "terminating connection" arrived while the connection sat idle, and the
    # next query found the protocol in a state it cannot leave.
    return isinstance(exc, asyncpg.exceptions.InternalClientError) and not isinstance(
        exc, asyncpg.exceptions.OutdatedSchemaCacheError
    )


class HotReadPool:
    """PostgreSQL: asyncpg's pool for the hot reads, at most `size` connections, opened when
    first needed, taken in turn (`Turns`).

    SQLAlchemy's connection handling (pool checkout and return through greenlets, a
    Connection object, the reset on return) is a large part of a one-row read's CPU
    (`bench/hot_reads.py` compares the two). When a connection is
    lost (PostgreSQL restarted), every idle one is replaced before its next use, as
    SQLAlchemy invalidates its pool, and the read fails with `ConnectionError`, answered
    503; so does a read that cannot get a connection at all. A query's own error (a timeout,
    bad SQL) is raised as it is, and the connection kept."""

    def __init__(self, url: str, dialect: Dialect, size: int) -> None:
        _args, options = dialect.create_connect_args(make_url(url))
        # SQLAlchemy's own options for its connection wrapper, not asyncpg's.
        options.pop("prepared_statement_cache_size", None)
        options.pop("prepared_statement_name_func", None)
        self._options = options
        self.size = size
        self._turns = Turns(size)
        self._pool: tuple[asyncio.AbstractEventLoop, asyncio.Task[asyncpg.Pool]] | None = None

    async def _ready(self) -> asyncpg.Pool:
        loop = asyncio.get_running_loop()
        if self._pool is None or self._pool[0] is not loop or _failed(self._pool[1]):
            self._discard()
            pool = asyncpg.create_pool(
                min_size=0,
                max_size=self.size,
                connection_class=_ReadConnection,
                init=_json_codecs,
                **self._options,
            )
            self._pool = (loop, loop.create_task(_started(pool)))
        task = self._pool[1]
        if task.done():
            return task.result()
        # Started once; everyone arriving meanwhile awaits the same start, and one of them
        # being cancelled does not cancel it for the others.
        return await asyncio.shield(task)

    async def fetch(self, sql: str, args: list[Any]) -> list[asyncpg.Record]:
        pool = await self._ready()
        turns = await self._turns.take()
        try:
            try:
                conn = await pool.acquire()
            except _NO_CONNECTION as exc:
                raise ConnectionError(f"no database connection: {exc!r}") from exc
            try:
                records: list[asyncpg.Record] = await conn.fetch(sql, *args)
                return records
            except Exception as exc:
                if not _connection_lost(conn, exc):
                    raise  # the query's own error, on a connection still good
                await pool.expire_connections()
                raise ConnectionError(f"database connection lost: {exc!r}") from exc
            finally:
                # A connection that broke is closed by asyncpg on the way back; the read's
                # own outcome stands.
                with suppress(*_CONNECTION_LOST, asyncpg.InterfaceError):
                    await pool.release(conn)
        finally:
            turns.release()

    def _discard(self) -> None:
        if self._pool is not None:
            task = self._pool[1]
            self._pool = None
            with suppress(RuntimeError):  # its event loop may be closed already
                if task.done() and not _failed(task):
                    task.result().terminate()
                else:
                    task.cancel()

    async def close(self) -> None:
        """Close the connections, waiting a few seconds at most for reads still running. As
        with SQLAlchemy's `dispose()`, a read after this opens a new pool."""
        if self._pool is None:
            return
        loop, task = self._pool
        if loop is not asyncio.get_running_loop() or not task.done() or _failed(task):
            self._discard()
            return
        self._pool = None
        pool = task.result()
        try:
            await asyncio.wait_for(pool.close(), CLOSE_TIMEOUT)
        except TimeoutError:
            pool.terminate()


async def _started(pool: asyncpg.Pool) -> asyncpg.Pool:
    return await pool


def _failed(task: asyncio.Task[Any]) -> bool:
    return task.done() and (task.cancelled() or task.exception() is not None)
