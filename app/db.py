"""Engines, the declarative base, column types and the transaction helpers.

Writes run in one transaction per request or job (`transaction`), committed in one place
(`commit`), never by services. Reads that need no transaction use `Database.reading()`, a
connection of an autocommit engine, so a read costs one round trip to the database. On
PostgreSQL the hot reads (`repository.Prepared`) go further: `Database.hot_pool` is an
asyncpg pool of their own, without SQLAlchemy's connection handling in between.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress
from datetime import UTC, datetime
from typing import Any

import asyncpg
import orjson
from sqlalchemy import JSON, DateTime, MetaData, Uuid, event
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Connection, Dialect, make_url
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out, on PostgreSQL and SQLite alike."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; give a time zone")
        value = value.astimezone(UTC)
        # SQLite keeps text; without the offset every stored value sorts as text correctly.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


JSONType = JSON().with_variant(JSONB(), "postgresql")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {
        datetime: UTCDateTime(),
        uuid.UUID: Uuid(),
        dict[str, Any]: JSONType,
        list[Any]: JSONType,
        list[str]: JSONType,
        list[dict[str, Any]]: JSONType,
    }


def _configure_sqlite(engine: AsyncEngine, *, write: bool) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from the sqlite3 module (it would not BEGIN
        # before SELECT), and make concurrent writers wait instead of failing.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA secure_delete=ON")
        cursor.close()

    if write:

        @event.listens_for(engine.sync_engine, "begin")
        def _on_begin(conn: Connection) -> None:
            # IMMEDIATE takes the write lock up front, so two writers queue on
            # busy_timeout instead of deadlocking when a reader upgrades to a writer.
            conn.exec_driver_sql("BEGIN IMMEDIATE")


def _dump_json(value: Any) -> str:
    return orjson.dumps(value).decode()


# Seconds a request waits for a free database connection before it is answered 503.
POOL_TIMEOUT = 30
# Seconds `Database.dispose()` waits for hot reads still running before cutting them off.
CLOSE_TIMEOUT = 10


class Turns:
    """Places in front of a pool of `size` connections, handed out first come, first served.

    asyncio's semaphore gives a freed place to the longest waiter. Pools' own queues do not
    (SQLAlchemy's, and asyncpg's, which is an asyncio.Queue): a request arriving just as a
    connection is returned takes it, and the waiter woken for it goes to the back of the
    queue again. Under load that made the slowest queue refreshes wait several times the
    median. One semaphore per event loop, as asyncio's primitives are bound to one.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self._turns: tuple[asyncio.AbstractEventLoop, asyncio.Semaphore] | None = None

    async def take(self) -> asyncio.Semaphore:
        """Wait for a place (at most POOL_TIMEOUT seconds); give it back with `.release()`."""
        loop = asyncio.get_running_loop()
        if self._turns is None or self._turns[0] is not loop:
            self._turns = (loop, asyncio.Semaphore(self.size))
        turns = self._turns[1]
        if not turns.locked():  # a free place is taken at once, without a timer
            await turns.acquire()
            return turns
        try:
            async with asyncio.timeout(POOL_TIMEOUT):
                await turns.acquire()
        except TimeoutError as exc:  # as the pool's own timeout: answered 503
            raise PoolTimeout(f"no read connection free within {POOL_TIMEOUT} s") from exc
        return turns


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
    Connection object, the reset on return) cost as much CPU as a one-row read itself
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


class Database:
    """The engines and session factory of one process."""

    def __init__(self, url: str, *, pool_size: int = 10) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        options: dict[str, Any] = {}
        if not self.is_sqlite:
            # A fixed pool: overflow connections would be opened and closed per request.
            options = {"pool_size": pool_size, "max_overflow": 0, "pool_timeout": POOL_TIMEOUT}
        options.update(json_serializer=_dump_json, json_deserializer=orjson.loads)
        self.engine = create_async_engine(url, **options)
        self.read_engine = create_async_engine(url, isolation_level="AUTOCOMMIT", **options)
        self.hot_pool: HotReadPool | None = None
        if self.is_sqlite:
            _configure_sqlite(self.engine, write=True)
            _configure_sqlite(self.read_engine, write=False)
        else:
            self.hot_pool = HotReadPool(url, self.read_engine.dialect, pool_size)
        self.sessionmaker = async_sessionmaker(self.engine, expire_on_commit=False)
        self._turns = Turns(pool_size)

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[AsyncConnection]:
        """A connection of the autocommit read engine; on PostgreSQL, taken in turn."""
        if self.is_sqlite:
            async with self.read_engine.connect() as conn:
                yield conn
            return
        turns = await self._turns.take()
        try:
            async with self.read_engine.connect() as conn:
                yield conn
        finally:
            turns.release()

    @property
    def dialect(self) -> str:
        return "sqlite" if self.is_sqlite else "postgresql"

    async def forget_old_pages(self) -> None:
        """SQLite: fold the write-ahead log into the database and truncate it, so old
        versions of changed rows stop existing on disk (deleted pages are zeroed already)."""
        if not self.is_sqlite:
            return
        async with self.reading() as conn:
            for _ in range(20):
                busy = (await conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")).first()
                if busy is not None and busy[0] == 0:
                    return
                await asyncio.sleep(0.05)

    async def dispose(self) -> None:
        try:
            if self.hot_pool is not None:
                await self.hot_pool.close()
        finally:
            await self.engine.dispose()
            await self.read_engine.dispose()


PreCommitHook = Callable[[AsyncSession], Awaitable[None]]


def add_pre_commit_hook(session: AsyncSession, hook: PreCommitHook) -> None:
    """Run `hook` once, just before this session's transaction commits."""
    hooks: list[PreCommitHook] = session.info.setdefault("pre_commit", [])
    if hook not in hooks:
        hooks.append(hook)


PostCommitHook = Callable[[], Awaitable[None] | None]


def add_post_commit_hook(session: AsyncSession, hook: PostCommitHook) -> None:
    """Run `hook` after this session's transaction has committed (never on rollback); a
    coroutine function is awaited before the answer goes out."""
    hooks: list[PostCommitHook] = session.info.setdefault("post_commit", [])
    if hook not in hooks:
        hooks.append(hook)


async def commit(session: AsyncSession) -> None:
    """The one place a transaction commits: pre-commit hooks (the event outbox), then COMMIT."""
    hooks: list[PreCommitHook] = session.info.pop("pre_commit", [])
    for hook in hooks:
        await hook(session)
    after: list[PostCommitHook] = session.info.pop("post_commit", [])
    await session.commit()
    for done in after:
        result = done()
        if result is not None:
            await result


async def rollback(session: AsyncSession) -> None:
    session.info.clear()
    await session.rollback()


@asynccontextmanager
async def transaction(db: Database, *, now: datetime | None = None) -> AsyncIterator[AsyncSession]:
    """A unit of work for jobs and the command line: commits on success, else rolls back.

    `now` (the app's clock) is when the audit log says its changes were made; work that
    changes audited objects must give it."""
    async with db.sessionmaker() as session:
        if now is not None:
            session.info["now"] = now
        try:
            yield session
        except BaseException:
            await rollback(session)
            raise
        await commit(session)
