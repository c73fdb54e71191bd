"""Shared by the benchmarks: a scratch PostgreSQL database, fast seeding, timing."""

from __future__ import annotations

import os
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
from fastapi import FastAPI

from app.auth.service import issue_key
from app.clock import FrozenClock
from app.config import Settings
from app.db.migrations import upgrade
from app.db.transaction import transaction
from app.ids import uuid7
from app.main import create_app

# The benchmarks' own DEBRIEF_SECRET_KEY: a fixed value, so scratch databases kept between
# runs stay readable; never used outside a benchmark's scratch database.
SECRET_KEY = "bench-only-secret-key-for-scratch-databases"
SERVER_URL = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def database_url(name: str) -> str:
    return f"{SERVER_URL.rsplit('/', 1)[0]}/{name}"


async def fresh_database(name: str) -> str:
    """Drop and create `name`, apply migrations; returns its asyncpg-style URL."""
    admin = await asyncpg.connect(SERVER_URL)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    url = database_url(name)
    await upgrade(url.replace("postgresql://", "postgresql+asyncpg://", 1))
    return url


async def drop_database(name: str) -> None:
    admin = await asyncpg.connect(SERVER_URL)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


async def timed(work: Callable[[], Awaitable[Any]]) -> float:
    started = time.perf_counter()
    await work()
    return (time.perf_counter() - started) * 1000


async def app_client(
    database_url: str,
    now: datetime,
    staff_id: uuid.UUID | None = None,
    prepare: Callable[[FastAPI], None] | None = None,
) -> tuple[httpx.AsyncClient, AbstractAsyncContextManager[Any]]:
    """The app in process (ASGI, no network), its clock frozen at `now`, no scheduler or
    webhook delivery, and a client holding a key: a recruiter's of `staff_id`, else an
    admin's. `prepare` is given the app before it starts (to add a route). The caller leaves
    the lifespan (`__aexit__`) and closes the client."""
    settings = Settings(
        database_url=database_url,
        scheduler_enabled=False,
        webhook_delivery_enabled=False,
        log_level="WARNING",
        secret_key=SECRET_KEY,
    )
    app = create_app(settings, clock=FrozenClock(now))
    if prepare is not None:
        prepare(app)
    lifespan = app.router.lifespan_context(app)
    await lifespan.__aenter__()
    role = "recruiter" if staff_id else "admin"
    async with transaction(app.state.db, now=now) as session:
        _, secret = await issue_key(
            session=session, name="bench", role=role, staff_id=staff_id, now=now
        )
    client = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://bench",
        headers={"Authorization": f"Bearer {secret}"},
        timeout=600,
    )
    return client, lifespan


def median(values: list[float]) -> float:
    return round(statistics.median(values), 2)


async def seed_agency(
    conn: asyncpg.Connection,
    *,
    interviews: int,
    now: datetime,
    newly_overdue: float,
    already_overdue: float,
) -> dict[str, int]:
    """An agency's history: `interviews` ended interviews, each with a debrief call and a
    thank-you note. Most are done; `newly_overdue` of them have a call past due and still
    pending (the sweep's work); `already_overdue` are overdue from earlier sweeps."""
    staff = [
        (uuid7(), f"Recruiter {i}", f"r{i}@agency.co.uk", True, now, now, 1) for i in range(20)
    ]
    await conn.copy_records_to_table(
        "staff",
        records=staff,
        columns=["id", "full_name", "email", "active", "created_at", "updated_at", "version"],
    )
    clients = [(uuid7(), f"Employer {i}", now, now, 1) for i in range(200)]
    await conn.copy_records_to_table(
        "clients", records=clients, columns=["id", "name", "created_at", "updated_at", "version"]
    )
    n_candidates = max(interviews // 3, 1)
    candidates = [
        (
            uuid7(),
            f"Candidate {i}",
            f"+4479111{i % 100000:05d}",
            staff[i % 20][0],
            "active",
            True,
            now,
            now,
            1,
        )
        for i in range(n_candidates)
    ]
    await conn.copy_records_to_table(
        "candidates",
        records=candidates,
        columns=[
            "id",
            "full_name",
            "phone",
            "owner_id",
            "status",
            "job_search_active",
            "created_at",
            "updated_at",
            "version",
        ],
    )
    n_new = round(interviews * newly_overdue)
    n_old = round(interviews * already_overdue)
    interview_rows, follow_up_rows = [], []
    for i in range(interviews):
        interview_id = uuid7()
        candidate_id = candidates[i % n_candidates][0]
        ends = now - timedelta(days=2 + (i % 700), minutes=i % 600)
        interview_rows.append(
            (
                interview_id,
                candidate_id,
                clients[i % 200][0],
                "Analyst",
                "first",
                "video",
                ends - timedelta(hours=1),
                ends,
                60,
                "[]",
                "completed",
                "pending",
                ends,
                now,
                now,
                1,
            )
        )
        due = ends + timedelta(hours=8)
        if i < n_new:
            call = ("pending", None, None, None)
        elif i < n_new + n_old:
            call = ("overdue", due, None, now + timedelta(hours=24))  # next reminder tomorrow
        else:
            call = ("done", None, due - timedelta(hours=2), None)
        status, overdue_at, completed_at, notice = call
        follow_up_rows.append(
            (
                uuid7(),
                interview_id,
                candidate_id,
                "debrief_call",
                status,
                due,
                ends,
                overdue_at,
                completed_at,
                "system" if completed_at else None,
                False,
                0,
                notice,
                2,
                3,
                now,
                now,
                1,
            )
        )
        follow_up_rows.append(
            (
                uuid7(),
                interview_id,
                candidate_id,
                "thank_you_note",
                "done",
                ends + timedelta(hours=24),
                ends,
                None,
                ends + timedelta(hours=3),
                "system",
                False,
                0,
                None,
                2,
                3,
                now,
                now,
                1,
            )
        )
    await conn.copy_records_to_table(
        "interviews",
        records=interview_rows,
        columns=[
            "id",
            "candidate_id",
            "client_id",
            "job_title",
            "stage",
            "format",
            "starts_at",
            "ends_at",
            "duration_minutes",
            "interviewers",
            "status",
            "outcome",
            "follow_ups_opened_at",
            "created_at",
            "updated_at",
            "version",
        ],
    )
    await conn.copy_records_to_table(
        "follow_ups",
        records=follow_up_rows,
        columns=[
            "id",
            "interview_id",
            "candidate_id",
            "kind",
            "status",
            "due_at",
            "opened_at",
            "overdue_at",
            "completed_at",
            "completed_by",
            "late",
            "reminders_sent",
            "next_notice_at",
            "reminder_interval_days",
            "max_reminders",
            "created_at",
            "updated_at",
            "version",
        ],
    )
    await conn.execute("VACUUM ANALYZE")
    return {
        "interviews": interviews,
        "steps": len(follow_up_rows),
        "newly_overdue": n_new,
        "already_overdue": n_old,
    }


def utc_now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def short_id() -> str:
    return uuid.uuid4().hex[:8]
