"""Benchmark of the follow-up sweep and the overdue queue on PostgreSQL.

    .venv/bin/python -m bench.sweep                 # 100,000 and 1,000,000 interviews
    .venv/bin/python -m bench.sweep --sizes 100000  # just one size

It seeds one scratch database per size (about 1% of interviews with a debrief call newly
past due, 0.5% overdue from earlier sweeps), then measures the sizes in alternating rounds,
so both see the same machine. Per round and size, on the same rows:
  floor        one hand-written UPDATE ... RETURNING of those rows, then the flagged debrief
               calls' queue rows written by one hand-written INSERT ... SELECT (asyncpg, one
               transaction, no events)
  bare floor   the same UPDATE alone
  sweep        the real sweep: flag them overdue and write one event each, in one transaction
  empty sweep  the sweep with nothing due: right after the sweep above, and in steady state
               (after VACUUM, as autovacuum leaves the table a minute later)
  overdue page the first page (50) of GET /v1/debriefs/overdue, through the app in-process
Results go to bench/results/sweep.json; bench/README.md has the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from app.auth.service import issue_key
from app.clock import FrozenClock
from app.config import Settings
from app.db.engine import Database
from app.db.transaction import transaction
from app.debrief_queue import service as debrief_queue
from app.main import create_app
from app.sweep import jobs
from bench.common import (
    SECRET_KEY,
    drop_database,
    fresh_database,
    median,
    seed_agency,
    timed,
    utc_now,
)

RESULTS = Path(__file__).parent / "results"

FLOOR_SQL = """
UPDATE follow_ups
   SET status = 'overdue', overdue_at = $1, next_notice_at = $2, updated_at = $1,
       version = version + 1
 WHERE status = 'pending' AND due_at <= $1
RETURNING *
"""
# The queue rows of the calls just flagged (app/debrief_queue writes them the same way).
FLOOR_QUEUE_SQL = """
INSERT INTO debrief_queue (follow_up_id, due_at, reminders_sent, max_reminders, next_notice_at,
    candidate_id, full_name, phone, owner_id, interview_id, job_title, ends_at, client_id,
    client_name)
SELECT f.id, f.due_at, f.reminders_sent, f.max_reminders, f.next_notice_at, c.id, c.full_name,
       c.phone, c.owner_id, i.id, i.job_title, i.ends_at, cl.id, cl.name
  FROM follow_ups f
  JOIN interviews i ON i.id = f.interview_id
  JOIN candidates c ON c.id = f.candidate_id
  JOIN clients cl ON cl.id = i.client_id
 WHERE f.status = 'overdue' AND f.kind = 'debrief_call' AND f.overdue_at = $1
