"""An import job in the background: its progress read from any replica while it runs, and
a job whose process stops failed with nothing written."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI

from app.clock import FrozenClock
from app.db.transaction import transaction
from app.imports import repository
from app.main import create_app
from tests.conftest import KeyMaker, make_settings
from tests.followups.helpers import all_events
from tests.imports.helpers import Hold, finished, holding, upload

SHEET = "external_id,name\n" + "".join(f"emp-{i},Employer {i} Ltd\n" for i in range(1, 6))


@pytest.fixture
async def other_replica(
    api: FastAPI, database_url: str, make_key: KeyMaker
) -> AsyncIterator[httpx.AsyncClient]:
    """An admin's client of a second app on the same database (another replica)."""
    app = create_app(make_settings(database_url), clock=api.state.clock)
    async with AsyncExitStack() as stack:
        await stack.enter_async_context(app.router.lifespan_context(app))
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://replica",
            headers={"Authorization": f"Bearer {await make_key('admin')}"},
        )
        stack.push_async_callback(client.aclose)
        yield client


async def test_progress_and_errors_can_be_read_from_another_replica_while_it_runs(
    admin: httpx.AsyncClient, other_replica: httpx.AsyncClient, hold: Hold
) -> None:
    response = await upload(admin, "clients", SHEET)
    job_id = response.json()["id"]
    await hold.first_chunk()
    running = (await other_replica.get(f"/v1/imports/{job_id}")).json()
    assert running["status"] == "running"
    assert running["rows"] == {
        "total": 5,
        "processed": 2,
        "created": 0,
        "updated": 0,
        "unchanged": 0,
    }
    assert running["finished_at"] is None
    # Nothing is written before every row has been checked.
    assert (await other_replica.get("/v1/clients")).json()["items"] == []
    hold.released.set()
    done = await finished(other_replica, job_id)
    assert done["status"] == "succeeded"
    assert done["rows"]["created"] == 5


async def test_row_errors_show_while_it_runs(admin: httpx.AsyncClient, hold: Hold) -> None:
    sheet = (
        "external_id,candidate_external_id,client_external_id\n"
        "int-1,crm-9,emp-9\nint-2,crm-1,emp-1\nint-3,crm-1,emp-1\n"
    )
    job_id = (await upload(admin, "interviews", sheet)).json()["id"]
    await hold.first_chunk()
    running = (await admin.get(f"/v1/imports/{job_id}")).json()
    assert running["status"] == "running"
    assert running["errors"] == [
        {
            "row": row,
            "field": "candidate_external_id",
            "message": "no candidate has this external_id",
        }
        for row in (2, 3)
    ]
    assert running["error_count"] == 2
    hold.released.set()
    done = await finished(admin, job_id)
    assert done["status"] == "failed"
    assert [e["row"] for e in done["errors"]] == [2, 3, 4]


async def test_a_job_whose_process_stopped_is_failed_by_the_sweep(
    api: FastAPI,
    admin: httpx.AsyncClient,
    other_replica: httpx.AsyncClient,
    hold: Hold,
    clock: FrozenClock,
) -> None:
    job_id = (await upload(admin, "clients", SHEET)).json()["id"]
    await hold.first_chunk()  # as a process that stopped answering would leave it
    clock.advance(timedelta(minutes=1))
    early = (await other_replica.post("/v1/admin/sweeps")).json()
    assert early["failed_imports"] == 0  # a minute without news is not yet a dead process
    clock.advance(timedelta(minutes=1, seconds=1))
    swept = (await other_replica.post("/v1/admin/sweeps")).json()
    assert swept["failed_imports"] == 1
    job = (await admin.get(f"/v1/imports/{job_id}")).json()
    assert job["status"] == "failed"
    assert job["detail"] == (
        "The process running this import stopped before it finished; nothing was written. "
        "Send the file again."
    )
    assert job["finished_at"] == "2026-03-04T10:02:01Z"
    # Were it only slow, the job stops at its next step and writes nothing.
    hold.released.set()
    await api.state.imports.wait()
    assert (await admin.get(f"/v1/imports/{job_id}")).json() == job
    assert (await admin.get("/v1/clients")).json()["items"] == []
    assert await all_events(admin) == []
    # and the next import may run.
    again = await upload(admin, "clients", SHEET)
    assert again.status_code == 202
    assert (await finished(admin, again.json()["id"]))["status"] == "succeeded"


async def test_a_replica_that_shuts_down_fails_its_running_import(
    api: FastAPI, database_url: str, admin: httpx.AsyncClient, make_key: KeyMaker
) -> None:
    replica = create_app(make_settings(database_url), clock=api.state.clock)
    key = await make_key("admin")
    async with replica.router.lifespan_context(replica):
        held = holding(replica)
        hold = next(held)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=replica),
            base_url="http://replica",
            headers={"Authorization": f"Bearer {key}"},
        ) as client:
            job_id = (await upload(client, "clients", SHEET)).json()["id"]
            await hold.first_chunk()
    held.close()
    job = (await admin.get(f"/v1/imports/{job_id}")).json()
    assert job["status"] == "failed"
    assert job["detail"] == (
        "The service stopped while this import ran; nothing was written. Send the file again."
    )
    assert (await admin.get("/v1/clients")).json()["items"] == []


@pytest.mark.postgres
async def test_the_sweep_leaves_alone_a_job_that_is_writing_its_rows(
    api: FastAPI,
    admin: httpx.AsyncClient,
    other_replica: httpx.AsyncClient,
    hold: Hold,
    clock: FrozenClock,
) -> None:
    """While its rows are written the job sends no heartbeat, but holds its row locked: a
    sweep on another replica skips it instead of failing it (or waiting for it)."""
    job_id = (await upload(admin, "clients", SHEET)).json()["id"]
    await hold.first_chunk()
    clock.advance(timedelta(minutes=3))
    async with transaction(api.state.db, now=clock.now()) as session:
        assert await repository.lock_running(session, uuid.UUID(job_id))  # as _write does
        async with asyncio.timeout(20):  # a sweep that waited for the lock would never end
            swept = (await other_replica.post("/v1/admin/sweeps")).json()
        assert swept["failed_imports"] == 0
    swept = (await other_replica.post("/v1/admin/sweeps")).json()
    assert swept["failed_imports"] == 1
    hold.released.set()
    await api.state.imports.wait()
