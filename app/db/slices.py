"""Long loops in a request hand the event loop back every millisecond or so, and wait while
reads are being answered.

A process answers all its requests on one event loop: while a bulk upsert validates, builds
and records 1,000 items between two database round trips, no other request can run, and a
recruiter's read waits for the whole stretch. A loop over many items calls `await tick()` once
per item; it yields (`asyncio.sleep(0)`: every ready callback runs once, then this task goes
on) only when more than `SLICE` seconds passed since a tick last yielded, so a call costs a
clock read. Nothing else changes: the work runs in the same order, in the same transaction.

Yielding alone leaves a read one slice behind the batch at each of its steps (its query's
answer waits for the slice running when it arrives), so a read that takes 2 ms alone took 8
during a sync. So reads come first: `RequestContextMiddleware` counts the reads (GET, HEAD)
in flight (`reading`), and a tick inside a bulk call (`batch`) that yields while any read is
in flight then waits until none is, for at most `DEFER` seconds. A read then meets about one
slice; a batch keeps at least SLICE / (SLICE + DEFER) of the loop however many reads arrive,
and loses nothing when none do. A batch yields as a timer, so that a request whose timer
fell due during its slice starts first (`_BEHIND_TIMERS`). Only a batch waits: a single
write's ticks (the outbox, the erased check) never do, as it holds its locks. Nor does a
batch while another write waits for SQLite's one writer it holds (`writer_waiting`, from
`app/db/writer.py`): the reads must not cost the writes.

Code run by SQLAlchemy's sync layer (a flush, an ORM event listener, a statement's parameter
processing) runs in a greenlet and cannot yield; its loops are left as they are.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from time import perf_counter
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")

# Seconds of work between two yields; a yield costs a few microseconds when nothing waits.
SLICE = 0.001
# Longest a tick waits for the reads in flight: a batch keeps a fifth of a busy loop.
DEFER = 0.004

# A batch yields as a timer, not with `sleep(0)`: asyncio runs the callbacks already ready
# before the timers that fell due meanwhile, so a read whose sleep ended during a slice
# would start only after the batch's next slice; as a timer, the batch comes after it.
_BEHIND_TIMERS = 1e-6

# True inside a bulk call (`batch`): only there does a tick wait for the reads.
_in_batch: ContextVar[bool] = ContextVar("in_batch", default=False)


class _Slices:
    """When a tick last handed the loop back, the reads in flight, the writes waiting for
    SQLite's writer. One per process: a process serves its requests on one event loop (a
    second loop in another thread would only make this one's ticks yield or wait sooner,
    never longer than `DEFER`)."""

    def __init__(self) -> None:
        self.handed_back_at = 0.0
        self.reads = 0
        self.writers_waiting = 0
        # Ticks waiting for the reads to end: each is woken when the last read ends.
        self.waiting: list[asyncio.Future[None]] = []


_slices = _Slices()


@contextmanager
def reading() -> Iterator[None]:
    """A read being answered: a batch's ticks wait for it (up to `DEFER`)."""
    _slices.reads += 1
    try:
        yield
    finally:
        _slices.reads -= 1
        if not _slices.reads and _slices.waiting:
            _wake_all()


@contextmanager
def batch() -> Iterator[None]:
    """A bulk call's work: its ticks wait for the reads in flight."""
    token = _in_batch.set(True)
    try:
        yield
    finally:
        _in_batch.reset(token)


def batched(work: Callable[P, Awaitable[T]]) -> Callable[P, Awaitable[T]]:
    """`work` (a bulk call) runs as a `batch`."""

    @functools.wraps(work)
    async def run(*args: P.args, **kwargs: P.kwargs) -> T:
        with batch():
            return await work(*args, **kwargs)

    return run


@contextmanager
def writer_waiting() -> Iterator[None]:
    """A write waiting for SQLite's one writer: batches stop waiting for reads meanwhile."""
    _slices.writers_waiting += 1
    try:
        yield
    finally:
        _slices.writers_waiting -= 1


def _wake_all() -> None:
    """Wake this loop's waiting ticks (another loop's are left to their timers)."""
    loop = asyncio.get_running_loop()
    waiting = _slices.waiting
    _slices.waiting = [w for w in waiting if w.get_loop() is not loop]
    for waiter in waiting:
        if waiter.get_loop() is loop and not waiter.done():
            waiter.set_result(None)


async def tick() -> None:
    """Let other tasks run if this one has held the event loop for more than `SLICE`; then,
    in a batch, wait while reads are in flight and no write waits, for up to `DEFER`."""
    if perf_counter() - _slices.handed_back_at > SLICE:
        if _in_batch.get():
            await asyncio.sleep(_BEHIND_TIMERS)
            if _slices.reads and not _slices.writers_waiting:
                await _reads_done()
        else:
            await asyncio.sleep(0)
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
