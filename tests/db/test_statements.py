"""Statements run on the transaction's own connection (app/db/statements.py) belong to that
transaction, convert their values as SQLAlchemy would, and fail as SQLAlchemy would."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.dialects.postgresql import asyncpg as asyncpg_dialect
from sqlalchemy.exc import IntegrityError, InterfaceError, SQLAlchemyError

from app.db.engine import Database
from app.db.statements import (
    SESSION_ROWS,
    SQLITE_ROWS_ON_LOOP,
    Statement,
    refresh_loaded,
    settle,
)
from app.db.transaction import transaction
from app.ids import uuid7
from app.models import AuditEntry, Client
from tests.conftest import asyncpg_dsn

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
_COLUMNS = ("id", "occurred_at", "actor", "action", "object_type", "object_id", "fields")
_INSERT = Statement(insert(AuditEntry).values({c: bindparam(c) for c in _COLUMNS}).inline())
_READ = Statement(
    select(AuditEntry.occurred_at, AuditEntry.fields).where(AuditEntry.id == bindparam("id"))
)


def _entry(**values: object) -> dict[str, object]:
    row: dict[str, object] = {
        "id": uuid7(),
        "occurred_at": NOW,
        "actor": "system",
        "action": "create",
        "object_type": "candidate",
        "object_id": "test",
        "fields": ["full_name", "phone"],
    }
    return row | values


async def _count(db: Database, object_id: str) -> int:
    async with db.reading() as conn:
        stmt = select(func.count()).where(AuditEntry.object_id == object_id)
        return int((await conn.execute(stmt)).scalar_one())


async def test_a_statement_first_in_its_transaction_is_undone_by_a_rollback(db: Database) -> None:
    """The driver's connection sends no BEGIN of its own; the statement must not run outside
    the transaction when nothing went through SQLAlchemy before it."""
    object_id = f"rolled-back-{uuid7()}"

    class Undo(Exception):
        pass

    async def write_then_fail() -> None:
        async with transaction(db, now=NOW) as session:
            await _INSERT.executemany(session, [_entry(object_id=object_id)])
            assert await _count(db, object_id) == 0  # not visible before commit either
            raise Undo

    with pytest.raises(Undo):
        await write_then_fail()
    assert await _count(db, object_id) == 0


async def test_rows_written_and_read_in_a_transaction_keep_their_values(db: Database) -> None:
    entry = _entry(object_id=f"kept-{uuid7()}", fields=["notes", "channel"])
    async with transaction(db, now=NOW) as session:
        await _INSERT.executemany(session, [entry, _entry(object_id=entry["object_id"])])
        (row,) = await _READ.fetch(session, id=entry["id"])
        assert row[0] == NOW
        assert row[0].tzinfo is not None
        assert row[1] == ["notes", "channel"]  # JSON in and out
    assert await _count(db, str(entry["object_id"])) == 2


async def test_a_duplicate_key_is_sqlalchemys_integrity_error(db: Database) -> None:
    """Answered 409 by the API, as a duplicate written through the session is."""
    entry = _entry(object_id=f"twice-{uuid7()}")

    async def write_twice() -> None:
        async with transaction(db, now=NOW) as session:
            await _INSERT.executemany(session, [entry])
            await _INSERT.executemany(session, [entry])

    with pytest.raises(IntegrityError):
        await write_twice()
    assert await _count(db, str(entry["object_id"])) == 0


async def test_a_naive_time_is_refused_as_the_column_type_refuses_it(db: Database) -> None:
    with pytest.raises((ValueError, SQLAlchemyError), match="naive"):
        async with transaction(db, now=NOW) as session:
            await _INSERT.executemany(session, [_entry(occurred_at=datetime(2026, 3, 2, 9))])


async def test_a_missing_parameter_is_an_error_not_a_null(db: Database) -> None:
    entry = _entry()
    del entry["actor"]
    with pytest.raises(SQLAlchemyError, match="value is required for bind parameter 'actor'"):
        async with transaction(db, now=NOW) as session:
            await _INSERT.executemany(session, [entry])


_CLIENT = Statement(select(Client.__table__).where(Client.id == bindparam("id")))
_RENAME = Statement(
    update(Client)
    .where(Client.id == bindparam("b_id"))
    .values(name=bindparam("b_name"), version=bindparam("b_version"))
)


async def _stored_client(db: Database) -> uuid.UUID:
    async with transaction(db, now=NOW) as session:
        client = Client(name="Acme", created_at=NOW, updated_at=NOW)
        session.add(client)
        await session.flush()
        return client.id


async def test_rows_read_as_dicts_keep_their_values(db: Database) -> None:
    entry = _entry(object_id=f"dicts-{uuid7()}", fields=["notes"])
    async with transaction(db, now=NOW) as session:
        await _INSERT.executemany(session, [entry])
        (row,) = await _READ.fetch_dicts(session, id=entry["id"])
    assert row == {"occurred_at": NOW, "fields": ["notes"]}
    assert row["occurred_at"].utcoffset() == timedelta(0)


async def test_a_statement_reads_what_the_orm_has_not_flushed_yet_once_settled(
    db: Database,
) -> None:
    client_id = await _stored_client(db)
    async with transaction(db, now=NOW) as session:
        client = await session.get(Client, client_id)
        assert client is not None
        client.name = "Acme Ltd"
        await settle(session)
        (row,) = await _CLIENT.fetch_dicts(session, id=client_id)
        assert (row["name"], row["version"]) == ("Acme Ltd", 2)


async def test_objects_loaded_before_a_statement_changed_their_rows_take_the_new_values(
    db: Database,
) -> None:
    """The ORM neither shows the old values nor, on its next flush, refuses the object as
    changed by someone else (its version) or writes the old values back."""
    client_id = await _stored_client(db)
    async with transaction(db, now=NOW) as session:
        client = await session.get(Client, client_id)
        assert client is not None
        row = {"id": client_id, "name": "Renamed", "version": client.version + 1}
        await _RENAME.executemany(session, [{f"b_{k}": v for k, v in row.items()}])
        refresh_loaded(session, Client, [row])
        assert (client.name, client.version) == ("Renamed", 2)
        assert client not in session.dirty
        client.contact_name = "Dana"
        await session.flush()
    async with transaction(db, now=NOW) as session:
        (stored,) = await _CLIENT.fetch_dicts(session, id=client_id)
    assert (stored["name"], stored["contact_name"], stored["version"]) == ("Renamed", "Dana", 3)


async def test_after_a_commit_statements_run_in_the_next_transaction(db: Database) -> None:
    """The driver connection a transaction's statements share is not used past its end: a
    statement after a commit runs in the session's next transaction, undone by its rollback."""
    kept, undone = f"kept-{uuid7()}", f"undone-{uuid7()}"

    class Undo(Exception):
        pass

    async def commit_then_fail() -> None:
        async with transaction(db, now=NOW) as session:
            await _INSERT.executemany(session, [_entry(object_id=kept)])
            await _INSERT.executemany(session, [_entry(object_id=kept)])  # on the held connection
            await session.commit()
            await _INSERT.executemany(session, [_entry(object_id=undone)])
            raise Undo

    with pytest.raises(Undo):
        await commit_then_fail()
    assert (await _count(db, kept), await _count(db, undone)) == (2, 0)


