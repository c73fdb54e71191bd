"""The delivery loop inside each API process: send what is due, sleep until woken or a second.
Deliveries run side by side and the loop does not wait for them: while a slow receiver holds
one, new events and other endpoints' deliveries keep going out in the free slots."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

import anyio

from app.webhooks.delivery import Deliverer

logger = logging.getLogger("debrief.webhooks")


class DeliveryLoop:
    def __init__(self, deliverer: Deliverer, *, poll_seconds: float) -> None:
        self.deliverer = deliverer
        self.poll_seconds = poll_seconds
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._stop_listening: Callable[[], None] = lambda: None

    def start(self) -> None:
        self._stop_listening = self.deliverer.db.events_committed.subscribe(self._wake.set)
        self.deliverer.on_room = self._wake.set
        self._task = asyncio.create_task(self._run(), name="webhook-delivery")

    async def stop(self, *, grace_seconds: float = 15) -> None:
        """Let the deliveries in flight finish (and be recorded), then stop."""
        self._stop_listening()
        self._stopping = True
        self._wake.set()
        if self._task is None:
            return
        try:
            await asyncio.wait_for(asyncio.shield(self._task), timeout=grace_seconds)
        except TimeoutError:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        async with anyio.create_task_group() as deliveries:
            while not self._stopping:
                try:
                    started = await self.deliverer.dispatch(deliveries)
                except Exception:
                    # The database may be restarting; the outbox keeps everything for later.
                    logger.exception("webhook delivery round failed")
                    started = 0
                if started == 0 and not self._stopping:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), timeout=self.poll_seconds)
                    self._wake.clear()
