"""Stamps of the read models whose pages a process keeps (`app.db.page_cache`).

A transaction that changes a read model's table says so (`touch`); just before it commits it
gives that model a new stamp, a random number, in the same transaction (`commit` calls
`write_stamps` after everything else). A page kept in a process is answered again while its
model's stamp is still the one read before the page's rows were read:

- the rows of a change and its new stamp become visible together, at its commit;
- a page's rows are read after its stamp, so they are at least as new as the stamp says;
- a stamp is random, not counted, so a table emptied and written again (a restore, a wiped
  test database) cannot bring back an old stamp with other rows under it.

Every replica reads the stamp from the database, so a change made through any of them is seen
by the next page of all of them. A change made outside the service (a hand-written SQL fix)
must be followed by what rebuilds the model, which touches it. A model with no stamp row (the
migration that made the table writes its first; emptying the stamps' table removes it) has
its pages read afresh every time, until its next change.
"""

from __future__ import annotations

import functools
import secrets
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from sqlalchemy import BigInteger, String, bindparam, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base
from app.db.queries import Prepared, sql_text
from app.db.statements import Statement
from app.db.unit_of_work import unit_of_work

if TYPE_CHECKING:
    from app.db.engine import Database


class ReadModelStamp(Base):
    """The stamp of a read model's table (`app/db/stamps.py`)."""

    __tablename__ = "read_model_stamps"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    stamp: Mapped[int] = mapped_column(BigInteger)


_table = ReadModelStamp.__table__


def touch(session: AsyncSession, name: str) -> None:
    """This transaction changed the table of read model `name`: it gets a new stamp at commit."""
    unit_of_work(session).touched.add(name)


def _upsert(dialect_insert: Any) -> Statement:
    stmt = dialect_insert(_table).values(name=bindparam("name"), stamp=bindparam("stamp"))
    return Statement(
        stmt.on_conflict_do_update(index_elements=["name"], set_={"stamp": stmt.excluded.stamp})
    )


_WRITE = {"postgresql": _upsert(pg_insert), "sqlite": _upsert(sqlite_insert)}


async def write_stamps(session: AsyncSession, names: Iterable[str]) -> None:
    """New stamps for these models, in name order (two writers lock the rows in the same
    order). Called last before COMMIT, so a stamp's row is locked only until then."""
    write = _WRITE[session.get_bind().dialect.name]
    await write.executemany(
        session, [{"name": name, "stamp": secrets.randbits(62)} for name in sorted(names)]
    )


@functools.cache
def _read(name: str) -> Prepared:
    """The stamp's query, with the name written into the SQL: one prepared statement a model."""
    return Prepared(select(_table.c.stamp).where(_table.c.name == sql_text(name)))


async def read_stamp(db: Database, name: str) -> int | None:
    """The stamp of model `name` as committed now; None if it has none."""
    rows = await _read(name).rows(db)
    return int(rows[0]["stamp"]) if rows else None
