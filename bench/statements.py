"""What one statement costs the service's process: SQLAlchemy's execution against the driver's.

    .venv/bin/python -m bench.statements       # PostgreSQL, about half a minute

The debrief POST runs about fifteen statements in its transaction, and a profile under load
(bench/README.md, "Where the time goes now") puts most of its CPU inside SQLAlchemy. This
benchmark measures the cost of one statement. In one transaction, on a scratch database seeded
with 3,000 candidates, it times the process's CPU for each of these ways of running a statement:

  orm      `session.execute(select(Candidate.id, Candidate.erased_at).where(...))`, the
           statement built on each call, as the services build theirs
  built    the same statement built once, run through the session with a bound parameter
  text     `session.execute(text("SELECT pg_advisory_xact_lock(:key)"))`, as the event
           writers take the feed's order lock
  driver   the same two statements' SQL on the transaction's own asyncpg connection
           (`fetchrow` / `execute`; asyncpg prepares and caches them): the reference

The ways take turns, 2,000 statements each, and each figure is the median of 5 rounds. The
reference is measured in the same run, so the ratios hold on a noisy machine. Results go to
bench/results/statements.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import statistics
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy
from sqlalchemy import bindparam, select, text
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from app.models import Candidate
from bench.common import drop_database, fresh_database, seed_agency

NAME = "debrief_bench_statements"
RESULTS = Path(__file__).parent / "results" / "statements.json"
LOCK = 0x44_45_42_52  # the feed's order lock (app.events.service.EVENT_ORDER_LOCK)


async def _cpu_per_call(calls: int, run: Callable[[int], Awaitable[Any]]) -> float:
    """Milliseconds of this process's CPU per call (the database's own CPU is not counted)."""
    started = time.process_time()
    for i in range(calls):
        await run(i)
    return (time.process_time() - started) * 1000 / calls


async def measure(rounds: int, calls: int) -> dict[str, Any]:
    url = await fresh_database(NAME)
    try:
        import asyncpg

        conn = await asyncpg.connect(url)
        try:
            now = datetime.now(UTC)
            await seed_agency(conn, interviews=9_000, now=now, newly_overdue=0, already_overdue=0)
            ids = [r["id"] for r in await conn.fetch("SELECT id FROM candidates LIMIT 1000")]
        finally:
            await conn.close()
        engine = create_async_engine(url.replace("postgresql://", "postgresql+asyncpg://", 1))
        built = select(Candidate.id, Candidate.erased_at).where(Candidate.id == bindparam("cid"))
        lock = text("SELECT pg_advisory_xact_lock(:key)")
        async with AsyncSession(engine) as session:
            await session.execute(select(1))  # BEGIN: the driver's calls run inside it too
            driver = (await (await session.connection()).get_raw_connection()).driver_connection
            assert driver is not None
            ways: dict[str, Callable[[int], Awaitable[Any]]] = {
                "orm select": lambda i: session.execute(
                    select(Candidate.id, Candidate.erased_at).where(
                        Candidate.id == ids[i % len(ids)]
                    )
                ),
                "built select": lambda i: session.execute(built, {"cid": ids[i % len(ids)]}),
                "driver select": lambda i: driver.fetchrow(
                    "SELECT id, erased_at FROM candidates WHERE id = $1", ids[i % len(ids)]
                ),
                "text lock": lambda i: session.execute(lock, {"key": LOCK}),
                "driver lock": lambda i: driver.execute("SELECT pg_advisory_xact_lock($1)", LOCK),
            }
            samples: dict[str, list[float]] = {name: [] for name in ways}
            for run in ways.values():
                await _cpu_per_call(200, run)  # warm: statement caches, prepared statements
            for _ in range(rounds):
                for name, run in ways.items():
                    samples[name].append(await _cpu_per_call(calls, run))
            await session.rollback()
        await engine.dispose()
    finally:
        await drop_database(NAME)
    medians = {name: round(statistics.median(v), 4) for name, v in samples.items()}
    return {
        "run": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{platform.machine()}, Python {platform.python_version()}",
        "sqlalchemy": sqlalchemy.__version__,
        "rounds": rounds,
        "calls": calls,
        "cpu_ms_per_statement": medians,
        "times_the_driver": {
            "orm select": round(medians["orm select"] / medians["driver select"], 1),
            "built select": round(medians["built select"] / medians["driver select"], 1),
            "text lock": round(medians["text lock"] / medians["driver lock"], 1),
        },
        "samples": samples,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--calls", type=int, default=2000)
    args = parser.parse_args()
    result = asyncio.run(measure(args.rounds, args.calls))
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k != "samples"}, indent=2))


if __name__ == "__main__":
    main()
