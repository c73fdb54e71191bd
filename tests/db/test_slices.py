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
