"""The periodic sweep inside each API process; one sweeps at a time through the database."""

from __future__ import annotations

import logging

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from fastapi import FastAPI

from app.debrief_queue import service as debrief_queue
from app.sweep import jobs

logger = logging.getLogger("debrief.scheduler")


def start_scheduler(app: FastAPI) -> AsyncIOScheduler:
    settings = app.state.settings

    async def sweep() -> None:
        try:
            await jobs.sweep(app.state.db, app.state.clock.now, settings=settings)
        except Exception:
            # The next run retries; every batch is a whole transaction, so nothing is half-done.
            logger.exception("sweep failed")
        try:
            await debrief_queue.forget_changed_pages(app.state.db)
        except Exception:  # the database is away: the next tick tries again
            logger.exception("checking the kept queue pages failed")

    scheduler = AsyncIOScheduler(timezone="UTC")
    scheduler.add_job(
        sweep,
        "interval",
        seconds=settings.sweep_interval_seconds,
        id="sweep",
        max_instances=1,
        coalesce=True,
        misfire_grace_time=settings.sweep_interval_seconds,
    )
    scheduler.start()
    return scheduler
