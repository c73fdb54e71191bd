"""Long loops in a request hand the event loop back every millisecond or so.

A process answers all its requests on one event loop: while a bulk upsert validates, builds
and records 1,000 items between two database round trips, no other request can run, and a
recruiter's read waits for the whole stretch. A loop over many items calls `await tick()` once
per item; it yields (`asyncio.sleep(0)`: every ready callback runs once, then this task goes
on) only when more than `SLICE` seconds passed since a tick last yielded, so a call costs a
clock read. Nothing else changes: the work runs in the same order, in the same transaction.

Code run by SQLAlchemy's sync layer (a flush, an ORM event listener, a statement's parameter
processing) runs in a greenlet and cannot yield; its loops are left as they are.
"""

from __future__ import annotations

import asyncio
from time import perf_counter

# Seconds of work between two yields; a yield costs a few microseconds when nothing waits.
SLICE = 0.001


class _Slices:
    """When a tick last handed the loop back. One per process: a process runs one event loop
    (a tick from another thread's loop would only make this one yield sooner)."""

    def __init__(self) -> None:
        self.handed_back_at = 0.0


_slices = _Slices()


async def tick() -> None:
    """Let other tasks run if this one has held the event loop for more than `SLICE`."""
    if perf_counter() - _slices.handed_back_at > SLICE:
        await asyncio.sleep(0)
        _slices.handed_back_at = perf_counter()
