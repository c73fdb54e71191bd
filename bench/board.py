"""One view of the recruiters' board, in process, on the agency benchmark's seeded data.

    .venv/bin/python -m bench.agency --db both --workers 1 --only-reads --keep --size 20000
    .venv/bin/python -m bench.board                 # SQLite, then PostgreSQL; 20 views each

The board is the heaviest page of the day's mix (`bench/agency.py`). This times what one view
costs the process, with nothing else running: a recruiter of the seeded agency signs in (their
key from the agency run's scratch directory) and opens the default view, `GET /board`, through
the app in process (httpx's ASGI transport: no HTTP server, no network). Per database it
reports the median and fastest view, the page's size and table rows, and the time each of the
board repository's statements took (median per view, by the repository function that ran
it), so that two checkouts can be compared: run this file from each, one after the other, on
the same kept data. The reference is the other checkout in the same sitting, not a number
from another day. Results go to bench/results/board.json (with the commit).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from app.board import repository
from app.config import Settings
from app.main import create_app
from bench.common import SECRET_KEY, database_url

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
SCRATCH = Path(os.environ.get("BENCH_AGENCY_SCRATCH", "/tmp/debrief-bench-agency"))
PG_NAME = "debrief_bench_agency"
CSRF = re.compile(rb'name="csrf" value="([^"]+)"')


def _timing_statements(spent: dict[str, list[float]]) -> None:
    """Wrap the repository's reads so each statement's time is kept under the function that
    ran it (whatever the checkout calls its functions)."""
    for name in ("read_all", "read_one"):
        original = getattr(repository, name)

        async def timed(db: Any, stmt: Any, _original: Any = original) -> Any:
            frame = sys._getframe(1)  # the repository function, past its private helpers
            while frame.f_code.co_name.startswith("_") and frame.f_back is not None:
                frame = frame.f_back
            caller = frame.f_code.co_name
            started = time.perf_counter()
            try:
                return await _original(db, stmt)
            finally:
                spent[caller].append((time.perf_counter() - started) * 1000)

        setattr(repository, name, timed)


async def measure(db: str, size: int, views: int) -> dict[str, Any]:
    scratch = SCRATCH / f"{db}-{size}"
    keys = scratch / "recruiter_keys.txt"
    if not keys.exists():
        raise SystemExit(f"no kept agency data in {scratch}: run bench.agency with --keep first")
    url = (
        f"sqlite+aiosqlite:///{scratch / 'bench.sqlite'}"
        if db == "sqlite"
        else database_url(PG_NAME).replace("postgresql://", "postgresql+asyncpg://", 1)
    )
    settings = Settings(
        database_url=url,
        secret_key=SECRET_KEY,
        scheduler_enabled=False,
        webhook_delivery_enabled=False,
        rate_limit_per_minute=0,
        log_level="WARNING",
    )
    app = create_app(settings)
    spent: dict[str, list[float]] = defaultdict(list)
    walls: list[float] = []
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://bench"
        ) as client,
    ):
        sign_in = await client.get("/board")
        token = CSRF.search(sign_in.content)
        assert token, sign_in.text[:300]
        answer = await client.post(
            "/board/sign-in",
            data={"csrf": token.group(1).decode(), "api_key": keys.read_text().split()[0]},
        )
        assert answer.status_code == 303, answer.text[:300]
        for _ in range(3):  # warm: statements prepared, templates compiled
            page = await client.get("/board")
            assert page.status_code == 200
        _timing_statements(spent)
        spent.clear()
        for _ in range(views):
            started = time.perf_counter()
            page = await client.get("/board")
            walls.append((time.perf_counter() - started) * 1000)
            assert page.status_code == 200
    return {
        "db": db,
        "views": views,
        "view_ms_median": round(statistics.median(walls), 2),
        "view_ms_min": round(min(walls), 2),
        "page_bytes": len(page.content),
        "table_rows": page.content.count(b"<tr"),
        "statements_ms_per_view": {
            name: round(sum(times) / views, 2) for name, times in sorted(spent.items())
        },
    }


def _commit() -> str:
    found = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    )
    return found.stdout.strip()


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--size", type=int, default=20_000, help="the agency run's --size")
    parser.add_argument("--views", type=int, default=20)
    args = parser.parse_args()
    dbs = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    results = [await measure(db, args.size, args.views) for db in dbs]
    report = {
        "started": datetime.now(UTC).isoformat(),
        "commit": _commit(),
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        "results": results,
    }
    for result in results:
        print(json.dumps(result))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "board.json").write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    asyncio.run(main())
