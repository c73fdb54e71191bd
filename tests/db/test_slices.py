"""The tick long loops call: it hands the event loop back once a slice of work has passed."""

from __future__ import annotations

import asyncio

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


async def test_a_tick_waits_while_a_read_is_answered_and_goes_on_when_it_ends(
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

    async def batch() -> None:
        for item in range(3):
            await slices.tick()
            steps.append(f"item {item}")

    reader = asyncio.ensure_future(read())
    await asyncio.sleep(0)
    assert steps == ["read starts"]
    batcher = asyncio.ensure_future(batch())
    for _ in range(20):  # the loop goes round; the batch waits, the read is not done
        await asyncio.sleep(0)
    assert steps == ["read starts"]
    read_may_end.set()
    await asyncio.wait_for(asyncio.gather(reader, batcher), 5)
    assert steps == ["read starts", "read ends", "item 0", "item 1", "item 2"]
    assert slices._slices.reads == 0
    assert slices._slices.waiting == []


async def test_reads_that_never_stop_leave_a_batch_its_share(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With a read always in flight, each tick waits `DEFER` and no longer: the batch ends."""
    monkeypatch.setattr(slices, "SLICE", 0.0)
    monkeypatch.setattr(slices, "DEFER", 0.01)
    endless = asyncio.Event()

    async def read() -> None:
        with slices.reading():
            await endless.wait()

    reader = asyncio.ensure_future(read())
    await asyncio.sleep(0)
    loop = asyncio.get_running_loop()
    started = loop.time()
    for _ in range(5):
        await slices.tick()
    waited = loop.time() - started
    assert waited >= 5 * 0.01 * 0.9  # each tick waited for the read (timer resolution aside)
    assert waited < 5  # and none waited for its end
    endless.set()
    await reader


async def test_a_tick_inside_a_read_does_not_wait_for_reads(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(slices, "SLICE", 0.0)
    monkeypatch.setattr(slices, "DEFER", 3600.0)
    with slices.reading():
        await asyncio.wait_for(slices.tick(), 5)
    assert slices._slices.reads == 0
