"""SQLite: the hot reads (`app.db.queries.Prepared`) on a connection of the stdlib driver,
called from the event loop."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from typing import Any

from sqlalchemy.engine import Dialect
from sqlalchemy.sql import Select

Processor = Callable[[Any], Any] | None


class SQLiteStatement:
    """A SELECT compiled once for SQLite, with the conversions SQLAlchemy would apply to its
    parameters (UUIDs, times) and to its columns (UUIDs, times, JSON)."""

    def __init__(self, stmt: Select[Any], dialect: Dialect) -> None:
        compiled = stmt.compile(dialect=dialect)
        self.sql = str(compiled)
        self.defaults = compiled.params
        self.parameters = [
            (name, compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect))
            for name in compiled.positiontup or []
        ]
        self.columns: list[Processor] = [
            column.type.dialect_impl(dialect).result_processor(dialect, None)
            for column in stmt.selected_columns
        ]

    def arguments(self, params: dict[str, Any]) -> list[Any]:
        values = []
        for name, process in self.parameters:
            value = params[name] if name in params else self.defaults[name]
            values.append(value if process is None or value is None else process(value))
        return values


class SQLiteReads:
    """One read-only connection of the stdlib `sqlite3` driver per event loop, used from
    the loop itself.

    aiosqlite, the engines' driver, runs every statement on a thread of its own: for a
    primary-key lookup or a page read through an index, which take SQLite microseconds,
    the hop to that thread and back costs several times the query. These reads are short by
    construction (one indexed query, one page), so they run on the loop; everything else
    reads through the engines. In WAL mode a reader never waits for the writer."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._connection: tuple[asyncio.AbstractEventLoop, sqlite3.Connection] | None = None

    def _connect(self) -> sqlite3.Connection:
        loop = asyncio.get_running_loop()
        if self._connection is not None and self._connection[0] is loop:
            return self._connection[1]
        self.close()
        # Used only from this loop's thread; the check would refuse a loop run elsewhere.
        try:
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA query_only=ON")
            conn.execute("PRAGMA busy_timeout=30000")
        except sqlite3.OperationalError as exc:  # answered 503, as the engines' errors are
            raise ConnectionError(f"cannot open the database: {exc}") from exc
        self._connection = (loop, conn)
        return conn

    def fetch(self, statement: SQLiteStatement, params: dict[str, Any]) -> list[dict[str, Any]]:
        cursor = self._connect().execute(statement.sql, statement.arguments(params))
        names = [d[0] for d in cursor.description]
        columns = statement.columns
        rows = []
        for raw in cursor.fetchall():
            rows.append(
                {
                    name: value if process is None or value is None else process(value)
                    for name, process, value in zip(names, columns, raw, strict=True)
                }
            )
        return rows

    def close(self) -> None:
        if self._connection is not None:
            self._connection[1].close()
            self._connection = None
