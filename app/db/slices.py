"""Long loops in a request hand the event loop back every millisecond or so, and wait while
reads are being answered.

A process answers all its requests on one event loop: while a bulk upsert validates, builds
and records 1,000 items between two database round trips, no other request can run, and a
recruiter's read waits for the whole stretch. A loop over many items calls `await tick()` once
per item; it yields (`asyncio.sleep(0)`: every ready callback runs once, then this task goes
on) only when more than `SLICE` seconds passed since a tick last yielded, so a call costs a
clock read. Nothing else changes: the work runs in the same order, in the same transaction.

Yielding alone leaves a read one slice behind the batch at each of its steps (its query's
answer waits for the slice running when it arrives), so a read that takes 2 ms alone takes 8
during a sync. So reads come first: `RequestContextMiddleware` counts the reads (GET, HEAD)
in flight (`reading`), and a tick that yields while any is in flight waits until none is, for
at most `DEFER` seconds. A read then meets at most one slice; a batch keeps at least
SLICE / (SLICE + DEFER) of the loop however many reads arrive, and loses nothing when none
do. A tick inside a read never waits for reads (it would wait for itself).

Code run by SQLAlchemy's sync layer (a flush, an ORM event listener, a statement's parameter
processing) runs in a greenlet and cannot yield; its loops are left as they are.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from time import perf_counter

# Seconds of work between two yields; a yield costs a few microseconds when nothing waits.
SLICE = 0.001
# Longest a tick waits for the reads in flight: a batch keeps a fifth of a busy loop.
DEFER = 0.004

# True in a read's task (and the tasks it starts): its ticks do not wait for reads.
_in_read: ContextVar[bool] = ContextVar("in_read", default=False)


class _Slices:
    """When a tick last handed the loop back, and the reads in flight. One per process: a
    process runs one event loop (a tick from another thread's loop would only make this one
    yield sooner)."""

    def __init__(self) -> None:
        self.handed_back_at = 0.0
        self.reads = 0
        # Ticks waiting for the reads to end: each is woken when the last read ends.
        self.waiting: list[asyncio.Future[None]] = []


_slices = _Slices()


@contextmanager
def reading() -> Iterator[None]:
    """A read being answered: ticks elsewhere wait for it (up to `DEFER`)."""
    _slices.reads += 1
    token = _in_read.set(True)
    try:
        yield
    finally:
        _in_read.reset(token)
        _slices.reads -= 1
        if not _slices.reads and _slices.waiting:
            _wake_all()


def _wake_all() -> None:
    waiting, _slices.waiting = _slices.waiting, []
    for waiter in waiting:
        if not waiter.done():
            waiter.set_result(None)


async def tick() -> None:
    """Let other tasks run if this one has held the event loop for more than `SLICE`; then,
    outside a read, wait while reads are in flight, for up to `DEFER`."""
    if perf_counter() - _slices.handed_back_at > SLICE:
        await asyncio.sleep(0)
        if _slices.reads and not _in_read.get():
            await _reads_done()
        _slices.handed_back_at = perf_counter()


async def _reads_done() -> None:
    loop = asyncio.get_running_loop()
    waiter: asyncio.Future[None] = loop.create_future()
    _slices.waiting.append(waiter)
    timer = loop.call_later(DEFER, _release, waiter)
    try:
        await waiter
    finally:
        timer.cancel()
        if waiter in _slices.waiting:
            _slices.waiting.remove(waiter)


def _release(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)
