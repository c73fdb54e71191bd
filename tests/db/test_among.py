"""`among`: rows whose column is one of many values, as one array parameter on PostgreSQL."""

from __future__ import annotations

import uuid

import httpx
from sqlalchemy import select

from app.db.engine import Database
from app.db.queries import among, by_external_ids, ids_by_external_id
from app.db.transaction import transaction
from app.models import Candidate
from tests.conftest import T0
from tests.factories import create_candidate


async def test_rows_are_found_by_many_external_ids_and_only_by_whole_ones(
    db: Database, admin: httpx.AsyncClient
) -> None:
    """Each stored id is found among many unknown ones; an id longer than the column that
    starts with a stored one finds nothing (a cast to the column's length would cut it)."""
    longest = "x" * 99 + "1"  # the column holds 100 characters
    stored = [await create_candidate(admin, external_id=e) for e in (longest, "crm-among-2")]
    asked = [f"unknown-{n}" for n in range(1500)] + [longest, "crm-among-2", longest + "9"]
    async with transaction(db, now=T0) as session:
        found = await by_external_ids(session, Candidate, asked)
        ids = await ids_by_external_id(session, Candidate, [longest + "9", "crm-among-2"])
    assert {e: str(c.id) for e, c in found.items()} == {
        longest: stored[0]["id"],
        "crm-among-2": stored[1]["id"],
    }
    assert {e: str(i) for e, i in ids.items()} == {"crm-among-2": stored[1]["id"]}


async def test_rows_are_found_by_many_uuids(db: Database, admin: httpx.AsyncClient) -> None:
    """UUIDs are matched in the form the column stores them (on SQLite, 32 hex digits)."""
    stored = [await create_candidate(admin, external_id=f"crm-among-uuid-{n}") for n in range(2)]
    asked = [uuid.uuid4() for _ in range(1200)] + [uuid.UUID(c["id"]) for c in stored]
    async with transaction(db, now=T0) as session:
        rows = await session.execute(
            select(Candidate.external_id).where(among(session, Candidate.id, asked))
        )
        found = sorted(rows.scalars())
        none = await session.execute(select(Candidate.id).where(among(session, Candidate.id, [])))
    assert found == ["crm-among-uuid-0", "crm-among-uuid-1"]
    assert none.all() == []


async def test_a_value_with_a_nul_matches_nothing(db: Database, admin: httpx.AsyncClient) -> None:
    """No stored text holds a NUL: "crm-nul\x00x" finds nothing (SQLite's JSON functions would
    read it as "crm-nul"; PostgreSQL would refuse the statement). No request can send a NUL;
    this guards the lookup itself."""
    await create_candidate(admin, external_id="crm-nul")
    async with transaction(db, now=T0) as session:
        found = await by_external_ids(session, Candidate, ["crm-nul\x00x", "other"])
        exact = await ids_by_external_id(session, Candidate, ["crm-nul", "crm-nul\x00x"])
    assert found == {}
    assert list(exact) == ["crm-nul"]


async def test_other_columns_are_matched_as_a_plain_list(
    db: Database, admin: httpx.AsyncClient
) -> None:
    """A column that is neither text nor a UUID (here a time) is compared as its type
    stores it, on both databases."""
    stored = await create_candidate(admin, external_id="crm-among-time")
    async with transaction(db, now=T0) as session:
        created = (
            await session.execute(
                select(Candidate.created_at).where(Candidate.id == uuid.UUID(stored["id"]))
            )
        ).scalar_one()
        rows = await session.execute(
            select(Candidate.external_id).where(
                among(session, Candidate.created_at, [created, T0.replace(year=2001)])
            )
        )
        found = list(rows.scalars())
    assert "crm-among-time" in found
