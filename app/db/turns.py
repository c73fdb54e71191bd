"""First come, first served places in front of a pool of connections."""

from __future__ import annotations

import asyncio

from sqlalchemy.exc import TimeoutError as PoolTimeout

# Seconds a request waits for a free database connection before it is answered 503.
POOL_TIMEOUT = 30


class Turns:
    """Places in front of a pool of `size` connections, handed out first come, first served.

    asyncio's semaphore gives a freed place to the longest waiter. Pools' own queues do not
    (SQLAlchemy's, and asyncpg's, which is an asyncio.Queue): a request arriving just as a
    connection is returned takes it, and the waiter woken for it goes to the back of the
    queue again. Under load that made the slowest queue refreshes wait several times the
    median. One semaphore per event loop, as asyncio's primitives are bound to one.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self._turns: tuple[asyncio.AbstractEventLoop, asyncio.Semaphore] | None = None

    async def take(self) -> asyncio.Semaphore:
        """Wait for a place (at most POOL_TIMEOUT seconds); give it back with `.release()`."""
        loop = asyncio.get_running_loop()
        if self._turns is None or self._turns[0] is not loop:
            self._turns = (loop, asyncio.Semaphore(self.size))
        turns = self._turns[1]
        if not turns.locked():  # a free place is taken at once, without a timer
            await turns.acquire()
            return turns
        try:
            async with asyncio.timeout(POOL_TIMEOUT):
                await turns.acquire()
        except TimeoutError as exc:  # as the pool's own timeout: answered 503
            raise PoolTimeout(f"no read connection free within {POOL_TIMEOUT} s") from exc
        return turns
