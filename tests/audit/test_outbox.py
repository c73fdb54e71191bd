"""Audit rows are queued as the ORM flushes and written with the events just before COMMIT:
none is lost to a flush that comes late, none survives the savepoint it was made in."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.engine import Database
from app.db.transaction import add_pre_commit_hook, transaction
from app.db.unit_of_work import unit_of_work
from app.events import service as events
from app.models import AuditEntry, Client
from tests.conftest import T0


async def _logged(db: Database, *clients: uuid.UUID) -> list[tuple[str, str, list[str]]]:
    async with db.reading() as session:
        rows = await session.execute(
            select(AuditEntry.object_id, AuditEntry.action, AuditEntry.fields)
            .where(AuditEntry.object_id.in_([str(c) for c in clients]))
            .order_by(AuditEntry.id)
        )
        return [(r.object_id, r.action, r.fields) for r in rows]


def _client(name: str) -> Client:
    return Client(name=name, created_at=T0, updated_at=T0)


async def test_a_change_made_after_the_outbox_ran_is_still_audited(db: Database) -> None:
    """A commit hook that changes an object after the events and audit rows went out: its
    change is flushed before COMMIT and its audit row written, not dropped."""
    async with transaction(db, now=T0, actor="key:test") as session:
        client = _client("Acme")
        session.add(client)
        await session.flush()  # queues the create, and the outbox that writes it
        events.record(session, "candidate.updated", {"candidate_id": str(uuid.uuid4())}, now=T0)

        async def rename(session: AsyncSession) -> None:
            client.name = "Acme Ltd"

        add_pre_commit_hook(session, rename)  # runs after the outbox
        assert unit_of_work(session).pre_commit[-1] is rename
    assert await _logged(db, client.id) == [
        (str(client.id), "create", ["auto_chase", "id", "name"]),
        (str(client.id), "update", ["name"]),
    ]


async def test_audit_rows_of_a_savepoint_rolled_back_are_dropped(db: Database) -> None:
    """As the bulk interview upsert undoes one failed item: its audit rows go with it, the
    others' stay."""
    async with transaction(db, now=T0, actor="key:test") as session:
        kept = _client("Kept")
        session.add(kept)
        await session.flush()
        work = unit_of_work(session)
        mark = work.mark()
        undone = _client("Undone")

        async def fail_in_a_savepoint() -> None:
            async with session.begin_nested():
                session.add(undone)
                await session.flush()
                assert len(work.audit) == 2
                raise RuntimeError("this item failed")

        with pytest.raises(RuntimeError):
            await fail_in_a_savepoint()
        work.rewind(mark)
    assert await _logged(db, kept.id, undone.id) == [
        (str(kept.id), "create", ["auto_chase", "id", "name"])
    ]


async def test_a_rolled_back_transaction_writes_no_audit_row(db: Database) -> None:
    client = _client("Gone")

    async def fail_after_a_flush() -> None:
        async with transaction(db, now=T0, actor="key:test") as session:
            session.add(client)
            await session.flush()
            raise RuntimeError("the request failed")

    with pytest.raises(RuntimeError):
        await fail_after_a_flush()
    assert await _logged(db, client.id) == []
