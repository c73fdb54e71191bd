"""The tick long loops call: it hands the event loop back once a slice of work has passed."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import pytest

from app.db import slices


async def test_a_tick_lets_others_run_only_once_a_slice_has_passed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    others: list[str] = []

    async def other() -> None:
        others.append("ran")

    monkeypatch.setattr(slices, "SLICE", 0.0)
    await slices.tick()  # a slice starts
    monkeypatch.setattr(slices, "SLICE", 3600.0)  # within it, a tick is a clock read
    waiting = asyncio.ensure_future(other())
    for _ in range(1000):
        await slices.tick()
    assert others == []

    monkeypatch.setattr(slices, "SLICE", 0.0)  # the slice is over: the other task runs
    await slices.tick()
    assert others == ["ran"]
    await waiting


async def test_a_batchs_tick_waits_while_a_read_is_answered_and_goes_on_when_it_ends(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A batch's loop steps aside for a recruiter's read: it resumes when the read ends,
    not after its own next slice."""
    monkeypatch.setattr(slices, "SLICE", 0.0)
    monkeypatch.setattr(slices, "DEFER", 3600.0)  # only the read's end wakes the batch
    steps: list[str] = []
    read_may_end = asyncio.Event()

    async def read() -> None:
        with slices.reading():
            steps.append("read starts")
            await read_may_end.wait()  # its query, say
            steps.append("read ends")

    async def bulk() -> None:
        with slices.batch():
            for item in range(3):
                await slices.tick()
                steps.append(f"item {item}")

    reader = asyncio.ensure_future(read())
    await asyncio.sleep(0)
    assert steps == ["read starts"]
    batcher = asyncio.ensure_future(bulk())
    try:
        for _ in range(20):  # the loop goes round; the batch waits, the read is not done
            await asyncio.sleep(0)
        assert steps == ["read starts"]
    finally:
        read_may_end.set()
        await asyncio.wait_for(asyncio.gather(reader, batcher), 5)
    assert steps == ["read starts", "read ends", "item 0", "item 1", "item 2"]
    assert slices._slices.reads == 0
    assert slices._slices.waiting == []


async def _with_a_read_in_flight(test: Callable[[], Awaitable[None]]) -> None:
    """Run `test` while a read is being answered; the read ends whatever happens."""
    endless = asyncio.Event()

    async def read() -> None:
        with slices.reading():
            await endless.wait()

    reader = asyncio.ensure_future(read())
    await asyncio.sleep(0)
    try:
        await asyncio.wait_for(test(), 10)
    finally:
        endless.set()
        await reader
    assert slices._slices.reads == 0


async def test_reads_that_never_stop_leave_a_batch_its_share(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With a read always in flight, each of a batch's ticks waits `DEFER`, no longer."""
    monkeypatch.setattr(slices, "SLICE", 0.0)
    monkeypatch.setattr(slices, "DEFER", 0.05)
    loop = asyncio.get_running_loop()

    async def five_ticks() -> None:
        started = loop.time()
        with slices.batch():
            for _ in range(5):
                await slices.tick()
        waited = loop.time() - started
        assert 5 * 0.05 * 0.9 <= waited < 5 * 0.05 + 1.0

    await _with_a_read_in_flight(five_ticks)


async def test_only_a_batch_waits_for_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    """A single write's ticks (its outbox, its erased check) do not wait: it holds its locks."""
    monkeypatch.setattr(slices, "SLICE", 0.0)
    monkeypatch.setattr(slices, "DEFER", 3600.0)

    async def ticks() -> None:
        for _ in range(3):
            await slices.tick()

    await _with_a_read_in_flight(ticks)


async def test_a_batch_stops_waiting_for_reads_while_a_write_waits_for_the_writer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """On SQLite a batch holds the one writer: a write queued behind it comes before reads."""
    monkeypatch.setattr(slices, "SLICE", 0.0)
    monkeypatch.setattr(slices, "DEFER", 3600.0)

    async def batch_ticks() -> None:
        with slices.writer_waiting(), slices.batch():
            for _ in range(3):
                await slices.tick()

    await _with_a_read_in_flight(batch_ticks)
    assert slices._slices.writers_waiting == 0


async def test_a_batched_call_runs_as_a_batch_and_only_it() -> None:
    @slices.batched
    async def bulk_call(value: int) -> tuple[int, bool]:
        await asyncio.sleep(0)
        return value, slices._in_batch.get()

    assert await bulk_call(7) == (7, True)
    assert slices._in_batch.get() is False


async def test_a_read_due_during_a_batchs_slice_starts_before_its_next_slice(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A recruiter's request whose timer fell due while the batch worked runs at the batch's
    next tick: asyncio runs the callbacks already ready before timers just due, so a batch
    that yielded with `sleep(0)` went on for another slice or two first."""
    monkeypatch.setattr(slices, "SLICE", 0.0)
    order: list[str] = []

    async def reader() -> None:
        await asyncio.sleep(0.001)  # due while the batch's first slice holds the loop
        order.append("read")

    async def bulk() -> None:
        with slices.batch():
            for n in range(3):
                time.sleep(0.003)  # a slice of work that does not yield  # noqa: ASYNC251
                order.append(f"slice {n}")
                await slices.tick()

    read = asyncio.ensure_future(reader())
    await asyncio.sleep(0)  # the reader is asleep on its timer
    await asyncio.wait_for(asyncio.gather(read, asyncio.ensure_future(bulk())), 5)
    assert order == ["slice 0", "read", "slice 1", "slice 2"]
