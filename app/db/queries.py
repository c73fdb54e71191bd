"""Query helpers every domain repository shares: one-row reads, keyset pages, 404s."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, TypeVar, cast

from sqlalchemy import (
    ColumnElement,
    Select,
    String,
    Uuid,
    any_,
    bindparam,
    func,
    literal_column,
    select,
    tuple_,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from app.db.engine import Database
from app.db.sqlite_reads import SQLiteStatement
from app.errors import NotFound

M = TypeVar("M")
R = TypeVar("R")


class Row(Protocol):
    """A result row read by column name (a RowMapping, or an asyncpg record)."""

    def __getitem__(self, key: str) -> Any: ...

    def keys(self) -> Iterable[str]: ...


# A SELECT of any columns.
AnySelect = Select[*tuple[Any, ...]]


def where_equal(stmt: AnySelect, *pairs: tuple[Any, Any]) -> AnySelect:
    """Add `column = value` for every pair whose value was given (filters left out are None)."""
    for column, value in pairs:
        if value is not None:
            stmt = stmt.where(column == value)
    return stmt


async def read_one(db: Database, stmt: AnySelect) -> RowMapping | None:
    """One row through the autocommit read engine: a single round trip."""
    async with db.reading() as conn:
        result = await conn.execute(stmt)
        row: RowMapping | None = result.mappings().first()
        return row


async def read_all(db: Database, stmt: AnySelect) -> list[RowMapping]:
    async with db.reading() as conn:
        result = await conn.execute(stmt)
        return list(result.mappings().all())


class _text_on_postgres(FunctionElement[Any]):
    """A column of a `Prepared` page that PostgreSQL writes as text (`CAST(… AS TEXT)`), for
    the page to write out as it comes; elsewhere the column itself. Its `type` says how
    SQLite's value is read."""

    inherit_cache = True