"""


@dataclass
class Agency:
    size: int
    name: str
    now: datetime
    conn: asyncpg.Connection
    db: Database
    lifespan: AbstractAsyncContextManager[Any]
    client: httpx.AsyncClient
    due_ids: list[Any]
    seeded: dict[str, int]
    samples: dict[str, list[float]] = field(default_factory=dict)

    def add(self, name: str, value: float) -> None:
        self.samples.setdefault(name, []).append(round(value, 3))


async def setup(size: int) -> Agency:
    name = f"debrief_bench_sweep_{size}"
    url = await fresh_database(name)
    sa_url = url.replace("postgresql://", "postgresql+asyncpg://", 1)
    now = utc_now()
    conn = await asyncpg.connect(url)
    print(f"[{size:,}] seeding ...", flush=True)
    seeded = await seed_agency(
        conn, interviews=size, now=now, newly_overdue=0.01, already_overdue=0.005
    )
    due_ids = [
        r["id"]
        for r in await conn.fetch(
            "SELECT id FROM follow_ups WHERE status = 'pending' AND due_at <= $1", now
        )
    ]
    settings = Settings(
        database_url=sa_url,
        scheduler_enabled=False,
        webhook_delivery_enabled=False,
        secret_key=SECRET_KEY,
    )
    app = create_app(settings, clock=FrozenClock(now))
    lifespan = app.router.lifespan_context(app)
    await lifespan.__aenter__()
    async with transaction(app.state.db, now=now) as session:
        await debrief_queue.rebuild(session)  # the rows of the calls seeded overdue
        _, secret = await issue_key(
            session=session, name="bench", role="admin", staff_id=None, now=now
        )
    client = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://bench",
        headers={"Authorization": f"Bearer {secret}"},
    )
    return Agency(size, name, now, conn, app.state.db, lifespan, client, due_ids, seeded)


async def reset(agency: Agency) -> None:
    await agency.conn.execute(
        "UPDATE follow_ups SET status = 'pending', overdue_at = NULL, next_notice_at = NULL "
        "WHERE id = ANY($1::uuid[])",
        agency.due_ids,
    )
    await agency.conn.execute(
        "DELETE FROM debrief_queue WHERE follow_up_id = ANY($1::uuid[])", agency.due_ids
    )
    await agency.conn.execute("DELETE FROM events")
    await agency.conn.execute("VACUUM ANALYZE follow_ups, events, debrief_queue")


async def one_round(agency: Agency) -> None:
    now, conn = agency.now, agency.conn

    async def floor() -> None:
        async with conn.transaction():
            rows = await conn.fetch(FLOOR_SQL, now, now + timedelta(hours=48))
            await conn.execute(FLOOR_QUEUE_SQL, now)
        assert len(rows) == len(agency.due_ids)

    async def bare_floor() -> None:
        async with conn.transaction():
            rows = await conn.fetch(FLOOR_SQL, now, now + timedelta(hours=48))
        assert len(rows) == len(agency.due_ids)

    flagged: list[int] = []

    async def sweep() -> None:
        flagged.append((await jobs.sweep(agency.db, lambda: now)).overdue)

    await reset(agency)
    agency.add("floor", await timed(floor))
    await reset(agency)
    agency.add("bare_floor", await timed(bare_floor))
    await reset(agency)
    agency.add("sweep", await timed(sweep))
    agency.add("empty_right_after", await timed(sweep))
    assert flagged == [len(agency.due_ids), 0], flagged
    events = await conn.fetchval("SELECT count(*) FROM events WHERE type = 'follow_up.overdue'")
    assert events == len(agency.due_ids), events
    await conn.execute("VACUUM ANALYZE follow_ups, events, debrief_queue")
    for _ in range(5):
        agency.add("empty", await timed(sweep))
    responses: list[httpx.Response] = []

    async def page() -> None:
        responses.append(await agency.client.get("/v1/debriefs/overdue"))

    for _ in range(20):
        agency.add("page", await timed(page))
        assert responses[-1].status_code == 200
        assert len(responses[-1].json()["items"]) == 50


def summary(agency: Agency) -> dict[str, Any]:
    m = {name: median(values) for name, values in agency.samples.items()}
    return {
        **agency.seeded,
        "floor_update_returning_ms": m["floor"],
        "sweep_ms": m["sweep"],
        "sweep_over_floor": round(m["sweep"] / m["floor"], 2),
        "bare_floor_ms": m["bare_floor"],
        "sweep_over_bare_floor": round(m["sweep"] / m["bare_floor"], 2),
        "empty_sweep_right_after_ms": m["empty_right_after"],
        "empty_sweep_ms": m["empty"],
        "overdue_page_ms": m["page"],
        "samples": agency.samples,
    }


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--keep", action="store_true", help="keep the scratch databases")
    args = parser.parse_args()
    agencies = [await setup(size) for size in args.sizes]
    for agency in agencies:  # a first round warms caches and is not counted
        await one_round(agency)
        agency.samples.clear()
    for number in range(args.rounds):
        for agency in agencies if number % 2 == 0 else reversed(agencies):
            await one_round(agency)
        print(f"round {number + 1}/{args.rounds} done", flush=True)
    results: dict[str, Any] = {}
    for agency in agencies:
        results[str(agency.size)] = summary(agency)
        shown = {k: v for k, v in results[str(agency.size)].items() if k != "samples"}
        print(f"[{agency.size:,}] {json.dumps(shown)}", flush=True)
        await agency.client.aclose()
        await agency.lifespan.__aexit__(None, None, None)
        await agency.conn.close()
        if not args.keep:
            await drop_database(agency.name)
    if len(agencies) >= 2:
        small, large = results[str(min(args.sizes))], results[str(max(args.sizes))]
        results["scaling"] = {
            key: round(large[key] / small[key], 2)
            for key in ("empty_sweep_right_after_ms", "empty_sweep_ms", "overdue_page_ms")
        }
        print(json.dumps(results["scaling"]))
    RESULTS.mkdir(exist_ok=True)
    machine = {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
    }
    (RESULTS / "sweep.json").write_text(
        json.dumps({"machine": machine, "results": results}, indent=2) + "\n"
    )


if __name__ == "__main__":
    asyncio.run(main())
