"""Engines, the declarative base, column types and the transaction helpers.

Writes run in one transaction per request or job (`transaction`), committed in one place
(`commit`), never by services. Reads that need no transaction use `Database.reading()`, a
connection of an autocommit engine, so a read costs one round trip to the database.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import JSON, DateTime, MetaData, Uuid, event
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Connection, Dialect
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
        if self.is_sqlite:
            _configure_sqlite(self.engine, write=True)
            _configure_sqlite(self.read_engine, write=False)
        self.sessionmaker = async_sessionmaker(self.engine, expire_on_commit=False)
        self.pool_size = pool_size
        self._turns: tuple[asyncio.AbstractEventLoop, asyncio.Semaphore] | None = None

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[AsyncConnection]:
        """A connection of the autocommit read engine.

        On PostgreSQL, callers wait for one in turn, first come first served (asyncio's
        semaphore hands a freed place to the longest waiter). The pool's own queue does not:
        a request arriving just as a connection is returned takes it, and the waiter woken
        for it goes to the back of the queue again. Under load that made a tenth of the
        queue refreshes wait three to eight times the median."""
        if self.is_sqlite:
            async with self.read_engine.connect() as conn:
                yield conn
            return
        loop = asyncio.get_running_loop()
        if self._turns is None or self._turns[0] is not loop:
            self._turns = (loop, asyncio.Semaphore(self.pool_size))
        turns = self._turns[1]
        try:
            async with asyncio.timeout(POOL_TIMEOUT):
                await turns.acquire()
        except TimeoutError as exc:  # as the pool's own timeout: answered 503
            raise PoolTimeout(f"no read connection free within {POOL_TIMEOUT} s") from exc
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
async def transaction(db: Database) -> AsyncIterator[AsyncSession]:
    """A unit of work for jobs and the command line: commits on success, else rolls back."""
    async with db.sessionmaker() as session:
        try:
            yield session
        except BaseException:
            await rollback(session)
            raise
        await commit(session)
