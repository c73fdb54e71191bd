"""A loop in the background of each process that works through an outbox: a round at once
while the last one did something, else after `poll_seconds` or as soon as a commit (or
`wake()`) says there may be work. The webhook deliveries and the notifications use it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable

from app.db.engine import Database
from app.db.unit_of_work import Notifier


class BackgroundLoop:
    """Subclasses name themselves, say what a round is (`round`, returning how much it did)
    and, if they need to, what to do before sleeping (`idle`) and what the rounds run inside
    (`running`)."""

    name = "background"  # the task's
    what = "background"  # the work's, in the log
    logger = logging.getLogger("debrief")

    def __init__(self, db: Database, *, poll_seconds: float) -> None:
        self.db = db
        self.poll_seconds = poll_seconds
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._stop_listening: Callable[[], None] = lambda: None

    async def round(self) -> int:
        raise NotImplementedError

    async def idle(self) -> None:
        """Called before the loop sleeps for want of work."""

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """What every round runs inside, from start to stop."""
        yield

    def wake(self) -> None:
        self._wake.set()

    def woken_by(self) -> Notifier:
        """The commits that may have given the loop work: by default, those that wrote events."""
        return self.db.events_committed

    def start(self) -> None:
        self._stop_listening = self.woken_by().subscribe(self.wake)
        self._task = asyncio.create_task(self._run(), name=self.name)

    async def stop(self, *, grace_seconds: float) -> None:
        """Let the work in flight finish (and be recorded), then stop."""
        self._stop_listening()
        self._stopping = True
        self.wake()
        if self._task is None:
            return
        try:
            await asyncio.wait_for(asyncio.shield(self._task), timeout=grace_seconds)
        except TimeoutError:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        async with self.running():
            while not self._stopping:
                try:
                    done = await self.round()
                except Exception:
                    # The database may be restarting; the outbox keeps everything for later.
                    self.logger.exception("%s round failed", self.what)
                    done = 0
                if done == 0 and not self._stopping:
                    await self.idle()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), timeout=self.poll_seconds)
                    self._wake.clear()
