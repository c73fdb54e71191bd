"""Uploading a CSV file as an admin's client would, and waiting for its job."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
from fastapi import FastAPI

from app.imports.jobs import CHUNK_ROWS


async def upload(
    client: httpx.AsyncClient,
    kind: str,
    content: str | bytes,
    *,
    media_type: str = "text/csv",
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    data = content.encode() if isinstance(content, str) else content
    return await client.post(
        "/v1/imports",
        data={"kind": kind},
        files={"file": ("sheet.csv", data, media_type)},
        headers=headers,
    )


async def finished(
    client: httpx.AsyncClient, job_id: str, *, seconds: float = 30
) -> dict[str, Any]:
    """The job once it has succeeded or failed."""
    async with asyncio.timeout(seconds):
        while True:
            job: dict[str, Any] = (await client.get(f"/v1/imports/{job_id}")).json()
            if job["status"] in ("succeeded", "failed"):
                return job
            await asyncio.sleep(0.02)


async def imported(client: httpx.AsyncClient, kind: str, content: str) -> dict[str, Any]:
    """Upload the file and wait for its job."""
    response = await upload(client, kind, content)
    assert response.status_code == 202, response.text
    return await finished(client, response.json()["id"])


class Hold:
    """Holds an app's import jobs after their first chunk (of 2 rows) until released."""

    def __init__(self) -> None:
        self.reached = asyncio.Event()
        self.released = asyncio.Event()
        self.jobs: list[uuid.UUID] = []

    async def __call__(self, job_id: uuid.UUID) -> None:
        self.jobs.append(job_id)
        self.reached.set()
        await self.released.wait()

    async def first_chunk(self) -> None:
        await asyncio.wait_for(self.reached.wait(), 30)


def holding(app: FastAPI) -> Iterator[Hold]:
    runner = app.state.imports
    hold = Hold()
    runner.after_chunk, runner.chunk_rows = hold, 2
    try:
        yield hold
    finally:
        hold.released.set()
        runner.after_chunk, runner.chunk_rows = None, CHUNK_ROWS
