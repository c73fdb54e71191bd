"""Migrations on a database that already holds an agency's data."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from app.api import idempotency
from app.auth.keys import hash_key
from app.db.columns import UTCDateTime
from app.db.engine import Database
from app.db.migrations import alembic_config, upgrade
from app.main import create_app
from app.models import IdempotencyRecord
from app.sweep import jobs
from tests.conftest import make_settings, new_postgres_database, on_postgres
from tests.followups.seed import seed_past_due_steps
from tests.queue_check import joined_rows, queue_rows
from tests.test_conventions import assert_problem


async def downgrade(database_url: str, revision: str) -> None:
    def run(connection: object) -> None:
        config = alembic_config(database_url)
        config.attributes["connection"] = connection
        command.downgrade(config, revision)

    engine = create_async_engine(database_url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(run)
    finally:
        await engine.dispose()


@pytest.fixture
async def scratch_url(database_url: str, tmp_path: Path) -> AsyncIterator[str]:
    """An empty database of the suite's kind, dropped afterwards."""
    if not on_postgres():
        yield f"sqlite+aiosqlite:///{tmp_path / 'scratch.db'}"
        return
    async with new_postgres_database(database_url, "debrief_scratch") as url:
        yield url


async def test_the_queue_table_is_filled_from_the_overdue_calls_already_there(
    scratch_url: str,
) -> None:
    """0007 fills the table and its triggers keep it; 0010 drops them (the application
    writes the rows) and writes every row again; its downgrade brings the triggers back."""
    await upgrade(scratch_url)
    db = Database(scratch_url)
    try:
        now = datetime.now(UTC)
        await seed_past_due_steps(db, count=30, now=now)
        assert (await jobs.sweep(db, lambda: now)).overdue == 30
        assert len(await joined_rows(db)) == 30
        assert await queue_rows(db) == await joined_rows(db)
        await db.dispose()
        await downgrade(scratch_url, "0009")
        db = Database(scratch_url)
        # 0007's triggers are back: a rename in SQL reaches the queue.
        await _rename_all(db, "Renamed")
        assert {row[4] for row in await queue_rows(db)} == {"Renamed"}
        assert await queue_rows(db) == await joined_rows(db)
        await db.dispose()
        await downgrade(scratch_url, "0006")
        await upgrade(scratch_url)
        db = Database(scratch_url)
        assert await queue_rows(db) == await joined_rows(db)
        # No trigger any more: only the application writes the rows.
        await _rename_all(db, "Changed In SQL")
        assert {row[4] for row in await queue_rows(db)} == {"Renamed"}
    finally:
        await db.dispose()


async def _rename_all(db: Database, name: str) -> None:
    async with db.engine.begin() as conn:
        await conn.execute(text("UPDATE candidates SET full_name = :name"), {"name": name})


async def test_answers_stored_before_0008_keep_their_sender_but_not_their_body(
    scratch_url: str,
) -> None:
    """A stored answer from before 0008 may hold a secret and names no subject: the upgrade
    keeps only that the request was answered (a retry is told so rather than redone), for the
    key whose hash was its scope; rows of no key are dropped."""
    await upgrade(scratch_url, "0007")
    secret = "dbr_" + "s" * 43
    key_id, created = uuid.uuid4(), datetime.now(UTC) - timedelta(hours=1)
    api_keys = sa.table(
        "api_keys",
        *(sa.column(c) for c in ("name", "role", "prefix", "key_hash")),
        sa.column("id", sa.Uuid()),
        sa.column("created_at", UTCDateTime()),
    )
    answers = sa.table(
        "idempotency_keys",
        *(sa.column(c) for c in ("scope", "key", "request_hash", "status_code", "body")),
        sa.column("id", sa.Uuid()),
        sa.column("headers", sa.JSON()),
        sa.column("created_at", UTCDateTime()),
    )
    body = b'{"name":"CRM","role":"integration"}'
    leaked = '{"key":"dbr_LEAKEDLEAKEDLEAKED"}'
    engine = create_async_engine(scratch_url)
    async with engine.begin() as conn:
        await conn.execute(
            sa.insert(api_keys).values(
                id=key_id,
                name="admin",
                role="admin",
                prefix=secret[:12],
                key_hash=hash_key(secret),
                created_at=created,
            )
        )
        for scope, key in ((hash_key(secret), "make-key"), ("0" * 64, "orphan")):
            await conn.execute(
                sa.insert(answers).values(
                    id=uuid.uuid4(),
                    scope=scope,
                    key=key,
                    request_hash=idempotency.fingerprint("POST", "/v1/api-keys", b"", body),
                    status_code=201,
                    headers={"location": "/v1/api-keys/x", "content-type": "application/json"},
                    body=leaked,
                    created_at=created,
                )
            )
    await engine.dispose()

    await upgrade(scratch_url)
    db = Database(scratch_url)
    try:
        async with db.read_engine.connect() as conn:
            rows = (await conn.execute(sa.select(IdempotencyRecord))).all()
        assert [(r.key_id, r.key, r.body) for r in rows] == [(key_id, "make-key", None)]
    finally:
        await db.dispose()

    app = create_app(make_settings(scratch_url))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http,
    ):
        retry = await http.post(
            "/v1/api-keys",
            content=body,
            headers={
                "Authorization": f"Bearer {secret}",
                "Idempotency-Key": "make-key",
                "Content-Type": "application/json",
            },
        )
    problem = assert_problem(retry, 409)
    assert problem["type"].endswith("/idempotency-not-replayable")
    assert "LEAKED" not in retry.text
