"""The notifications' part of each process: the sending loop (woken by commits, else every
few seconds), and the sweep's planning (late debrief calls' nudges, clients' chase emails,
morning digests)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import datetime

from app.config import Settings
from app.db.engine import Database
from app.db.transaction import transaction
from app.notifications import service
from app.notifications.delivery import Sender

logger = logging.getLogger("debrief.notifications")


class SendingLoop:
    def __init__(self, sender: Sender, *, poll_seconds: float) -> None:
        self.sender = sender
        self.poll_seconds = poll_seconds
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._stop_listening: Callable[[], None] = lambda: None

    def start(self) -> None:
        self._stop_listening = self.sender.db.events_committed.subscribe(self._wake.set)
        self._task = asyncio.create_task(self._run(), name="notification-sending")

    async def stop(self, *, grace_seconds: float) -> None:
        """Let the round in flight finish (and be recorded), then stop."""
        self._stop_listening()
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(self._task), timeout=grace_seconds)
            except TimeoutError:
                self._task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._task
        await self.sender.close()

    async def _run(self) -> None:
        while not self._stopping:
            try:
                done = await self.sender.round()
            except Exception:
                # The database may be restarting; the outbox keeps everything for later.
                logger.exception("notification round failed")
                done = 0
            if done == 0 and not self._stopping:
                await self.sender.close()  # idle: no connection held open to the server
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=self.poll_seconds)
                self._wake.clear()


async def plan(db: Database, now: datetime, *, settings: Settings) -> int:
    """The sweep's messages: one nudge per late debrief call, one email per employer chase
    fallen due at a client that opted in, the morning digests."""
    planned = 0
    while True:
        async with transaction(db, now=now) as session:
            nudges = await service.plan_nudges(session, settings=settings, now=now)
        planned += nudges
        if nudges < service.NUDGE_BATCH:
            break
    async with transaction(db, now=now) as session:
        planned += await service.plan_client_chases(session, settings=settings, now=now)
    async with transaction(db, now=now) as session:
        planned += await service.plan_digests(session, settings=settings, now=now)
    if planned:
        logger.info("sweep: planned %d notifications", planned)
    return planned
