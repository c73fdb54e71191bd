"""How long a bulk upsert holds the event loop without letting another request run.

    .venv/bin/python -m bench.bulk_stalls                 # PostgreSQL, 10 batches of 1,000
    .venv/bin/python -m bench.bulk_stalls --db sqlite
    .venv/bin/python -m bench.bulk_stalls --where         # and what runs in each long stretch
    .venv/bin/python -m bench.bulk_stalls --changed       # 1,000 known candidates, each changed
    .venv/bin/python -m bench.bulk_stalls --reads         # a reader's p50 and p99, alone and during

POST /v1/candidates/bulk of 1,000 new candidates (in process, ASGI; the body encoded before
the clock starts, as a client in another process would send it) while a ticker task
beside it does nothing but `await asyncio.sleep(0)`: the time between two of its turns is a
stretch in which no other request could have run. Reported per batch: the wall time, the
longest stretch and the total time spent in stretches over 2 ms. With `--where`, a thread
samples the loop thread's stack every 0.2 ms (the switch interval lowered for it, which
slows the run): each stretch over 2 ms is shown with the app frames it was seen in.

With `--reads`, what a recruiter notices instead: a reader task reads one candidate
(`GET /v1/candidates/{id}`, through the whole app) 2 ms after its last answer, for a fifth of
a second alone and then during each batch; reported are the reads' p50 and p99 in each
phase, each timed from when it was due (a read held back before it could start counts),
and their ratio. In process, one event loop, so the figure is the loop's share of a
read's wait: no other process competes for the core.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

import orjson
from fastapi import FastAPI

from app.db.migrations import upgrade
from app.db.transaction import transaction
from app.ids import uuid7
from app.models import Staff
from bench.bulk import people
from bench.common import app_client, drop_database, fresh_database

APP = str(Path(__file__).resolve().parents[1] / "app")
JSON = {"Content-Type": "application/json"}


class Sampler(threading.Thread):
    """The loop thread's innermost app frames, with the time they were seen."""

    def __init__(self, thread_id: int) -> None:
        super().__init__(daemon=True)
        self.thread_id = thread_id
        self.samples: list[tuple[float, str]] = []
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.wait(0.0002):
            frame: FrameType | None = sys._current_frames().get(self.thread_id)
            where = []
            if frame is not None and not frame.f_code.co_filename.startswith(APP):
                where.append(f"[{Path(frame.f_code.co_filename).name} {frame.f_code.co_name}]")
            while frame is not None and len(where) < 3:
                code = frame.f_code
                if code.co_filename.startswith(APP):
                    name = code.co_filename[len(APP) - 3 :]
                    where.append(f"{name}:{frame.f_lineno} {code.co_name}")
                frame = frame.f_back
            self.samples.append((time.perf_counter(), " < ".join(where)))


async def count_turns(turns: list[float], done: asyncio.Event) -> None:
    """The times this task got the event loop, until `done`."""
    while not done.is_set():
        turns.append(time.perf_counter())
        await asyncio.sleep(0)


async def read_repeatedly(
    client: Any, path: str, latencies: list[float], done: asyncio.Event
) -> None:
    """Read `path` 2 ms after each answer until `done`, recording how long each took from
    when it was due: a read held back before it could start counts."""
    while not done.is_set():
        due = time.perf_counter() + 0.002
        await asyncio.sleep(0.002)
        response = await client.get(path)
        latencies.append(time.perf_counter() - due)
        assert response.status_code == 200, response.text


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000


