"""CPU per hot read in the server process: SQLAlchemy's pool against asyncpg's own, same run.

    .venv/bin/python -m bench.hot_reads            # about half a minute; PostgreSQL only

The reference is how `app.db.queries.Prepared` ran a hot read before `Database.hot_pool`:
a connection of the autocommit read engine (`Database.reading()`), its asyncpg connection,
`fetch`. The other is `Database.hot_pool.fetch`, what it does now. Both run the same
prepared statements on the same database, ten at a time in one event loop (uvloop, as the
server runs), alternating, several rounds; the figure is this process's CPU time per read
(PostgreSQL's own work is not in it). One statement reads one row, the other 51 (a queue
page and its look-ahead row). Results go to bench/results/hot_reads.json.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import uvloop

from app.db.engine import Database
from bench.common import SERVER_URL

RESULTS = Path(__file__).resolve().parent / "results" / "hot_reads.json"
CONCURRENCY = 10
READS = 4000
ROUNDS = 5
QUERIES = {
    "1 row": "SELECT g AS n, md5(g::text) AS label, now() AS at FROM generate_series(1, 1) g",
    "51 rows": "SELECT g AS n, md5(g::text) AS label, now() AS at FROM generate_series(1, 51) g",
}


async def cpu_per_read(read: Callable[[], Awaitable[Any]]) -> float:
    """Milliseconds of this process's CPU per read, `READS` reads ten at a time."""

    async def worker(count: int) -> None:
        for _ in range(count):
            await read()

    started = time.process_time()
    await asyncio.gather(*(worker(READS // CONCURRENCY) for _ in range(CONCURRENCY)))
    return (time.process_time() - started) / READS * 1000


async def main() -> None:
    db = Database(SERVER_URL.replace("postgresql://", "postgresql+asyncpg://", 1))
    pool = db.hot_pool
    assert pool is not None, "PostgreSQL only"
    results: dict[str, Any] = {"concurrency": CONCURRENCY, "reads": READS, "rounds": ROUNDS}
    try:
        for label, sql in QUERIES.items():

            async def engine(sql: str = sql) -> None:
                async with db.reading() as conn:
                    raw = await conn.get_raw_connection()
                    await raw.driver_connection.fetch(sql)  # type: ignore[union-attr]

            async def own_pool(sql: str = sql) -> None:
                await pool.fetch(sql, [])

            for read in (engine, own_pool):  # warm both: connections, prepared statements
                await cpu_per_read(read)
            figures: dict[str, list[float]] = {"engine": [], "hot_pool": []}
            for _ in range(ROUNDS):
                figures["engine"].append(await cpu_per_read(engine))
                figures["hot_pool"].append(await cpu_per_read(own_pool))
            engine_ms = statistics.median(figures["engine"])
            pool_ms = statistics.median(figures["hot_pool"])
            results[label] = {
                "engine_ms": round(engine_ms, 3),
                "hot_pool_ms": round(pool_ms, 3),
                "ratio": round(pool_ms / engine_ms, 2),
                "rounds": {k: [round(v, 3) for v in vs] for k, vs in figures.items()},
            }
            print(
                f"{label:8s} SQLAlchemy read engine {engine_ms:.3f} ms  "
                f"hot pool {pool_ms:.3f} ms  ratio {pool_ms / engine_ms:.2f}",
                flush=True,
            )
    finally:
        await db.dispose()
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(f"Wrote {RESULTS}")


if __name__ == "__main__":
    uvloop.run(main())
