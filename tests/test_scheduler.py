"""The minute sweep runs inside the API process, and can be switched off per process."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import httpx

from app.clock import FrozenClock
from app.main import create_app
from tests.conftest import T0, ClientMaker, make_settings
from tests.factories import create_interview
from tests.followups.helpers import follow_ups


async def _overdue_after(database_url: str, *, enabled: bool, admin: httpx.AsyncClient) -> str:
    interview = await create_interview(admin, starts_at=T0 - timedelta(hours=3))
    clock = FrozenClock(datetime(2026, 3, 5, 9, 0, tzinfo=UTC))
    app = create_app(
        make_settings(database_url, scheduler_enabled=enabled, sweep_interval_seconds=1),
        clock=clock,
    )
    async with app.router.lifespan_context(app):
        for _ in range(40):
            await asyncio.sleep(0.1)
            call = (await follow_ups(admin, interview_id=interview["id"]))["debrief_call"]
            if call["status"] == "overdue":
                break
    status: str = call["status"]
    return status


async def test_the_scheduler_sweeps_every_interval(
    database_url: str, client_for: ClientMaker
) -> None:
    admin = await client_for("admin")
    assert await _overdue_after(database_url, enabled=True, admin=admin) == "overdue"


async def test_a_process_with_the_scheduler_off_never_sweeps(
    database_url: str, client_for: ClientMaker
) -> None:
    admin = await client_for("admin")
    assert await _overdue_after(database_url, enabled=False, admin=admin) == "pending"
