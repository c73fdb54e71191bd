"""The delivery loop inside each API process: send what is due, sleep until woken or a second.
Deliveries run side by side and the loop does not wait for them: while a slow receiver holds
one, new events and other endpoints' deliveries keep going out in the free slots."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

import anyio
from anyio.abc import TaskGroup

from app.db.background import BackgroundLoop
from app.webhooks.delivery import Deliverer

logger = logging.getLogger("debrief.webhooks")


class DeliveryLoop(BackgroundLoop):
    name = "webhook-delivery"
    what = "webhook delivery"
    logger = logger

    def __init__(self, deliverer: Deliverer, *, poll_seconds: float) -> None:
        super().__init__(deliverer.db, poll_seconds=poll_seconds)
        self.deliverer = deliverer
        self._deliveries: TaskGroup | None = None

    def start(self) -> None:
        self.deliverer.on_room = self.wake  # a freed slot may let a waiting delivery go
        super().start()

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        async with anyio.create_task_group() as self._deliveries:
            yield

    async def round(self) -> int:
        assert self._deliveries is not None
        return await self.deliverer.dispatch(self._deliveries)
