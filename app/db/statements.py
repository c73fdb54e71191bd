"""The write path's statements, built once and run in the session's own transaction.

Running a statement through SQLAlchemy costs the process 0.2-0.4 ms of CPU (building it,
its cache key, the execution context, the result); the same SQL on the driver costs about
0.06 ms (`bench/statements.py`). A write request runs ten or more of them, so the ones that
need nothing from the ORM are `Statement`s: the event and audit rows, the erased-candidate
check, whether an interview has a debrief.

On PostgreSQL a `Statement` is compiled once to SQL text with SQLAlchemy's conversions of
its parameters (a JSON column's serialiser, a TypeDecorator's checks) and run on the asyncpg
connection of the session's transaction, the one SQLAlchemy's own statements use: the same
transaction, locks and savepoints, and asyncpg keeps it prepared. The transaction's first
`Statement` finds that connection through SQLAlchemy (in its greenlet); the unit of work
keeps it, and the next ones are awaited on it directly, while that transaction lasts. Its
rows come back as asyncpg records (read by position or name). An integrity error is raised
as SQLAlchemy's `IntegrityError`, as it would be through the session (answered 409); any
other database error as asyncpg raised it (answered 503, or 422 for a value the database
refused).

On SQLite it runs through the session: the process's one write connection is already taken
in turn (`app.db.writer`), and its statements cost less.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, cast

import asyncpg
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.exc import IntegrityError, InvalidRequestError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, attributes
from sqlalchemy.orm.util import identity_key
from sqlalchemy.sql.base import Executable
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ClauseElement
from sqlalchemy.util import await_only

from app.db.unit_of_work import unit_of_work


class _Compiled:
    """A statement's SQL text for one dialect, its parameters in order and their conversions."""

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


def _driver(session: Session, connection: Connection) -> asyncpg.Connection:
    """The asyncpg connection under SQLAlchemy's, its transaction begun (SQLAlchemy's adapter
    sends BEGIN only before its own first statement), remembered for the transaction's next
    statements (`_held`). This reads the adapter's own attributes: `tests/db/test_statements.py`
    fails if a SQLAlchemy release changes them."""
    adapted: Any = connection.connection.dbapi_connection
    if adapted._transaction is None:
        await_only(adapted._start_transaction())
    driver = cast(asyncpg.Connection, adapted._connection)
    unit_of_work(session).driver = (session.get_transaction(), driver)
    return driver


def _held(session: AsyncSession) -> asyncpg.Connection | None:
    """The asyncpg connection a statement of this transaction already ran on: the next ones
    are awaited on it straight from the event loop, with no hop through SQLAlchemy's greenlet.
    Only while that transaction is the session's: after a commit or rollback, None."""
    work = unit_of_work(session)
    if work.driver is None:
        return None
    transaction, driver = work.driver
    current = session.sync_session.get_transaction()
    if transaction is current and current is not None and current.is_active:
        return cast(asyncpg.Connection, driver)
    work.driver = None
    return None


class Statement:
    """A Core statement (no ORM entities) built once with named parameters (`bindparam`),
    run in the session's transaction: see the module's docstring."""

    def __init__(self, stmt: Executable) -> None:
        self.stmt = stmt
        self._compiled: _Compiled | None = None

    def _for(self, dialect: Dialect) -> _Compiled:
        if self._compiled is None:
            self._compiled = _Compiled(cast(ClauseElement, self.stmt), dialect)
        return self._compiled

    async def fetch(self, session: AsyncSession, **params: Any) -> Sequence[Any]:
        """Run it once; its rows (by position, or by column name)."""
        driver = _held(session)
        if driver is None or self._compiled is None:
            return await session.run_sync(self.fetch_sync, params)
        args = self._compiled.args(params)
        try:
            return cast(Sequence[Any], await driver.fetch(self._compiled.sql, *args))
        except asyncpg.IntegrityConstraintViolationError as error:
            raise IntegrityError(self._compiled.sql, args, error) from error

    async def fetch_dicts(self, session: AsyncSession, **params: Any) -> list[dict[str, Any]]:
        """Run it once; its rows as dicts by column name (on both databases)."""
        rows = await self.fetch(session, **params)
        if rows and not isinstance(rows[0], asyncpg.Record):
            return [dict(row._mapping) for row in rows]  # SQLite: SQLAlchemy's own result
        # asyncpg's values are SQLAlchemy's on its connection: JSON decoded by the codecs
        # SQLAlchemy gives the driver, timestamps aware in UTC.
        return [dict(row) for row in rows]

    async def executemany(self, session: AsyncSession, rows: Iterable[Mapping[str, Any]]) -> None:
        """Run it once per row of parameters (one round trip on PostgreSQL)."""
        driver = _held(session)
        if driver is None or self._compiled is None:
            await session.run_sync(self.executemany_sync, list(rows))
            return
        batch = [self._compiled.args(row) for row in rows]
        if not batch:
            return
        try:
            await driver.executemany(self._compiled.sql, batch)
        except asyncpg.IntegrityConstraintViolationError as error:
            raise IntegrityError(self._compiled.sql, batch, error) from error

    def fetch_sync(self, session: Session, params: Mapping[str, Any]) -> Sequence[Any]:
        """`fetch` for code that holds the synchronous session (inside a flush)."""
        connection = session.connection()
        if connection.dialect.name != "postgresql":
            return connection.execute(self.stmt, dict(params)).all()
        compiled = self._for(connection.dialect)
        args = compiled.args(params)
        try:
            driver = _driver(session, connection)
            return cast(Sequence[Any], await_only(driver.fetch(compiled.sql, *args)))
        except asyncpg.IntegrityConstraintViolationError as error:
            raise IntegrityError(compiled.sql, args, error) from error

    def executemany_sync(self, session: Session, rows: Sequence[Mapping[str, Any]]) -> None:
        """`executemany` for code that holds the synchronous session (inside a flush)."""
        if not rows:
            return
        connection = session.connection()
        if connection.dialect.name != "postgresql":
            connection.execute(self.stmt, [dict(row) for row in rows])
            return
        compiled = self._for(connection.dialect)
        batch = [compiled.args(row) for row in rows]
        try:
            await_only(_driver(session, connection).executemany(compiled.sql, batch))
        except asyncpg.IntegrityConstraintViolationError as error:
            raise IntegrityError(compiled.sql, batch, error) from error


async def settle(session: AsyncSession) -> None:
    """Flush the ORM's pending changes, as the session does before its own statements
    (autoflush), so that a `Statement` reading after them sees them."""
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
