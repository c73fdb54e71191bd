"""Several sweepers at once, and sweeps that die halfway: each flag and event exactly once."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI

from app.clock import Clock
from app.db.engine import Database
from app.followups import jobs, repository
from app.sweep.jobs import sweep
from tests.cli.test_commands import TEST_SECRET
from tests.followups.seed import count_events, overdue_state, seed_past_due_follow_ups
from tests.postgres import wait_until_running

ROOT = Path(__file__).resolve().parents[2]


def _as_ids(values: list[str]) -> list[uuid.UUID]:
    return [uuid.UUID(v) for v in values]


def _sweep_process(database_url: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "app.cli", "sweep", "--wait", "0"],
        env={
            **os.environ,
            "DEBRIEF_DATABASE_URL": database_url,
            "DEBRIEF_SECRET_KEY": TEST_SECRET,
            "PYTHONPATH": str(ROOT),
        },
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )


@pytest.mark.postgres
async def test_four_processes_sweeping_at_once_flag_each_follow_up_once(
    api: FastAPI, database_url: str
) -> None:
    db: Database = api.state.db
    await seed_past_due_follow_ups(db, count=3000, now=datetime.now(UTC))
    processes = [_sweep_process(database_url) for _ in range(4)]
    outputs = [p.communicate(timeout=120) for p in processes]
    counts = [json.loads(out.strip().splitlines()[-1]) for out, _ in outputs]
    assert sum(c["overdue"] for c in counts) == 3000
    assert sum(c["swept"] for c in counts) >= 1
    flagged, event_ids = await overdue_state(db)
    assert len(flagged) == 3000
    assert len(event_ids) == 3000
    assert set(_as_ids(event_ids)) == flagged


async def test_flagging_races_without_the_lock_still_flag_once(api: FastAPI) -> None:
    """Even sweepers that bypass the leader lock cannot flag a follow-up twice."""
    db: Database = api.state.db
    now = datetime.now(UTC)
    await seed_past_due_follow_ups(db, count=500, now=now)
    results = await asyncio.gather(
        *(jobs.flag_overdue(db, now) for _ in range(4)), return_exceptions=True
    )
    flagged_counts = [r for r in results if isinstance(r, int)]
    if not db.is_sqlite:
        assert len(flagged_counts) == 4  # PostgreSQL: all four ran; the row locks decided
    assert sum(flagged_counts) == 500
    flagged, event_ids = await overdue_state(db)
    assert len(event_ids) == len(set(event_ids)) == 500
    assert set(_as_ids(event_ids)) == flagged


async def test_a_sweep_failing_halfway_leaves_nothing_half_done(
    api: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    db: Database = api.state.db
    now = datetime.now(UTC)
    await seed_past_due_follow_ups(db, count=200, now=now)

    def dies_after(original: Any) -> Any:
        async def flag_then_die(*args: Any, **kwargs: Any) -> Any:
            await original(
                *args, **kwargs
            )  # the follow-ups are flagged (and on PostgreSQL, evented)
            raise ConnectionResetError("the process died before COMMIT")

        return flag_then_die

    with monkeypatch.context() as patched:
        for name in ("flag_overdue", "flag_overdue_with_events"):
            patched.setattr(repository, name, dies_after(getattr(repository, name)))
        with pytest.raises(ConnectionResetError):
            await sweep(db, lambda: now)
    flagged, event_ids = await overdue_state(db)
    assert (flagged, event_ids) == (set(), [])  # the flags went with the events
    counts = await sweep(db, lambda: now)
    assert counts.overdue == 200
    flagged, event_ids = await overdue_state(db)
    assert len(flagged) == len(event_ids) == 200


async def test_a_sweep_killed_mid_way_loses_nothing(api: FastAPI, database_url: str) -> None:
    db: Database = api.state.db
    await seed_past_due_follow_ups(db, count=20000, now=datetime.now(UTC))
    process = _sweep_process(database_url)
    if db.is_sqlite:
        await asyncio.sleep(1.0)
    else:
        await wait_until_running(db, "%UPDATE follow_ups%")
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    flagged, event_ids = await overdue_state(db)
    assert set(_as_ids(event_ids)) == flagged  # whatever committed, committed whole
    assert len(event_ids) == len(set(event_ids))
    done_before = len(flagged)
    counts = await sweep(db, Clock().now, wait_seconds=10)
    flagged, event_ids = await overdue_state(db)
    assert counts.overdue == 20000 - done_before  # the next sweep finishes the work
    assert len(flagged) == 20000
    assert sorted(_as_ids(event_ids)) == sorted(flagged)
    assert await count_events(db) == 20000
