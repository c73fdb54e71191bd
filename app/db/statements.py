"""The write path's statements, built once and run in the session's own transaction.

Running a statement through SQLAlchemy costs the process 0.2-0.4 ms of CPU (building it,
its cache key, the execution context, the result); the same SQL on the driver costs about
0.06 ms (`bench/statements.py`). A write request runs ten or more of them, so the ones that
need nothing from the ORM are `Statement`s: the event and audit rows, the erased-candidate
check, recording a debrief (docs/architecture.md names them all).

On PostgreSQL a `Statement` is compiled once to SQL text with SQLAlchemy's conversions of
its parameters (a JSON column's serialiser, a TypeDecorator's checks) and run on the asyncpg
connection of the session's transaction, the one SQLAlchemy's own statements use: the same
transaction, locks and savepoints, and asyncpg keeps it prepared. The transaction's first
`Statement` finds that connection through SQLAlchemy (in its greenlet); the unit of work
keeps it, and the next ones are awaited on it directly, while that transaction lasts. Its
rows come back as asyncpg records (read by position or name). An integrity error is raised
as SQLAlchemy's `IntegrityError`, as it would be through the session (answered 409); any
other database error as asyncpg raised it (answered 503, or 422 for a value the database
refused); a connection the driver finds closed as SQLAlchemy's `InterfaceError` (503).

On SQLite it runs on the stdlib `sqlite3` connection under the process's one write
connection (`app.db.writer`), from the event loop, with SQLAlchemy's conversions of its
parameters and of the columns it returns: through the session each statement was a hop to
aiosqlite's thread and back, during which the transaction held SQLite's one writer while the
loop served other requests. Errors are raised as SQLAlchemy raises the driver's (an
`IntegrityError` for a duplicate key). An `executemany` of more than `SQLITE_ROWS_ON_LOOP`
rows still goes through the session, so a bulk call's rows do not hold the loop.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypeAlias, cast

import asyncpg
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, InvalidRequestError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, attributes
from sqlalchemy.orm.util import identity_key
from sqlalchemy.sql.base import Executable
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ClauseElement
from sqlalchemy.util import await_only

from app.db.slices import tick
from app.db.unit_of_work import unit_of_work

# An executemany of more rows than this runs on SQLite through the session (on aiosqlite's
# thread) rather than from the event loop: a bulk call's thousand audit rows would hold the
# loop for milliseconds.
SQLITE_ROWS_ON_LOOP = 32
# Through the session, it goes this many rows at a time, handing the event loop back between
# them (app/db/slices.py): SQLAlchemy processes the parameters on the loop's thread, 5 to
# 20 ms for a thousand rows (a fast core and a slow one).
SESSION_ROWS = 100


class _Compiled:
    """A statement's SQL text for one dialect, its parameters in order and their conversions,
    and the names and conversions of the columns it returns."""

    def __init__(self, stmt: ClauseElement, dialect: Dialect) -> None:
        compiled = cast(SQLCompiler, stmt.compile(dialect=dialect))
        if compiled.literal_execute_params or compiled.post_compile_params:
            raise ValueError("a Statement takes no expanding or literal parameters")
        self.sql = str(compiled)
        self.names: list[str] = list(compiled.positiontup or [])
        self.defaults: dict[str, Any] = compiled.params
        self.required = {name for name in self.names if compiled.binds[name].required}
        processors = cast(dict[str, Callable[[Any], Any]], compiled._bind_processors)
        self.processors = [processors.get(name) for name in self.names]
        columns = compiled._result_columns
        self.keys = [column[0] for column in columns]
        # What SQLAlchemy does to a column's value as it reads a result on SQLite (UUIDs,
        # times, booleans, JSON); asyncpg's values need none on SQLAlchemy's connection.
        self.results = [
            column[3]._cached_result_processor(dialect, None) if dialect.name == "sqlite" else None
            for column in columns
        ]

    def args(self, params: Mapping[str, Any]) -> list[Any]:
        values = []
        for name, process in zip(self.names, self.processors, strict=True):
            if name in params:
                value = params[name]
            elif name in self.required:  # as SQLAlchemy refuses it
                raise InvalidRequestError(f"A value is required for bind parameter {name!r}")
            else:
                value = self.defaults[name]
            values.append(value if process is None or value is None else process(value))
        return values

    def sqlite_rows(self, driver: sqlite3.Connection, args: list[Any]) -> list[tuple[Any, ...]]:
        try:
            rows = driver.execute(self.sql, args).fetchall()
        except sqlite3.Error as error:
            raise DBAPIError.instance(self.sql, args, error, sqlite3.Error) from error
        if not any(self.results):
            return rows
        return [
            tuple(v if p is None else p(v) for p, v in zip(self.results, row, strict=True))
            for row in rows
        ]

    async def pg_rows(self, driver: asyncpg.Connection, args: list[Any]) -> Sequence[Any]:
        try:
            return cast(Sequence[Any], await driver.fetch(self.sql, *args))
        except asyncpg.IntegrityConstraintViolationError as error:
            raise IntegrityError(self.sql, args, error) from error
        except asyncpg.InterfaceError as error:  # a closed connection: 503, as SQLAlchemy's
            raise InterfaceError(self.sql, args, error) from error

    async def pg_many(self, driver: asyncpg.Connection, batch: list[list[Any]]) -> None:
        try:
            await driver.executemany(self.sql, batch)
        except asyncpg.IntegrityConstraintViolationError as error:
            raise IntegrityError(self.sql, batch, error) from error
        except asyncpg.InterfaceError as error:
            raise InterfaceError(self.sql, batch, error) from error

    def sqlite_many(self, driver: sqlite3.Connection, batch: list[list[Any]]) -> None:
        try:
            driver.executemany(self.sql, batch)
        except sqlite3.Error as error:
            raise DBAPIError.instance(self.sql, batch, error, sqlite3.Error) from error


Driver: TypeAlias = asyncpg.Connection | sqlite3.Connection


def _driver(session: Session, connection: Connection) -> Driver:
    """The driver's connection under SQLAlchemy's, in its transaction, remembered for the
    transaction's next statements (`_held`).

    PostgreSQL: asyncpg's, its transaction begun (SQLAlchemy's adapter sends BEGIN only
    before its own first statement). SQLite: the stdlib `sqlite3` connection aiosqlite runs
    on its thread (opened with `check_same_thread=False`, app/db/engine.py); the session
    has sent `BEGIN IMMEDIATE` on taking it, so this transaction holds SQLite's write lock,
    and its statements are awaited one after the other, so aiosqlite's thread is idle while
    one runs here. This reads the adapters' own attributes: `tests/db/test_statements.py`
    fails if a SQLAlchemy or aiosqlite release changes them."""
    adapted: Any = connection.connection.dbapi_connection
    driver: Driver
    if connection.dialect.name == "postgresql":
        if adapted._transaction is None:
            await_only(adapted._start_transaction())
        driver = cast(asyncpg.Connection, adapted._connection)
    else:
        driver = cast(sqlite3.Connection, adapted._connection._conn)
    unit_of_work(session).driver = (session.get_transaction(), driver)
    return driver


def _held(session: AsyncSession) -> Driver | None:
    """The driver connection a statement of this transaction already ran on: the next ones
    run on it straight from the event loop, with no hop through SQLAlchemy's greenlet (nor,
    on SQLite, to aiosqlite's thread). Only while that transaction is the session's: after
    a commit or rollback, None."""
    work = unit_of_work(session)
    if work.driver is None:
        return None
    transaction, driver = work.driver
    current = session.sync_session.get_transaction()
    if transaction is current and current is not None and current.is_active:
        return cast(Driver, driver)
    work.driver = None
    return None


class Statement:
    """A Core statement (no ORM entities) built once with named parameters (`bindparam`),
    run in the session's transaction: see the module's docstring."""

    def __init__(self, stmt: Executable) -> None:
        self.stmt = stmt
        # Compiled for each database it ran on (one in production; the tests use both).
        self._compiled: dict[str, _Compiled] = {}

    def _for(self, dialect: Dialect) -> _Compiled:
        compiled = self._compiled.get(dialect.name)
        if compiled is None:
            compiled = _Compiled(cast(ClauseElement, self.stmt), dialect)
            self._compiled[dialect.name] = compiled
        return compiled

    def _ready(self, driver: Driver | None) -> _Compiled | None:
        """Compiled for the database of `driver`, if it ran there before."""
        if driver is None:
            return None
        return self._compiled.get(
            "sqlite" if isinstance(driver, sqlite3.Connection) else "postgresql"
        )

    async def fetch(self, session: AsyncSession, **params: Any) -> Sequence[Any]:
        """Run it once; its rows, read by position (`fetch_dicts`: by column name). The ORM's
        pending changes are flushed first (`settle`), as the session's own statements do."""
        await settle(session)
        driver = _held(session)
        compiled = self._ready(driver)
        if driver is None or compiled is None:
            return await session.run_sync(self.fetch_sync, params)
        args = compiled.args(params)
        if isinstance(driver, sqlite3.Connection):
            return compiled.sqlite_rows(driver, args)
        return await compiled.pg_rows(driver, args)

    async def fetch_dicts(self, session: AsyncSession, **params: Any) -> list[dict[str, Any]]:
        """Run it once; its rows as dicts by column name (on both databases)."""
        rows = await self.fetch(session, **params)
        if not rows:
            return []
        if isinstance(rows[0], asyncpg.Record):
            # asyncpg's values are SQLAlchemy's on its connection: JSON decoded by the codecs
            # SQLAlchemy gives the driver, timestamps aware in UTC.
            return [dict(row) for row in rows]
        keys = self._compiled["sqlite"].keys
        return [dict(zip(keys, row, strict=True)) for row in rows]

    async def fetch_one(self, session: AsyncSession, **params: Any) -> dict[str, Any] | None:
        """Run it once; its first row as a dict, or None."""
        rows = await self.fetch_dicts(session, **params)
        return rows[0] if rows else None

    async def executemany(self, session: AsyncSession, rows: Iterable[Mapping[str, Any]]) -> None:
        """Run it once per row of parameters (one round trip on PostgreSQL)."""
        rows = list(rows)
        if not rows:
            return
        driver = _held(session)
        compiled = self._ready(driver)
        if driver is None or compiled is None or not self._on_loop(driver, rows):
            for start in range(0, len(rows), SESSION_ROWS):
                if start:
                    await tick()
                await session.run_sync(self.executemany_sync, rows[start : start + SESSION_ROWS])
            return
        batch = [compiled.args(row) for row in rows]
        if isinstance(driver, sqlite3.Connection):
            compiled.sqlite_many(driver, batch)
        else:
            await compiled.pg_many(driver, batch)

    @staticmethod
    def _on_loop(driver: Driver, rows: Sequence[Any]) -> bool:
        return bool(rows) and (
            not isinstance(driver, sqlite3.Connection) or len(rows) <= SQLITE_ROWS_ON_LOOP
        )

    def fetch_sync(self, session: Session, params: Mapping[str, Any]) -> Sequence[Any]:
        """`fetch` for code that holds the synchronous session (inside a flush)."""
        connection = session.connection()
        compiled = self._for(connection.dialect)
        args = compiled.args(params)
        driver = _driver(session, connection)
        if isinstance(driver, sqlite3.Connection):
            return compiled.sqlite_rows(driver, args)
        return await_only(compiled.pg_rows(driver, args))

    def executemany_sync(self, session: Session, rows: Sequence[Mapping[str, Any]]) -> None:
        """`executemany` for code that holds the synchronous session (inside a flush)."""
        if not rows:
            return
        connection = session.connection()
        compiled = self._for(connection.dialect)
        driver = _driver(session, connection)
        if not self._on_loop(driver, rows):  # SQLite, many rows: on aiosqlite's thread
            connection.execute(self.stmt, [dict(row) for row in rows])
            return
        batch = [compiled.args(row) for row in rows]
        if isinstance(driver, sqlite3.Connection):
            compiled.sqlite_many(driver, batch)
        else:
            await_only(compiled.pg_many(driver, batch))


async def settle(session: AsyncSession) -> None:
    """Flush the ORM's pending changes, as the session does before its own statements
    (autoflush), so that a `Statement` reading after them sees them (`Statement.fetch`
    calls it)."""
    if session.new or session.dirty or session.deleted:
        await session.flush()


def refresh_loaded(
    session: AsyncSession, model: type[Any], rows: Iterable[Mapping[str, Any]]
) -> None:
    """After a `Statement` changed these rows of `model`, give the objects of them the session
    holds (loaded earlier in the transaction) their new values, as committed state: the ORM
    then neither reads stale values nor writes them back."""
    identities = session.sync_session.identity_map
    for row in rows:
        obj = identities.get(identity_key(model, row["id"]))
        if obj is not None:
            manager = attributes.manager_of_class(model)
            for name, value in row.items():
                if name in manager:
                    attributes.set_committed_value(obj, name, value)