@compiles(_text_on_postgres)
def _the_column(element: _text_on_postgres, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(element.clauses, **kw)


@compiles(_text_on_postgres, "postgresql")
def _as_text(element: _text_on_postgres, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST({compiler.process(element.clauses, **kw)} AS TEXT)"


class uuid_text(_text_on_postgres):
    """A UUID column read as text on PostgreSQL: the server writes the 36 characters, which
    costs less than turning hundreds of UUID objects a page into strings in Python. SQLite
    gives `uuid.UUID`s through SQLAlchemy, which orjson writes in the same 36 characters."""

    type = Uuid()
    inherit_cache = True


class json_text(_text_on_postgres):
    """A JSON column read as its text, for a page that writes it out as it is
    (`orjson.Fragment`) instead of decoding and encoding it again: PostgreSQL writes a `jsonb`
    value as text (with a space after each `:` and `,`); SQLite gives the text stored."""

    type = String()
    inherit_cache = True


def sql_text(value: str) -> ColumnElement[str]:
    """A string constant written into the SQL text instead of bound as a parameter. For a
    prepared statement on PostgreSQL, a cached generic plan with `status = $1` cannot use a
    partial index of `status = 'overdue'`; on SQLite, the candidate read's correlated subquery
    ran four times slower with its status bound (34 against 8 µs)."""
    if "'" in value:
        raise ValueError("a constant with a quote is bound, not written into the SQL")
    return literal_column(f"'{value}'")


class Prepared:
    """A SELECT built once and run many times with named parameters (`bindparam`): the hot
    reads. Building a statement costs more than running it on a warm connection.

    On PostgreSQL it is compiled once to SQL text and run on a connection of asyncpg's own
    pool (`Database.hot_pool`; asyncpg keeps the statement prepared), with no SQLAlchemy
    connection handling or result processing. That is safe because the columns read this
    way need none (UUIDs, text, numbers, `timestamptz` which asyncpg returns in UTC, and
    JSON, decoded as SQLAlchemy's engines decode it). On SQLite it is compiled once with
    SQLAlchemy's conversions of its parameters and columns (`SQLiteStatement`) and run on the
    stdlib driver from the event loop (`Database.sqlite_reads`).
    """

    def __init__(self, stmt: AnySelect) -> None:
        self.stmt = stmt
        self._postgres: tuple[str, list[str], dict[str, Any]] | None = None
        self._sqlite: SQLiteStatement | None = None
        self._pages: dict[int, Prepared] = {}

    def limited(self, rows: int) -> Prepared:
        """This query with `LIMIT <rows>` written into its SQL, built once per page size.

        A page query must not take its size as a parameter: for `LIMIT $1` PostgreSQL
        prices its cached generic plan as if a tenth of the table were read, never picks it,
        and plans the statement afresh on every call (for the queue's four-table join the
        planning cost more than the query). Page sizes are few (1 to 201)."""
        page = self._pages.get(rows)
        if page is None:
            page = self._pages[rows] = Prepared(self.stmt.limit(literal_column(str(int(rows)))))
        return page

    def _compiled(self, dialect: Any) -> tuple[str, list[str], dict[str, Any]]:
        if self._postgres is None:
            compiled = self.stmt.compile(dialect=dialect)
            names = list(compiled.positiontup or [])
            self._postgres = (str(compiled), names, compiled.params)
        return self._postgres

    async def all(self, db: Database, **params: Any) -> list[Mapping[str, Any]]:
        if db.sqlite_reads is not None:  # dicts already
            return list(cast(Sequence[Mapping[str, Any]], await self.rows(db, **params)))
        return [dict(row) for row in await self.rows(db, **params)]

    async def rows(self, db: Database, **params: Any) -> Sequence[Row]:
        """The rows as the driver gives them (asyncpg records on PostgreSQL), each read by
        column name: for a page that is turned into JSON at once, with no dict per row."""
        if db.sqlite_reads is not None:
            if self._sqlite is None:
                self._sqlite = SQLiteStatement(self.stmt, db.read_engine.dialect)
            return db.sqlite_reads.fetch(self._sqlite, params)
        if db.hot_pool is None:
            async with db.reading() as conn:
                result = await conn.execute(self.stmt, params)
                return cast(Sequence[Row], result.mappings().all())
        sql, names, defaults = self._compiled(db.read_engine.dialect)
        args = [params[n] if n in params else defaults[n] for n in names]
        return cast(Sequence[Row], await db.hot_pool.fetch(sql, args))

    async def one(self, db: Database, **params: Any) -> Mapping[str, Any] | None:
        rows = await self.all(db, **params)
        return rows[0] if rows else None


async def read_page(
    db: Database,
    stmt: AnySelect,
    *,
    key: InstrumentedAttribute[uuid.UUID],
    limit: int,
    cursor: uuid.UUID | None,
) -> tuple[list[RowMapping], str | None]:
    """A keyset page ordered by `key` (time-ordered ids): stable while rows are added."""
    if cursor is not None:
        stmt = stmt.where(key > cursor)
    rows = await read_all(db, stmt.order_by(key).limit(limit + 1))
    if len(rows) > limit:
        rows = rows[:limit]
        return rows, str(rows[-1][key.key])
    return rows, None


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def time_cursor(moment: datetime, ident: uuid.UUID | str) -> str:
    """Where a page ordered by a time, then an id, ends: `<microseconds since 1970>_<id>`."""
    return f"{(moment - _EPOCH) // _MICROSECOND}_{ident}"


def parse_time_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    micros, ident = cursor.split("_", 1)
    return _EPOCH + int(micros) * _MICROSECOND, uuid.UUID(ident)


async def read_page_by_time(
    db: Database,
    stmt: AnySelect,
    *,
    at: ColumnElement[datetime],
    at_key: str,
    tiebreak: ColumnElement[uuid.UUID],
    tiebreak_key: str,
    limit: int,
    cursor: str | None,
) -> tuple[list[RowMapping], str | None]:
    """A keyset page ordered by a time, then an id (e.g. most overdue first)."""
    if cursor:
        stmt = stmt.where(tuple_(at, tiebreak) > tuple_(*parse_time_cursor(cursor)))
    rows = await read_all(db, stmt.order_by(at, tiebreak).limit(limit + 1))
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        return rows, time_cursor(last[at_key], last[tiebreak_key])
    return rows, None


async def get_for_update(
    session: AsyncSession, model: type[M], object_id: uuid.UUID, label: str
) -> M:
    """Load an object in the write transaction, locked until it ends (`FOR NO KEY UPDATE` on
    PostgreSQL; SQLite's write lock already covers it), or 404. Two requests creating the
    same thing under it (two first debriefs of one interview) then run one after the other
    instead of both inserting. The lock is the one an UPDATE takes: it lets another
    transaction insert rows that refer to the object meanwhile (a foreign key's check), so
    one holding a follow-up it re-dated, which this one waits for to write the follow-up's queue row
    (app/debrief_queue), can still open a follow-up of the same candidate."""
    result = await session.execute(_locked_by_id(model), {"object_id": object_id})
    row: M | None = result.scalar_one_or_none()
    return found(row, label, object_id)


_LOCKED_BY_ID: dict[type[Any], Select[Any]] = {}


def _locked_by_id(model: type[Any]) -> Select[Any]:
    """`get_for_update`'s statement for `model`, built once: it runs at the start of most
    writes, and `session.get` builds its SELECT anew each time."""
    stmt = _LOCKED_BY_ID.get(model)
    if stmt is None:
        stmt = select(model).where(model.id == bindparam("object_id"))
        stmt = _LOCKED_BY_ID[model] = stmt.with_for_update(key_share=True)
    return stmt


def found(row: R | None, label: str, object_id: object) -> R:
    """`row`, or 404 if there is none: "There is no <label> with id <object_id>."."""
    if row is None:
        raise NotFound.of(label, object_id)
    return row


async def external_id_taken(
    session: AsyncSession, model: Any, external_id: str, *, excluding: uuid.UUID | None = None
) -> bool:
    stmt = select(model.id).where(model.external_id == external_id)
    if excluding is not None:
        stmt = stmt.where(model.id != excluding)
    return (await session.execute(stmt.limit(1))).first() is not None


def among(session: AsyncSession, column: Any, values: list[Any]) -> ColumnElement[bool]:
    """`column IN (values)`, with the values sent as one parameter: an `IN` list is rendered
    afresh for each call, a placeholder (and on PostgreSQL a cast) a value, which for a bulk
    call's 1,000 ids held the event loop for 3 to 7 milliseconds (app/db/slices.py).

    On PostgreSQL it is `column = ANY(:array)`; on SQLite, for a text or UUID column,
    `column IN (SELECT value FROM json_each(:array))`, the values as one JSON array in the
    form the column stores them (SQLite still looks each up in the column's index)."""
    # No stored text holds a NUL (PostgreSQL cannot store one, and no request may send one):
    # such a value matches nothing. Left in, PostgreSQL would refuse the statement, and
    # SQLite's JSON functions would end it at the NUL ("a\x00b" matching "a").
    values = [v for v in values if not (isinstance(v, str) and "\x00" in v)]
    dialect = session.get_bind().dialect
    if dialect.name == "postgresql":
        # Without the column's length: a cast to `varchar(n)[]` would cut longer values short.
        element = String() if isinstance(column.type, String) else column.type
        array = bindparam(None, values, ARRAY(element))
        return cast(ColumnElement[bool], column == any_(array))
    if not isinstance(column.type, (String, Uuid)):
        # Only text is compared as the JSON gives it: a number, a date or bytes would need
        # the column's affinity, which `json_each`'s values do not get.
        return cast(ColumnElement[bool], column.in_(values))
    stored = column.type.dialect_impl(dialect).bind_processor(dialect)  # UUIDs: 32 hex digits
    document = json.dumps([stored(v) for v in values] if stored else values)
    listed = func.json_each(bindparam(None, document, String())).table_valued("value")
    return cast(ColumnElement[bool], column.in_(select(listed.c.value)))


async def by_external_ids(
    session: AsyncSession, model: Any, external_ids: list[str]
) -> dict[str, Any]:
    """Objects of `model` with these external ids, loaded for change."""
    if not external_ids:
        return {}
    stmt = select(model).where(among(session, model.external_id, external_ids))
    result = await session.execute(stmt)
    return {row.external_id: row for row in result.scalars()}


async def ids_by_external_id(
    session: AsyncSession, model: Any, external_ids: list[str]
) -> dict[str, uuid.UUID]:
    if not external_ids:
        return {}
    stmt = select(model.external_id, model.id).where(
        among(session, model.external_id, external_ids)
    )
    return {
        external_id: object_id for external_id, object_id in (await session.execute(stmt)).all()
    }