async def test_many_rows_belong_to_the_transaction_as_a_few_do(db: Database) -> None:
    """On SQLite more than SQLITE_ROWS_ON_LOOP rows go through the session (SESSION_ROWS at
    a time), fewer straight to the driver: all in the one transaction, all undone by its
    rollback."""
    few, many = f"few-{uuid7()}", f"many-{uuid7()}"
    count = SESSION_ROWS * 2 + SQLITE_ROWS_ON_LOOP + 8  # the last part, too, through the session
    batch = [_entry(object_id=many) for _ in range(count)]

    class Undo(Exception):
        pass

    async def write(fail: bool) -> None:
        async with transaction(db, now=NOW) as session:
            await _INSERT.executemany(session, [_entry(object_id=few)])
            await _INSERT.executemany(session, batch)
            await _INSERT.executemany(session, [_entry(object_id=few)])
            if fail:
                raise Undo

    with pytest.raises(Undo):
        await write(fail=True)
    assert (await _count(db, few), await _count(db, many)) == (0, 0)
    batch = [_entry(object_id=many) for _ in range(count)]
    await write(fail=False)
    assert (await _count(db, few), await _count(db, many)) == (2, count)


async def test_no_rows_read_as_dicts_is_an_empty_list(db: Database) -> None:
    async with transaction(db, now=NOW) as session:
        assert await _READ.fetch_dicts(session, id=uuid7()) == []  # first in its transaction
        assert await _READ.fetch_dicts(session, id=uuid7()) == []  # on the held connection


@pytest.mark.postgres
async def test_a_closed_driver_connection_is_sqlalchemys_interface_error(
    database_url: str,
) -> None:
    """Answered 503 as SQLAlchemy's own errors are (app/api/problems.py), not 500."""
    driver = await asyncpg.connect(asyncpg_dsn(database_url))
    await driver.close()
    compiled = _READ._for(asyncpg_dialect.dialect())
    with pytest.raises(InterfaceError):
        await compiled.pg_rows(driver, compiled.args({"id": uuid7()}))
    with pytest.raises(InterfaceError):
        await compiled.pg_many(driver, [compiled.args({"id": uuid7()})])
