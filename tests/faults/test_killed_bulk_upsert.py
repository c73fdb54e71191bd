"""A server killed (SIGKILL) in the middle of a bulk upsert: every batch is in the database
whole or not at all, each stored candidate has exactly one event and one audit entry, and
sending the lost batch again completes it."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
from fastapi import FastAPI
from sqlalchemy import func, select, text

from app.db.engine import Database
from app.models import AuditEntry, Candidate, Event
from tests.faults.server import Server, debrief
from tests.postgres import wait_until_running

BATCH = 1000


def batch(number: int) -> dict[str, object]:
    return {
        "items": [
            {
                "external_id": f"b{number}-{i}",
                "full_name": f"Person {number}-{i}",
                "email": f"p{number}.{i}@mail.co.uk",
            }
            for i in range(BATCH)
        ]
    }


async def stored_per_batch(db: Database, batches: int) -> list[int]:
    async with db.read_engine.connect() as conn:
        counts = []
        for number in range(batches):
            pattern = f"b{number}-%"
            stmt = select(func.count()).where(Candidate.external_id.like(pattern))
            counts.append((await conn.execute(stmt)).scalar_one())
        return counts


async def assert_consistent(db: Database) -> int:
    """Each candidate has one `candidate.created` event and one audit entry, and there is
    nothing else. Returns how many candidates there are."""
    async with db.read_engine.connect() as conn:
        candidates = (await conn.execute(select(func.count()).select_from(Candidate))).scalar()
        per_candidate = (
            await conn.execute(
                select(Event.candidate_id, func.count())
                .where(Event.type == "candidate.created")
                .group_by(Event.candidate_id)
            )
        ).all()
        audited = (
            await conn.execute(
                select(func.count(func.distinct(AuditEntry.object_id))).where(
                    AuditEntry.object_type == "candidate", AuditEntry.action == "create"
                )
            )
        ).scalar()
        audit_rows = (
            await conn.execute(
                select(func.count()).where(
                    AuditEntry.object_type == "candidate", AuditEntry.action == "create"
                )
            )
        ).scalar()
        orphans = (
            await conn.execute(
                select(func.count())
                .select_from(Event)
                .where(Event.type == "candidate.created")
                .where(~Event.candidate_id.in_(select(Candidate.id)))
            )
        ).scalar()
        if db.is_sqlite:
            assert (await conn.execute(text("PRAGMA integrity_check"))).scalar() == "ok"
    assert all(count == 1 for _, count in per_candidate)
    assert len(per_candidate) == candidates
    assert orphans == 0
    assert audited == audit_rows == candidates
    return int(candidates or 0)


async def test_a_server_killed_mid_bulk_upsert_leaves_whole_batches(
    api: FastAPI, database_url: str, tmp_path: Path
) -> None:
    db: Database = api.state.db
    key = debrief(
        "create-key", "--name", "faults", "--role", "integration", database_url=database_url
    )
    key = key.strip().splitlines()[-1]
    server = Server(database_url, tmp_path / "server.log").start()
    answered: dict[int, int] = {}
    lost: list[int] = []
    two_through = asyncio.Event()

    async def send_batches(client: httpx.AsyncClient) -> None:
        number = 0
        while True:
            try:
                response = await client.post("/v1/candidates/bulk", json=batch(number))
            except httpx.TransportError:
                lost.append(number)
                return
            answered[number] = response.status_code
            number += 1
            if number == 2:
                two_through.set()

    headers = {"Authorization": f"Bearer {key}"}
    try:
        async with httpx.AsyncClient(base_url=server.url, headers=headers, timeout=60) as client:
            sender = asyncio.create_task(send_batches(client))
            await asyncio.wait_for(two_through.wait(), 60)  # then one more is in flight
            if db.is_sqlite:
                await asyncio.sleep(0.15)
            else:
                await wait_until_running(db, "INSERT INTO candidates%")
            server.kill()
            await asyncio.wait_for(sender, 30)
    finally:
        server.kill()

    assert lost, "the batch in flight when the server died got no answer"
    assert set(answered.values()) == {200}
    in_flight = lost[0]
    counts = await stored_per_batch(db, in_flight + 1)
    assert counts[:in_flight] == [BATCH] * in_flight  # every answered batch is stored whole
    assert counts[in_flight] in (0, BATCH)  # the one in flight: whole or not at all
    assert await assert_consistent(db) == sum(counts)

    # The CRM did not get an answer, so it sends the batch again: an upsert, so no doubles.
    server = Server(database_url, tmp_path / "server.log").start()
    try:
        async with httpx.AsyncClient(base_url=server.url, headers=headers, timeout=60) as client:
            again = await client.post("/v1/candidates/bulk", json=batch(in_flight))
    finally:
        server.stop()
    assert again.status_code == 200, again.text
    assert await stored_per_batch(db, in_flight + 1) == [BATCH] * (in_flight + 1)
    assert await assert_consistent(db) == BATCH * (in_flight + 1)