async def run(args: argparse.Namespace) -> None:
    now = datetime.now(UTC)
    name = "debrief_bench_stalls"
    if args.db == "postgres":
        url = (await fresh_database(name)).replace("postgresql://", "postgresql+asyncpg://", 1)
    else:
        url = f"sqlite+aiosqlite:///{tempfile.mkdtemp()}/stalls.db"
        await upgrade(url)
    apps: list[FastAPI] = []
    client, lifespan = await app_client(url, now, prepare=apps.append)
    owners = [uuid7() for _ in range(20)]
    sampler = Sampler(threading.get_ident()) if args.where else None
    try:
        async with transaction(apps[0].state.db, now=now) as session:
            session.add_all(
                Staff(
                    id=o,
                    full_name=f"Recruiter {i}",
                    email=f"r{i}@agency.co.uk",
                    active=True,
                    created_at=now,
                    updated_at=now,
                )
                for i, o in enumerate(owners)
            )
        if sampler is not None:
            sys.setswitchinterval(0.0001)
            sampler.start()
        longest: list[float] = []
        alone: list[float] = []
        during: list[float] = []
        read_path = ""
        for number in range(args.batches + 1):
            items = people(f"b{number}", owners)
            if args.changed:  # stored first, untimed; then each item's name changes
                stored = await client.post("/v1/candidates/bulk", json={"items": items})
                assert stored.status_code == 200, stored.text
                items = [item | {"full_name": item["full_name"] + " Jr"} for item in items]
            turns: list[float] = []
            done = asyncio.Event()
            if args.reads and read_path:
                quiet: list[float] = []
                reader = asyncio.create_task(read_repeatedly(client, read_path, quiet, done))
                await asyncio.sleep(0.2)
                done.set()
                await reader
                done = asyncio.Event()
                busy: list[float] = []
                ticker = asyncio.create_task(read_repeatedly(client, read_path, busy, done))
            else:
                ticker = asyncio.create_task(count_turns(turns, done))
            # Encoded before the clock starts: the client's own encoding would run on the same
            # loop and count as a stretch of the server's.
            body = orjson.dumps({"items": items})
            await asyncio.sleep(0)
            started = time.perf_counter()
            response = await client.post("/v1/candidates/bulk", content=body, headers=JSON)
            ended = time.perf_counter()
            done.set()
            await ticker
            assert response.status_code == 200, response.text
            if args.reads:
                if not read_path:
                    read_path = f"/v1/candidates/{response.json()['results'][0]['id']}"
                    continue  # the first batch warms caches and gives the candidate to read
                alone += quiet
                during += busy
                print(
                    f"batch {number}: {(ended - started) * 1000:.1f} ms; reads alone p50 "
                    f"{percentile(quiet, 0.5):.2f} ms p99 {percentile(quiet, 0.99):.2f} ms "
                    f"({len(quiet)}), during the batch p50 {percentile(busy, 0.5):.2f} ms "
                    f"p99 {percentile(busy, 0.99):.2f} ms ({len(busy)})",
                    flush=True,
                )
                continue
            turns.append(ended)
            gaps = [(b - a, a, b) for a, b in itertools.pairwise(turns)]
            worst = max(g for g, _, _ in gaps) * 1000
            over = sum(g for g, _, _ in gaps if g > 0.002) * 1000
            if number == 0:
                continue  # the first batch warms caches
            longest.append(worst)
            print(
                f"batch {number}: {(ended - started) * 1000:.1f} ms, longest stretch "
                f"{worst:.1f} ms, {over:.1f} ms in stretches over 2 ms",
                flush=True,
            )
            if sampler is not None:
                for gap, a, b in sorted(gaps, reverse=True)[:8]:
                    if gap < 0.002:
                        break
                    seen = Counter(w for t, w in sampler.samples if a <= t <= b)
                    print(f"  {gap * 1000:.1f} ms:")
                    for where, count in seen.most_common(args.top):
                        print(f"    {count:4d} {where}")
                sampler.samples.clear()
        if args.reads:
            p50 = percentile(during, 0.5) / percentile(alone, 0.5)
            p99 = percentile(during, 0.99) / percentile(alone, 0.99)
            print(
                f"reads alone: p50 {percentile(alone, 0.5):.2f} ms, p99 "
                f"{percentile(alone, 0.99):.2f} ms ({len(alone)} reads); during batches: p50 "
                f"{percentile(during, 0.5):.2f} ms, p99 {percentile(during, 0.99):.2f} ms "
                f"({len(during)} reads); during ÷ alone: p50 {p50:.2f}x, p99 {p99:.2f}x"
            )
            return
        print(
            f"longest stretch: median {statistics.median(longest):.1f} ms, "
            f"max {max(longest):.1f} ms over {len(longest)} batches"
        )
    finally:
        if sampler is not None:
            sampler.stop.set()
        await client.aclose()
        await lifespan.__aexit__(None, None, None)
        if args.db == "postgres":
            await drop_database(name)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", choices=("postgres", "sqlite"), default="postgres")
    parser.add_argument("--batches", type=int, default=10)
    parser.add_argument("--where", action="store_true", help="sample what runs in a stretch")
    parser.add_argument(
        "--changed", action="store_true", help="1,000 known candidates whose name changed"
    )
    parser.add_argument("--top", type=int, default=4, help="places shown per stretch")
    parser.add_argument(
        "--reads", action="store_true", help="time a reader's reads alone and during batches"
    )
    args: Any = parser.parse_args()
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
