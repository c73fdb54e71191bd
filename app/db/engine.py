"""The engines of one process: the write engine and session factory, and the autocommit
read engine.

Reads that need no transaction use `Database.reading()`, a connection of the autocommit
engine, so a read costs one round trip to the database. The hot reads
(`app.db.queries.Prepared`) go further: on PostgreSQL `Database.hot_pool` is an asyncpg pool
of their own (`app.db.hot_read_pool`), on SQLite `Database.sqlite_reads` a connection of the
stdlib driver used from the event loop (`app.db.sqlite_reads`). On SQLite the write engine
has one connection, which the process's writers take in turn (`app.db.writer`).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import orjson
from sqlalchemy import event
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import Session

from app.db.fair_pool import FairAsyncPool
from app.db.hot_read_pool import HotReadPool
from app.db.page_cache import PageCache
from app.db.sqlite_reads import SQLiteReads
from app.db.turns import POOL_TIMEOUT, Turns
from app.db.unit_of_work import EventObserver, Notifier
from app.db.writer import WriterQueue


def _configure_sqlite(engine: AsyncEngine, *, write: bool) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from the sqlite3 module (it would not BEGIN
        # before SELECT). The process's writers take turns (`WriterQueue`); the busy
        # timeout makes a writer wait for another process's (the command line's) instead
        # of failing.
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
            # IMMEDIATE takes the write lock up front: a transaction never has to upgrade
            # from reading to writing, which fails at once if another process is writing.
            conn.exec_driver_sql("BEGIN IMMEDIATE")


def _sqlite_file(url: str) -> str | None:
    """The path of a SQLite database file the stdlib driver can open as it is (not one in
    memory, nor a URL with options for the driver)."""
    parsed = make_url(url)
    if parsed.database in (None, "", ":memory:") or parsed.query:
        return None
    return parsed.database


def dump_json(value: Any) -> str:
    """A JSON column's value as the engines store it (statements run on the driver use it too)."""
    return orjson.dumps(value).decode()


class Database:
    """The engines and session factory of one process."""

    def __init__(self, url: str, *, pool_size: int = 10) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        # A fixed pool: overflow connections would be opened and closed per request (on
        # SQLite with a hop to aiosqlite's thread for each of its pragmas).
        options: dict[str, Any] = {
            "pool_size": pool_size,
            "max_overflow": 0,
            "pool_timeout": POOL_TIMEOUT,
        }
        options.update(json_serializer=dump_json, json_deserializer=orjson.loads)
        # Writers served in turn: on SQLite by its one write connection (`app.db.writer`),
        # on PostgreSQL by the pool (`app.db.fair_pool`).
        sqlite_file = _sqlite_file(url) if self.is_sqlite else None
        writer: dict[str, Any] = {"poolclass": WriterQueue if self.is_sqlite else FairAsyncPool}
        if self.is_sqlite:
            # The write path's statements run on the write connection from the event loop,
            # between the awaited statements aiosqlite runs on its thread (app/db/statements.py).
            writer["connect_args"] = {"check_same_thread": False}
        self.engine = create_async_engine(url, **options, **writer)
        self.read_engine = create_async_engine(url, isolation_level="AUTOCOMMIT", **options)
        self.hot_pool: HotReadPool | None = None
        self.sqlite_reads: SQLiteReads | None = None
        if self.is_sqlite:
            _configure_sqlite(self.engine, write=True)
            _configure_sqlite(self.read_engine, write=False)
            if sqlite_file is not None:
                self.sqlite_reads = SQLiteReads(sqlite_file)
        else:
            self.hot_pool = HotReadPool(url, self.read_engine.dialect, pool_size)
        # A Session class of this database's own: listeners on its events (the audit log's)
        # hear this database's sessions only, not another app's in the same process.
        self.session_class: type[Session] = type("DatabaseSession", (Session,), {})
        self.sessionmaker = async_sessionmaker(
            self.engine, expire_on_commit=False, sync_session_class=self.session_class
        )
        # Pages of read models this process answers again while their stamps hold.
        self.pages = PageCache()
        # Told after each commit that wrote events (wakes this app's webhook sender), and
        # after each that wrote notifications (wakes its notification sender).
        self.events_committed = Notifier()
        self.notifications_committed = Notifier()
        # Told each transaction's events before they are written (`install`ed at start-up).
        self.event_observers: list[EventObserver] = []
        self._turns = Turns(pool_size)

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[AsyncConnection]:
        """A connection of the autocommit read engine, taken in turn."""
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
            if self.sqlite_reads is not None:
                self.sqlite_reads.close()
        finally:
            await self.engine.dispose()
            await self.read_engine.dispose()
