"""The write engine's pool on PostgreSQL: connections handed out first come, first served.

SQLAlchemy's asyncio pool waits on an `asyncio.Queue`, which is not fair: a connection given
back wakes the longest waiter, but a request that asks in between takes it first, and the
woken waiter queues again at the back. Under load (more writes in flight than connections)
that is what made the slowest writes wait several times the median. Here a connection given
back goes straight to the longest waiter, and nobody passes the queue. The same reasoning
keeps the reads' places in turn (`app.db.turns`).
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any

from sqlalchemy.pool import AsyncAdaptedQueuePool
from sqlalchemy.util import await_only
from sqlalchemy.util.queue import AsyncAdaptedQueue, Empty


class _FairQueue(AsyncAdaptedQueue[Any]):
    """The pool's idle connections, and the checkouts waiting for one, oldest first."""

    def __init__(self, maxsize: int = 0, use_lifo: bool = False) -> None:
        super().__init__(maxsize, use_lifo)
        self._waiters: deque[asyncio.Future[Any]] = deque()

    def put_nowait(self, item: Any) -> None:
        while self._waiters:  # straight to the longest waiter still waiting
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(item)
                return
        super().put_nowait(item)

    def put(self, item: Any, block: bool = True, timeout: float | None = None) -> None:
        self.put_nowait(item)  # never waits: the queue holds every connection the pool has

    def get(self, block: bool = True, timeout: float | None = None) -> Any:
        if not self._waiters:  # nobody in line: an idle connection is taken at once
            try:
                return self._queue.get_nowait()
            except asyncio.QueueEmpty:
                pass
        if not block:
            raise Empty()
        return await_only(self._wait(seconds=timeout))

    async def _wait(self, *, seconds: float | None) -> Any:
        waiter: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            async with asyncio.timeout(seconds):
                return await waiter
        except BaseException as exc:  # timed out, or the request was cancelled
            if waiter.done() and not waiter.cancelled():
                self.put_nowait(waiter.result())  # handed over as the wait ended: pass it on
            elif waiter in self._waiters:
                self._waiters.remove(waiter)
            if isinstance(exc, TimeoutError):
                raise Empty() from exc
            raise


class FairAsyncPool(AsyncAdaptedQueuePool):
    """`AsyncAdaptedQueuePool` whose waiting checkouts are served in the order they came."""

    _queue_class = _FairQueue
    # Logs as SQLAlchemy's own pools do, under its logger (WARNING unless configured), not at
    # the app's INFO on every dispose.
    _sqla_logger_namespace = "sqlalchemy.pool.impl.FairAsyncPool"
