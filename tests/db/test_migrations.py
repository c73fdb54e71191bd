"""Migrations on a database that already holds an agency's data."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from app.api import idempotency
from app.auth.keys import hash_key
from app.db.columns import UTCDateTime
from app.db.engine import Database
from app.db.migrations import alembic_config, upgrade
from app.db.sealed import Sealer
from app.followups.service import read_policy
from app.main import create_app
from app.models import (
    Debrief,
    DebriefQueueEntry,
    FollowUp,
    IdempotencyRecord,
    Interview,
    Setting,
)
from app.sweep import jobs
from tests.conftest import make_settings, new_postgres_database, on_postgres
from tests.followups.seed import seed_past_due_follow_ups
from tests.queue_check import joined_rows, queue_rows
from tests.reports.seed import Agency
from tests.test_conventions import assert_problem


async def downgrade(database_url: str, revision: str, *, sealer: Sealer | None = None) -> None:
    def run(connection: object) -> None:
        config = alembic_config(database_url)
        config.attributes["connection"] = connection
        if sealer is not None:
            config.attributes["sealer"] = sealer
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
    """0007 fills the table and its triggers keep it; 0017 drops them (the application
    writes the rows) and writes every row again; its downgrade brings the triggers back.
    0022 adds the reminder columns, filled from the follow-ups."""
    await upgrade(scratch_url)
    db = Database(scratch_url)
    try:
        now = datetime.now(UTC)
        await seed_past_due_follow_ups(db, count=30, now=now)
        assert (await jobs.sweep(db, lambda: now)).overdue == 30
        assert len(await joined_rows(db)) == 30
        assert await queue_rows(db) == await joined_rows(db)
        await db.dispose()
        await downgrade(scratch_url, "0016")
        db = Database(scratch_url)
        # 0007's triggers are back: a rename in SQL reaches the queue.
        await _rename_all(db, "Renamed")
        assert {row.full_name for row in await _rows_before_0022(db)} == {"Renamed"}
        assert await _rows_before_0022(db) == [_before_0022(r) for r in await joined_rows(db)]
        await db.dispose()
        await downgrade(scratch_url, "0006")
        await upgrade(scratch_url, "0021")
        db = Database(scratch_url)
        assert await _rows_before_0022(db) == [_before_0022(r) for r in await joined_rows(db)]
        await db.dispose()
        await upgrade(scratch_url)  # 0022 fills the reminder columns from the follow-ups
        db = Database(scratch_url)
        assert await queue_rows(db) == await joined_rows(db)
        # No trigger any more: only the application writes the rows.
        await _rename_all(db, "Changed In SQL")
        assert {row[6] for row in await queue_rows(db)} == {"Renamed"}
    finally:
        await db.dispose()


_NEW_IN_0022 = ("max_reminders", "next_notice_at")
_COLUMNS_BEFORE_0022 = [c for c in DebriefQueueEntry.__table__.c if c.name not in _NEW_IN_0022]


async def _rows_before_0022(db: Database) -> list[Any]:
    """The queue's rows in the columns it had before 0022."""
    async with db.read_engine.connect() as conn:
        stmt = sa.select(*_COLUMNS_BEFORE_0022).order_by(_COLUMNS_BEFORE_0022[0])
        return list(await conn.execute(stmt))


def _before_0022(row: tuple[Any, ...]) -> tuple[Any, ...]:
    """A live-join row (`joined_rows`) without the columns 0022 added."""
    return row[:3] + row[5:]


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


async def test_debriefs_stored_before_0014_were_called_when_they_were_received(
    scratch_url: str,
) -> None:
    """0014 adds `called_at`: a debrief already stored took its call when it was received
    (the time its follow-up was judged by until then); a round trip down and up keeps that."""
    before = ScriptDirectory.from_config(alembic_config(scratch_url)).get_revision("0014")
    assert isinstance(before.down_revision, str)
    await upgrade(scratch_url, before.down_revision)
    agency = Agency()
    interview = agency.interview(
        agency.candidate(), agency.client("Acme"), ends_at=datetime(2026, 2, 2, 11, tzinfo=UTC)
    )
    agency.debrief(interview, after=timedelta(hours=3))
    del agency.debriefs[0]["called_at"]  # not a column yet
    db = Database(scratch_url)
    try:
        await agency.save(db, rebuild_queue=False)  # 0007's triggers keep the queue here
    finally:
        await db.dispose()
    for _ in range(2):
        await upgrade(scratch_url)
        db = Database(scratch_url)
        try:
            async with db.read_engine.connect() as conn:
                stored = sa.select(Debrief.received_at, Debrief.called_at)
                times = (await conn.execute(stored)).all()
        finally:
            await db.dispose()
        assert times == [(datetime(2026, 2, 2, 14, tzinfo=UTC),) * 2]
        await downgrade(scratch_url, before.down_revision)


