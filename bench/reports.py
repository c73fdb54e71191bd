"""Benchmark of the reports (issue 8) at 300,000 interviews, on PostgreSQL and SQLite.

    .venv/bin/python -m bench.reports                       # PostgreSQL and SQLite, 300,000
    .venv/bin/python -m bench.reports --databases postgresql --interviews 100000
    .venv/bin/python -m bench.reports --json /tmp/reports.json   # raw samples too

It seeds one scratch database per engine (PostgreSQL `debrief_bench_reports`, dropped
afterwards unless --keep; SQLite a file in a temporary directory, or --sqlite-file, kept) with
an agency's two years:
20 recruiters, 200 clients (one of them with a tenth of all interviews), 100,000 candidates
(2% erased), and `--interviews` interviews spread over 700 days: 5% cancelled or no-show,
outcomes with the dates they were recorded and promised, a debrief for 90% of those held
(with 0-3 challenging questions drawn from 300 questions in several wordings each, and a
thank-you note for 70%), and their follow-ups (debrief call, thank-you note, employer
chase), some overdue and escalated.

Then, in rounds (one warm-up round, then --rounds counted), on each engine:
  floor      `SELECT client_id, count(*) FROM interviews WHERE starts_at in the period
             GROUP BY client_id` through the raw driver (asyncpg, sqlite3): one scan of the
             same rows, one aggregate, no joins
  reports    each report endpoint through the app (in-process ASGI, a recruiter's key), for
             the whole two years (every interview) and for the default 90 days; the questions
             of the biggest client and of a typical one
Figures are medians, in milliseconds, with the ratio to the floor of the same period.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import sqlite3
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from app.db.migrations import upgrade
from app.ids import uuid7
from bench.common import app_client, drop_database, fresh_database, median, timed, utc_now

PG_NAME = "debrief_bench_reports"
FLOOR_SQL = (
    "SELECT client_id, count(*) FROM interviews WHERE starts_at >= {a} AND starts_at < {b} "
    "GROUP BY client_id"
)
STAGES = ("screening", "first", "second", "final", "assessment", "other")
STAGE_WEIGHTS = (10, 40, 25, 15, 5, 5)
OUTCOMES = ("pending", "next_round", "offer", "rejected", "withdrawn")
OUTCOME_WEIGHTS = (30, 25, 10, 30, 5)
TOPICS = (
    "tell me about yourself",
    "what is your greatest weakness",
    "why do you want to leave your current job",
    "describe a time you handled conflict in a team",
    "where do you see yourself in five years",
    "walk me through a reconciliation you owned",
    "how would you handle a missed month-end deadline",
    "what do you know about our clients",
    "explain deferred revenue to a non-accountant",
    "what salary are you expecting",
)


def question_pool(rng: random.Random) -> list[list[str]]:
    """300 questions, each in a few wordings (case, punctuation, a contraction)."""
    pool = []
    for n in range(300):
        base = f"{TOPICS[n % len(TOPICS)]} (case {n // len(TOPICS)})"
        wordings = [base.capitalize() + "?", base, base.upper(), base.capitalize() + "."]
        if base.startswith("what is"):
            wordings.append("What's" + base[7:] + "?")
        pool.append(wordings)
    rng.shuffle(pool)
    return pool


# ---------------------------------------------------------------------------- the data


@dataclass
class History:
    staff: list[tuple[Any, ...]] = field(default_factory=list)
    clients: list[tuple[Any, ...]] = field(default_factory=list)
    candidates: list[tuple[Any, ...]] = field(default_factory=list)
    interviews: list[tuple[Any, ...]] = field(default_factory=list)
    debriefs: list[tuple[Any, ...]] = field(default_factory=list)
    follow_ups: list[tuple[Any, ...]] = field(default_factory=list)
    big_client: uuid.UUID | None = None
    typical_client: uuid.UUID | None = None


STAFF_COLUMNS = ("id", "full_name", "email", "active", "created_at", "updated_at", "version")
CLIENT_COLUMNS = ("id", "name", "created_at", "updated_at", "version")
CANDIDATE_COLUMNS = (
    "id",
    "full_name",
    "phone",
    "owner_id",
    "status",
    "job_search_active",
    "erased_at",
    "created_at",
    "updated_at",
    "version",
)
INTERVIEW_COLUMNS = (
    "id",
    "candidate_id",
    "client_id",
    "job_title",
    "stage",
    "format",
    "starts_at",
    "ends_at",
    "duration_minutes",
    "interviewers",
    "decision_expected_by",
    "status",
    "outcome",
    "outcome_recorded_at",
    "follow_ups_opened_at",
    "created_at",
    "updated_at",
    "version",
)
DEBRIEF_COLUMNS = (
    "id",
    "interview_id",
    "channel",
    "challenging_questions",
    "thank_you_sent_at",
    "received_at",
    "received_via",
    "called_at",
    "created_at",
    "updated_at",
    "version",
)
FOLLOW_UP_COLUMNS = (
    "id",
    "interview_id",
    "candidate_id",
    "kind",
    "status",
    "due_at",
    "opened_at",
    "overdue_at",
    "completed_at",
    "late",
    "reminders_sent",
    "escalated_at",
    "reminder_interval_days",
    "max_reminders",
    "created_at",
    "updated_at",
    "version",
)


def make_history(interviews: int, now: datetime, seed: int = 8) -> History:
    rng = random.Random(seed)
    h = History()
    staff_ids = [uuid7() for _ in range(20)]
    h.staff = [
        (s, f"Recruiter {i}", f"r{i}@agency.co.uk", True, now, now, 1)
        for i, s in enumerate(staff_ids)
    ]
    client_ids = [uuid7() for _ in range(200)]
    h.clients = [(c, f"Employer {i}", now, now, 1) for i, c in enumerate(client_ids)]
    h.big_client, h.typical_client = client_ids[0], client_ids[100]
    n_candidates = 100_000
    candidate_ids = [uuid7() for _ in range(n_candidates)]
    for i, c in enumerate(candidate_ids):
        owner = None if i % 20 == 19 else staff_ids[i % 20]
        if i % 50 == 7:  # erased: the row stays, emptied
            h.candidates.append((c, "", None, owner, "archived", False, now, now, now, 1))
        else:
            phone = f"+4479111{i % 100000:05d}"
            h.candidates.append(
                (c, f"Candidate {i}", phone, owner, "active", True, None, now, now, 1)
            )
    pool = question_pool(rng)
    day = timedelta(days=1)
    for _ in range(interviews):
        interview_id = uuid7()
        candidate = candidate_ids[rng.randrange(n_candidates)]
        client = client_ids[0] if rng.random() < 0.1 else client_ids[rng.randrange(1, 200)]
        ends = (now - day * (1 + rng.random() * 700)).replace(second=0, microsecond=0)
        starts = ends - timedelta(hours=1)
        roll = rng.random()
        status = "cancelled" if roll < 0.03 else "no_show" if roll < 0.05 else "completed"
        held = status == "completed"
        outcome = rng.choices(OUTCOMES, OUTCOME_WEIGHTS)[0] if held else "pending"
        recorded = None
        if outcome != "pending":
            recorded = min(ends + day * rng.uniform(0.2, 30), now)
        promised = None
        if held and rng.random() < 0.6:
            promised = ends.date() + timedelta(days=rng.randrange(3, 22))
        h.interviews.append(
            (
                interview_id,
                candidate,
                client,
                "Senior Accountant" if rng.random() < 0.5 else "Analyst",
                rng.choices(STAGES, STAGE_WEIGHTS)[0],
                "video",
                starts,
                ends,
                60,
                "[]",
                promised,
                status,
                outcome,
                recorded,
                ends if held else None,
                now,
                now,
                1,
            )
        )
        if not held:
            continue
        received = None
        thank_you = None
        if rng.random() < 0.9:
            received = min(ends + timedelta(hours=rng.expovariate(1 / 6)), now)
            if rng.random() < 0.7:
                thank_you = min(ends + timedelta(hours=rng.uniform(0.5, 48)), now)
            questions = [rng.choice(rng.choice(pool)) for _ in range(rng.randrange(4))]
            h.debriefs.append(
                (
                    uuid7(),
                    interview_id,
                    "phone",
                    json.dumps(questions),
                    thank_you,
                    received,
                    "staff",
                    received,
                    now,
                    now,
                    1,
                )
            )
        for kind, due, done_at in (
            ("debrief_call", ends + timedelta(hours=8), received),
            ("thank_you_note", ends + timedelta(hours=24), thank_you),
            ("employer_follow_up", ends + 7 * day, recorded),
        ):
            late = done_at is not None and done_at > due
            overdue_at = due if (done_at is None and due < now) or late else None
            escalated = due + 6 * day if overdue_at and (done_at or now) > due + 6 * day else None
            status_ = "done" if done_at else "overdue" if overdue_at else "pending"
            h.follow_ups.append(
                (
                    uuid7(),
                    interview_id,
                    candidate,
                    kind,
                    status_,
                    due,
                    ends,
                    overdue_at,
                    done_at,
                    late,
                    3 if escalated else 0,
                    escalated,
                    2,
                    3,
                    now,
                    now,
                    1,
                )
            )
    return h


def tables(h: History) -> Iterable[tuple[str, tuple[str, ...], list[tuple[Any, ...]]]]:
    yield "staff", STAFF_COLUMNS, h.staff
    yield "clients", CLIENT_COLUMNS, h.clients
    yield "candidates", CANDIDATE_COLUMNS, h.candidates
    yield "interviews", INTERVIEW_COLUMNS, h.interviews
    yield "debriefs", DEBRIEF_COLUMNS, h.debriefs
    yield "follow_ups", FOLLOW_UP_COLUMNS, h.follow_ups


async def seed_postgres(url: str, h: History) -> None:
    conn = await asyncpg.connect(url)
    try:
        for table, columns, rows in tables(h):
            await conn.copy_records_to_table(table, records=rows, columns=list(columns))
        await conn.execute("VACUUM ANALYZE")
    finally:
        await conn.close()


def _sqlite_value(value: Any) -> Any:
    """As SQLAlchemy stores it on SQLite: UUIDs as 32 hex digits, UTC times without an
    offset, dates as ISO text."""
    if isinstance(value, uuid.UUID):
        return value.hex
    if isinstance(value, datetime):
        return value.replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
    if isinstance(value, date):
        return value.isoformat()
    return value


def seed_sqlite(path: Path, h: History) -> None:
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=OFF")
        for table, columns, rows in tables(h):
            marks = ", ".join("?" for _ in columns)
            sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"
            conn.executemany(sql, ([_sqlite_value(v) for v in row] for row in rows))
            conn.commit()
        conn.execute("ANALYZE")
        conn.commit()
    finally:
        conn.close()


# ---------------------------------------------------------------------------- measuring


@dataclass
class Engine:
    name: str
    floor: Callable[[datetime, datetime], Awaitable[int]]
    client: httpx.AsyncClient
    lifespan: AbstractAsyncContextManager[Any]
    close: Callable[[], Awaitable[None]]
    samples: dict[str, list[float]] = field(default_factory=dict)

    def add(self, name: str, value: float) -> None:
        self.samples.setdefault(name, []).append(round(value, 3))


async def postgres_engine(h: History, now: datetime) -> Engine:
    url = await fresh_database(PG_NAME)
    print("[postgresql] seeding ...", flush=True)
    started = time.perf_counter()
    await seed_postgres(url, h)
    print(f"[postgresql] seeded in {time.perf_counter() - started:.0f} s", flush=True)
    conn = await asyncpg.connect(url)
    sa_url = url.replace("postgresql://", "postgresql+asyncpg://", 1)
    client, lifespan = await app_client(sa_url, now, h.staff[0][0])
    sql = FLOOR_SQL.format(a="$1", b="$2")

    async def floor(start: datetime, end: datetime) -> int:
        return len(await conn.fetch(sql, start, end))

    async def close() -> None:
        await conn.close()

    return Engine("postgresql", floor, client, lifespan, close)


async def sqlite_engine(h: History, now: datetime, path: Path) -> Engine:
    for leftover in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        leftover.unlink(missing_ok=True)
    url = f"sqlite+aiosqlite:///{path}"
    await upgrade(url)
    print("[sqlite] seeding ...", flush=True)
    started = time.perf_counter()
    await asyncio.to_thread(seed_sqlite, path, h)
    print(f"[sqlite] seeded in {time.perf_counter() - started:.0f} s", flush=True)
    conn = sqlite3.connect(path)
    client, lifespan = await app_client(url, now, h.staff[0][0])
    sql = FLOOR_SQL.format(a="?", b="?")

    async def floor(start: datetime, end: datetime) -> int:
        return len(conn.execute(sql, (_sqlite_value(start), _sqlite_value(end))).fetchall())

    async def close() -> None:
        conn.close()

    return Engine("sqlite", floor, client, lifespan, close)


def periods(now: datetime) -> dict[str, tuple[datetime, datetime]]:
    return {"2y": (now - timedelta(days=730), now), "90d": (now - timedelta(days=90), now)}


def requests(h: History, now: datetime) -> dict[str, tuple[str, str, dict[str, str]]]:
    """name -> (period it is compared with, path, query)."""
    found: dict[str, tuple[str, str, dict[str, str]]] = {}
    for label, (start, end) in periods(now).items():
        span = {"from": start.isoformat(), "to": end.isoformat()}
        found[f"debrief-timeliness {label}"] = (label, "/v1/reports/debrief-timeliness", span)
        found[f"employer-decisions {label}"] = (label, "/v1/reports/employer-decisions", span)
        found[f"pipeline (weeks) {label}"] = (
            label,
            "/v1/reports/pipeline",
            span | {"bucket": "week"},
        )
    found["interview-questions, biggest client (all time)"] = (
        "2y",
        f"/v1/clients/{h.big_client}/interview-questions",
        {},
    )
    found["interview-questions, typical client (all time)"] = (
        "2y",
        f"/v1/clients/{h.typical_client}/interview-questions",
        {},
    )
    return found


async def one_round(engine: Engine, h: History, now: datetime) -> None:
    for label, (start, end) in periods(now).items():
        rows: list[int] = []

        async def floor(
            start: datetime = start, end: datetime = end, rows: list[int] = rows
        ) -> None:
            rows.append(await engine.floor(start, end))

        for _ in range(3):
            engine.add(f"floor {label}", await timed(floor))
        assert rows[-1] > 0, rows
    for name, (_, path, query) in requests(h, now).items():
        answers: list[httpx.Response] = []

        async def call(
            path: str = path, query: dict[str, str] = query, answers: list[Any] = answers
        ) -> None:
            answers.append(await engine.client.get(path, params=query))

        engine.add(name, await timed(call))
        assert answers[-1].status_code == 200, answers[-1].text


def summary(engine: Engine, h: History, now: datetime) -> dict[str, Any]:
    m = {name: median(values) for name, values in engine.samples.items()}
    out: dict[str, Any] = {f"floor {label}": m[f"floor {label}"] for label in periods(now)}
    for name, (label, _, _) in requests(h, now).items():
        out[name] = {"ms": m[name], "over_floor": round(m[name] / m[f"floor {label}"], 1)}
    return out


def table(results: dict[str, dict[str, Any]]) -> str:
    engines = list(results)
    lines = [
        "| | " + " | ".join(f"{e} ms | ÷ floor" for e in engines) + " |",
        "| --- |" + " ---: | ---: |" * len(engines),
    ]
    names = list(next(iter(results.values())))
    for name in names:
        cells = []
        for e in engines:
            value = results[e][name]
            if isinstance(value, dict):
                cells += [f"{value['ms']:.1f}", f"{value['over_floor']:.1f}\u00d7"]
            else:
                cells += [f"{value:.1f}", ""]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--interviews", type=int, default=300_000)
    parser.add_argument("--rounds", type=int, default=10, help="counted rounds (at least 1)")
    parser.add_argument(
        "--databases", nargs="+", default=["postgresql", "sqlite"], choices=["postgresql", "sqlite"]
    )
    parser.add_argument("--keep", action="store_true", help="keep the PostgreSQL database")
    parser.add_argument("--sqlite-file", type=Path, help="seed SQLite here, and keep it")
    parser.add_argument("--json", type=Path, help="also write the figures and samples here")
    args = parser.parse_args()
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    now = utc_now()
    print(f"generating {args.interviews:,} interviews ...", flush=True)
    h = make_history(args.interviews, now)
    print(
        f"{len(h.interviews):,} interviews, {len(h.debriefs):,} debriefs, "
        f"{len(h.follow_ups):,} follow-ups, {len(h.candidates):,} candidates",
        flush=True,
    )
    with tempfile.TemporaryDirectory() as directory:
        engines = []
        if "postgresql" in args.databases:
            engines.append(await postgres_engine(h, now))
        if "sqlite" in args.databases:
            path = args.sqlite_file or Path(directory) / "reports.db"
            engines.append(await sqlite_engine(h, now, path))
        for engine in engines:  # warm-up, not counted
            await one_round(engine, h, now)
            engine.samples.clear()
        for number in range(args.rounds):
            for engine in engines if number % 2 == 0 else reversed(engines):
                await one_round(engine, h, now)
            print(f"round {number + 1}/{args.rounds} done", flush=True)
        results = {e.name: summary(e, h, now) for e in engines}
        for engine in engines:
            await engine.client.aclose()
            await engine.lifespan.__aexit__(None, None, None)
            await engine.close()
    if "postgresql" in args.databases and not args.keep:
        await drop_database(PG_NAME)
    print(table(results))
    if args.json:
        machine = {
            "python": platform.python_version(),
            "machine": platform.machine(),
            "cpus": os.cpu_count(),
            "sqlite": sqlite3.sqlite_version,
        }
        samples = {e.name: e.samples for e in engines}
        args.json.write_text(
            json.dumps(
                {
                    "machine": machine,
                    "interviews": args.interviews,
                    "results": results,
                    "samples": samples,
                },
                indent=2,
            )
            + "\n"
        )


if __name__ == "__main__":
    asyncio.run(main())
