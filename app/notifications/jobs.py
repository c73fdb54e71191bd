"""The notifications' part of each process: the sending loop (woken by commits, else every
few seconds), and the sweep's planning (late debrief calls' nudges, clients' chase emails,
morning digests)."""

from __future__ import annotations

import logging
from datetime import datetime

from app.config import Settings
from app.db.background import BackgroundLoop
from app.db.engine import Database
from app.db.transaction import transaction
from app.db.unit_of_work import Notifier
from app.notifications import service
from app.notifications.delivery import Sender

logger = logging.getLogger("debrief.notifications")


class SendingLoop(BackgroundLoop):
    name = "notification-sending"
    what = "notification"
    logger = logger

    def __init__(self, sender: Sender, *, poll_seconds: float) -> None:
        super().__init__(sender.db, poll_seconds=poll_seconds)
        self.sender = sender

    def woken_by(self) -> Notifier:
        return self.db.notifications_committed  # not every commit with events: few plan mail

    async def round(self) -> int:
        return await self.sender.round()

    async def idle(self) -> None:
        await self.sender.close()  # no connection held open to the server

    async def stop(self, *, grace_seconds: float) -> None:
        await super().stop(grace_seconds=grace_seconds)
        await self.sender.close()


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