async def test_interviews_from_before_0011_stay_tracked(scratch_url: str) -> None:
    """The tracking decision came with 0011: an interview already stored keeps today's
    behaviour, and the sweep opens its follow-ups once it has ended, whatever its age."""
    await upgrade(scratch_url, "0009")
    now = datetime.now(UTC)
    ended = now - timedelta(days=60)
    person, employer, interview = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    stamps = {"created_at": ended, "updated_at": ended, "version": 1}

    def times() -> tuple[sa.ColumnClause[Any], ...]:
        return tuple(sa.column(c, UTCDateTime()) for c in ("created_at", "updated_at"))

    candidates = sa.table(
        "candidates",
        sa.column("id", sa.Uuid()),
        *(sa.column(c) for c in ("full_name", "status", "job_search_active", "version")),
        *times(),
    )
    clients = sa.table(
        "clients", sa.column("id", sa.Uuid()), sa.column("name"), sa.column("version"), *times()
    )
    interviews = sa.table(
        "interviews",
        *(sa.column(c, sa.Uuid()) for c in ("id", "candidate_id", "client_id")),
        *(sa.column(c) for c in ("job_title", "stage", "format", "duration_minutes")),
        *(sa.column(c) for c in ("status", "outcome", "version")),
        sa.column("interviewers", sa.JSON()),
        *(sa.column(c, UTCDateTime()) for c in ("starts_at", "ends_at")),
        *times(),
    )
    engine = create_async_engine(scratch_url)
    async with engine.begin() as conn:
        await conn.execute(
            sa.insert(candidates).values(
                id=person,
                full_name="Amira Okafor",
                status="active",
                job_search_active=True,
                **stamps,
            )
        )
        await conn.execute(sa.insert(clients).values(id=employer, name="Acme Ltd", **stamps))
        await conn.execute(
            sa.insert(interviews).values(
                id=interview,
                candidate_id=person,
                client_id=employer,
                job_title="Controller",
                stage="first",
                format="video",
                duration_minutes=60,
                status="scheduled",
                outcome="pending",
                interviewers=[],
                starts_at=ended - timedelta(hours=1),
                ends_at=ended,
                **stamps,
            )
        )
    await engine.dispose()

    await upgrade(scratch_url)
    db = Database(scratch_url)
    try:
        assert (await jobs.sweep(db, lambda: now)).opened == 1
        async with db.read_engine.connect() as conn:
            tracked = (
                await conn.execute(
                    sa.select(Interview.follow_ups_tracked).where(Interview.id == interview)
                )
            ).scalar_one()
            kinds = (
                await conn.execute(
                    sa.select(FollowUp.kind).where(FollowUp.interview_id == interview)
                )
            ).scalars()
            assert (tracked, sorted(kinds)) == (
                True,
                ["debrief_call", "employer_follow_up", "thank_you_note"],
            )
    finally:
        await db.dispose()


async def test_reminder_intervals_become_working_days_and_come_back(scratch_url: str) -> None:
    """0012: follow-ups and the stored policy go from hours to working days (rounded up), and back
    on downgrade, which also drops what the older schema has no place for."""
    await upgrade(scratch_url)
    db = Database(scratch_url)
    follow_ups = sa.table(
        "follow_ups",
        sa.column("id", sa.Uuid()),
        sa.column("kind"),
        sa.column("reminder_interval_days"),
        sa.column("reminder_interval_seconds"),
    )
    try:
        await seed_past_due_follow_ups(db, count=3, now=datetime.now(UTC))
        async with db.engine.begin() as conn:
            first = (
                await conn.execute(sa.select(follow_ups.c.id).order_by(follow_ups.c.id))
            ).scalar()
            await conn.execute(
                sa.update(follow_ups).where(follow_ups.c.id == first).values(kind="candidate_call")
            )
            await conn.execute(
                sa.insert(Setting).values(
                    key="follow_up_policy",
                    value={"max_reminders": 1, "reminder_interval_working_days": 3},
                    version=1,
                    updated_at=datetime.now(UTC),
                )
            )
    finally:
        await db.dispose()

    await downgrade(scratch_url, "0011")
    engine = create_async_engine(scratch_url)
    async with engine.begin() as conn:
        kept = (
            await conn.execute(sa.select(follow_ups.c.kind, follow_ups.c.reminder_interval_seconds))
        ).all()
        assert sorted(kept) == [("debrief_call", 2 * 86400)] * 2
        policy = (await conn.execute(sa.select(Setting.value))).scalar_one()
        assert policy == {"max_reminders": 1, "reminder_interval_hours": 72}
        # A follow-up opened with 36 hours, and a policy of 36 hours, before the upgrade.
        await conn.execute(sa.update(follow_ups).values(reminder_interval_seconds=36 * 3600))
        await conn.execute(
            sa.update(Setting).values(value={"max_reminders": 1, "reminder_interval_hours": 36})
        )
    await engine.dispose()

    await upgrade(scratch_url)
    db = Database(scratch_url)
    try:
        async with db.read_engine.connect() as conn:
            intervals = (
                await conn.execute(sa.select(follow_ups.c.reminder_interval_days))
            ).scalars()
            assert list(intervals) == [2, 2]
            policy = (await conn.execute(sa.select(Setting.value))).scalar_one()
        assert policy == {"max_reminders": 1, "reminder_interval_working_days": 2}
        loaded, _, _ = await read_policy(db)
        assert (loaded.reminder_interval_working_days, loaded.max_reminders) == (2, 1)
    finally:
        await db.dispose()
