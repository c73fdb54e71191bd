"""HTTP load benchmark of the running service, against the floor of its own stack, same run.

    make bench-http                                   # the whole suite (about 25 minutes)
    .venv/bin/python -m bench.http --quick            # 5,000 candidates, short runs: a smoke test
    .venv/bin/python -m bench.http --db postgres --keep --duration 10 --connections 32

It seeds a scratch database (PostgreSQL `debrief_bench_http`, SQLite under
/tmp/debrief-bench-http/) with 100,000 candidates and 300,000 interviews through COPY /
executemany, migrated with `debrief migrate`, and an admin key from `debrief create-key`.
Then, per database and round, it alternates the floor (`bench/floor.py`: Starlette, the raw
driver) with the service (`debrief serve`) under wrk. The reads' floor is one primary-key
SELECT; the debrief POST's is the write floor (its writes in one transaction) and the bulk
upsert's a raw batch insert (`bench/write_floor.py`), driven by the service's own scripts:

  candidate  GET /v1/candidates/{id}          a random real id per request
  overdue    GET /v1/debriefs/overdue         the recruiters' queue, first page
  events     GET /v1/events?cursor=...        a random page of the feed
  debrief    POST /v1/interviews/{id}/debrief record (201) or amend (200) a debrief
  bulk       POST /v1/candidates/bulk         1,000 new candidates a call, 2 connections

The server is pinned to core 0 and wrk to core 1 (`taskset`); every server is started fresh
for its run, warmed up for 2 s, then measured. Peak memory is the sum of VmHWM over the
server's processes. Each service figure is divided by the floor run just before it. On
PostgreSQL the service and the floor are also run with 1, 2 and 4 worker processes.
Raw results go to bench/results/http.json, the plot to bench/results/http.png, the tables
to bench/results/http.md and into bench/README.md (between the bench-http markers).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import importlib.metadata
import json
import os
import platform
import random
import secrets
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import orjson

from app.ids import uuid7
from app.schemas.base import iso
from bench.common import SECRET_KEY, SERVER_URL, database_url, drop_database

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
WRK_DIR = ROOT / "bench" / "wrk"
README = ROOT / "bench" / "README.md"
# `debrief` as `python -m app.cli` with this checkout first on the path: the console script
# imports whichever checkout the virtualenv was installed from, not necessarily this one
# (whose app/ `code_state` digests).
DEBRIEF = [sys.executable, "-m", "app.cli"]
SCRATCH = Path(os.environ.get("BENCH_HTTP_SCRATCH", "/tmp/debrief-bench-http"))
PG_NAME = "debrief_bench_http"
BEGIN_MARK = "<!-- bench-http:begin (written by bench/http.py) -->"
END_MARK = "<!-- bench-http:end -->"

SERVER_CPUS = "0"
WRK_CPUS = "1"
# BENCH_HTTP_PORT moves both, for two benchmarks on one machine.
SERVICE_PORT = int(os.environ.get("BENCH_HTTP_PORT", "18731"))
FLOOR_PORT = SERVICE_PORT + 1
WARMUP_SECONDS = 2


@dataclass(frozen=True)
class Endpoint:
    name: str
    label: str
    short: str
    script: str
    write: bool = False
    connections: int | None = None  # None: the run's fixed concurrency
    duration_factor: float = 1.0
    # Which floor it is measured against: "read" (a primary-key SELECT, floor.lua), "write"
    # (the debrief's writes in one transaction) or "batch" (a raw batch insert); the write
    # floors answer at the service's path, so the service's own script drives them.
    floor: str = "read"

    @property
    def floor_script(self) -> str:
        return "floor.lua" if self.floor == "read" else self.script


ENDPOINTS = {
    e.name: e
    for e in (
        Endpoint("candidate", "GET /v1/candidates/{id}", "GET\ncandidates/{id}", "candidate.lua"),
        Endpoint("overdue", "GET /v1/debriefs/overdue", "GET\ndebriefs/overdue", "overdue.lua"),
        Endpoint("events", "GET /v1/events (random page)", "GET\nevents page", "events.lua"),
        Endpoint(
            "debrief",
            "POST /v1/interviews/{id}/debrief",
            "POST\ndebrief",
            "debrief.lua",
            write=True,
            floor="write",
        ),
        Endpoint(
            "bulk",
            "POST /v1/candidates/bulk (1,000)",
            "POST bulk\n1,000 (c=2)",
            "bulk.lua",
            write=True,
            connections=2,
            duration_factor=2.0,
            floor="batch",
        ),
    )
}
BULK_BATCH = 1000
X = "\u00d7"  # the multiplication sign of the tables
# endpoint: (req/s ÷ its floor's at least, p99 ÷ its floor's at most; None: no p99 target).
TARGETS: dict[str, tuple[float, float | None]] = {
    "candidate": (0.50, 2.0),
    "overdue": (0.35, 2.0),
    "debrief": (0.35, 3.0),
    "bulk": (1.0, None),
}
FLOOR_BARS = {"read": "floor\n(PK SELECT)", "write": "write floor", "batch": "batch floor"}
FLOORS = {
    "read": "floor: Starlette + {driver}, `GET /candidates/{{id}}`",
    "write": "write floor: Starlette + {driver}, the debrief's writes in one transaction",
    "batch": "batch-insert floor: Starlette + {driver}, 1,000 rows by `executemany`",
}


# --------------------------------------------------------------------------------------
# Seeding: an agency's history, written straight into the tables.
# --------------------------------------------------------------------------------------

FIRST = (
    "Amira",
    "Tom",
    "Priya",
    "Kwame",
    "Sofia",
    "Liam",
    "Mei",
    "Oluwaseun",
    "Grace",
    "Hamza",
    "Chloe",
    "Arjun",
    "Zara",
    "Callum",
    "Ines",
    "Tariq",
    "Freya",
    "Mateusz",
    "Aisha",
    "Owen",
)
LAST = (
    "Okafor",
    "Walsh",
    "Shah",
    "Mensah",
    "Rossi",
    "Byrne",
    "Chen",
    "Adeyemi",
    "Patel",
    "Kowalski",
    "Hughes",
    "Ali",
    "Murphy",
    "Evans",
    "Novak",
    "Osei",
    "Begum",
    "Fraser",
    "Silva",
    "Doyle",
)
TITLES = (
    "Senior Accountant",
    "Payroll Manager",
    "Data Analyst",
    "Backend Engineer",
    "Office Manager",
    "Credit Controller",
    "HR Business Partner",
    "Marketing Executive",
    "Project Manager",
    "Customer Success Lead",
)
STAGES = ("screening", "first", "first", "second", "final", "assessment")
FORMATS = ("video", "video", "in_person", "phone")
OUTCOMES = ("pending", "pending", "next_round", "offer", "rejected", "rejected")

# (column, kind): u uuid, t timestamp, j JSON (already text), b boolean, d date, "" as is.
COLUMNS: dict[str, list[tuple[str, str]]] = {
    "staff": [
        ("id", "u"),
        ("full_name", ""),
        ("email", ""),
        ("active", "b"),
        ("created_at", "t"),
        ("updated_at", "t"),
        ("version", ""),
    ],
    "clients": [
        ("id", "u"),
        ("external_id", ""),
        ("name", ""),
        ("created_at", "t"),
        ("updated_at", "t"),
        ("version", ""),
    ],
    "candidates": [
        ("id", "u"),
        ("external_id", ""),
        ("full_name", ""),
        ("email", ""),
        ("phone", ""),
        ("linkedin_url", ""),
        ("owner_id", "u"),
        ("timezone", ""),
        ("status", ""),
        ("job_search_active", "b"),
        ("created_at", "t"),
        ("updated_at", "t"),
        ("version", ""),
    ],
    "interviews": [
        ("id", "u"),
        ("external_id", ""),
        ("candidate_id", "u"),
        ("client_id", "u"),
        ("job_title", ""),
        ("stage", ""),
        ("format", ""),
        ("starts_at", "t"),
        ("ends_at", "t"),
        ("duration_minutes", ""),
        ("interviewers", "j"),
        ("point_of_contact", "j"),
        ("decision_expected_by", "d"),
        ("next_step", ""),
        ("status", ""),
        ("outcome", ""),
        ("outcome_recorded_at", "t"),
        ("follow_ups_opened_at", "t"),
        ("created_at", "t"),
        ("updated_at", "t"),
        ("version", ""),
    ],
    "follow_ups": [
        ("id", "u"),
        ("interview_id", "u"),
        ("candidate_id", "u"),
        ("kind", ""),
        ("status", ""),
        ("due_at", "t"),
        ("opened_at", "t"),
        ("overdue_at", "t"),
        ("completed_at", "t"),
        ("completed_by", ""),
        ("late", "b"),
        ("reminders_sent", ""),
        ("next_notice_at", "t"),
        ("reminder_interval_days", ""),
        ("max_reminders", ""),
        ("created_at", "t"),
        ("updated_at", "t"),
        ("version", ""),
    ],
    "debriefs": [
        ("id", "u"),
        ("interview_id", "u"),
        ("channel", ""),
        ("overall_rating", ""),
        ("went_well", ""),
        ("challenging_questions", "j"),
        ("still_interested", ""),
        ("company_fit", ""),
        ("notes", ""),
        ("received_at", "t"),
        ("received_via", ""),
        ("called_at", "t"),
        ("created_at", "t"),
        ("updated_at", "t"),
        ("version", ""),
    ],
    "events": [
        ("id", "u"),
        ("type", ""),
        ("occurred_at", "t"),
        ("data", "j"),
        ("candidate_id", "u"),
    ],
}


def _json(value: Any) -> str:
    return orjson.dumps(value).decode()


class Agency:
    """Rows of an agency's history, generated in chunks in foreign-key order.

    Per candidate three interviews. About 1% of interviews are still to come, 1% ended in
    the last few hours (debrief call pending, not yet due), 1% have a debrief call overdue
    (the recruiters' queue) and the rest are history: follow-ups done, 60% with a debrief.
    Events: candidate.created, interview.scheduled and follow_up.overdue for every one."""

    def __init__(self, candidates: int, now: datetime, seed: int = 7) -> None:
        self.n = candidates
        self.now = now
        self.rng = random.Random(seed)
        self.staff = [uuid7() for _ in range(20)]
        self.clients = [uuid7() for _ in range(max(candidates // 200, 50))]
        self.candidate_ids: list[str] = []
        self.debrief_targets: list[str] = []
        self.counts: dict[str, int] = dict.fromkeys(COLUMNS, 0)
        self.counts["overdue_debrief_calls"] = 0

    def tables(self, chunk: int = 5000) -> Iterator[tuple[str, list[tuple[Any, ...]]]]:
        now = self.now
        yield (
            "staff",
            [
                (s, f"Recruiter {i}", f"recruiter{i}@agency.co.uk", True, now, now, 1)
                for i, s in enumerate(self.staff)
            ],
        )
        yield (
            "clients",
            [
                (c, f"crm-e-{i}", f"{LAST[i % len(LAST)]} & Co {i}", now, now, 1)
                for i, c in enumerate(self.clients)
            ],
        )
        for start in range(0, self.n, chunk):
            yield from self._chunk(start, min(start + chunk, self.n))

    def _follow_up(
        self,
        interview: tuple[Any, ...],
        kind: str,
        status: str,
        due: datetime,
        *,
        overdue_at: datetime | None = None,
        completed_at: datetime | None = None,
        reminders: int = 0,
        next_notice: datetime | None = None,
    ) -> tuple[Any, ...]:
        ends = interview[8]
        return (
            uuid7(),
            interview[0],
            interview[2],
            kind,
            status,
            due,
            ends,
            overdue_at,
            completed_at,
            "system" if completed_at else None,
            bool(completed_at and completed_at > due),
            reminders,
            next_notice,
            2,
            3,
            ends,
            completed_at or overdue_at or ends,
            2 if completed_at or overdue_at else 1,
        )

    def _chunk(self, lo: int, hi: int) -> Iterator[tuple[str, list[tuple[Any, ...]]]]:
        rng, now = self.rng, self.now
        candidates, interviews, follow_ups, debriefs, events = [], [], [], [], []
        for i in range(lo, hi):
            cid = uuid7()
            first, last = FIRST[i % len(FIRST)], LAST[(i // len(FIRST)) % len(LAST)]
            joined = now - timedelta(days=730 * (1 - i / self.n), minutes=rng.randrange(600))
            candidate = (
                cid,
                f"crm-c-{i}",
                f"{first} {last}",
                f"{first.lower()}.{last.lower()}{i}@mail.co.uk",
                f"+4479{(i * 7919) % 100_000_000:08d}",
                f"https://www.linkedin.com/in/{first.lower()}-{last.lower()}-{i}",
                self.staff[i % len(self.staff)],
                "Europe/London",
                "active" if rng.random() < 0.9 else "placed",
                True,
                joined,
                joined,
                1,
            )
            candidates.append(candidate)
            self.candidate_ids.append(str(cid))
            events.append(self._event("candidate.created", joined, "candidate", candidate))
            for j in range(3):
                interviews.append(
                    self._interview(candidate, 3 * i + j, follow_ups, debriefs, events)
                )
        self.counts["candidates"] += len(candidates)
        self.counts["interviews"] += len(interviews)
        self.counts["follow_ups"] += len(follow_ups)
        self.counts["debriefs"] += len(debriefs)
        self.counts["events"] += len(events)
        yield "candidates", candidates
        yield "interviews", interviews
        yield "follow_ups", follow_ups
        yield "debriefs", debriefs
        yield "events", events

    def _interview(
        self,
        candidate: tuple[Any, ...],
        k: int,
        follow_ups: list[tuple[Any, ...]],
        debriefs: list[tuple[Any, ...]],
        events: list[tuple[Any, ...]],
    ) -> tuple[Any, ...]:
        rng, now = self.rng, self.now
        roll = rng.random()
        if roll < 0.01:
            kind, ends = "future", now + timedelta(days=rng.uniform(1, 30))
        elif roll < 0.02:
            kind, ends = "recent", now - timedelta(minutes=rng.uniform(10, 360))
        elif roll < 0.03:
            kind, ends = "overdue", now - timedelta(days=rng.uniform(2, 20))
        else:
            kind, ends = "history", now - timedelta(days=rng.uniform(1, 730))
        ends = ends.replace(microsecond=0)
        starts = ends - timedelta(minutes=60)
        outcome = rng.choice(OUTCOMES) if kind == "history" else "pending"
        client = self.clients[k % len(self.clients)]
        interview = (
            uuid7(),
            f"crm-i-{k}",
            candidate[0],
            client,
            TITLES[k % len(TITLES)],
            STAGES[k % len(STAGES)],
            FORMATS[k % len(FORMATS)],
            starts,
            ends,
            60,
            _json([{"name": "Dana Whitfield", "title": "Hiring Manager"}]),
            _json({"name": "Sam Ortiz", "email": "sam.ortiz@employer.co.uk"}),
            (ends + timedelta(days=14)).date() if k % 2 else None,
            "Await feedback" if k % 3 else None,
            "scheduled" if kind == "future" else "completed",
            outcome,
            ends + timedelta(days=3) if outcome != "pending" else None,
            None if kind == "future" else ends,
            starts - timedelta(days=7),
            ends,
            1,
        )
        events.append(self._event("interview.scheduled", starts, "interview", interview))
        if kind == "future":
            return interview
        call_due = ends + timedelta(hours=8)
        note_due = ends + timedelta(hours=24)
        iid = str(interview[0])
        if kind == "recent":
            follow_ups.append(self._follow_up(interview, "debrief_call", "pending", call_due))
            follow_ups.append(self._follow_up(interview, "thank_you_note", "pending", note_due))
            self.debrief_targets.append(iid)
        elif kind == "overdue":
            overdue_at = call_due + timedelta(minutes=rng.randrange(1, 60))
            follow_up = self._follow_up(
                interview,
                "debrief_call",
                "overdue",
                call_due,
                overdue_at=overdue_at,
                reminders=rng.randrange(0, 4),
                next_notice=now + timedelta(hours=rng.uniform(1, 48)),
            )
            follow_ups.append(follow_up)
            events.append(self._event("follow_up.overdue", overdue_at, "follow_up", follow_up))
            follow_ups.append(
                self._follow_up(
                    interview,
                    "thank_you_note",
                    "done",
                    note_due,
                    completed_at=ends + timedelta(hours=3),
                )
            )
            self.counts["overdue_debrief_calls"] += 1
        else:
            called = ends + timedelta(hours=rng.uniform(1, 10))
            follow_ups.append(
                self._follow_up(interview, "debrief_call", "done", call_due, completed_at=called)
            )
            follow_ups.append(
                self._follow_up(
                    interview,
                    "thank_you_note",
                    "done",
                    note_due,
                    completed_at=ends + timedelta(hours=rng.uniform(1, 30)),
                )
            )
            if k % 3 == 0:
                chase = ends + timedelta(days=7)
                follow_ups.append(
                    self._follow_up(
                        interview,
                        "employer_follow_up",
                        "done",
                        chase,
                        completed_at=chase - timedelta(days=1),
                    )
                )
            if rng.random() < 0.6:
                debriefs.append(
                    (
                        uuid7(),
                        interview[0],
                        "phone",
                        rng.randint(1, 5),
                        "Good rapport with the hiring manager.",
                        _json(["Why are you leaving your current role?"]),
                        rng.choice(("yes", "no", "unsure")),
                        rng.randint(1, 5),
                        "Keen; expects a decision within two weeks.",
                        called,
                        "staff",
                        called,
                        called,
                        called,
                        1,
                    )
                )
            if len(self.debrief_targets) < self.n // 10 and rng.random() < 0.05:
                self.debrief_targets.append(iid)
        return interview

    def _event(self, kind: str, at: datetime, holder: str, row: tuple[Any, ...]) -> tuple[Any, ...]:
        """The event as the service writes it: `{holder: the object as the API shows it}`."""
        data: dict[str, Any] = {}
        for (name, column_kind), value in zip(COLUMNS[f"{holder}s"], row, strict=True):
            if name == "follow_ups_opened_at":
                continue
            if value is None:
                pass
            elif column_kind == "t":
                value = iso(value)
            elif column_kind in ("u", "d"):
                value = str(value)
            elif column_kind == "j":
                value = orjson.loads(value)
            data[name] = value
        subject = row[0] if holder == "candidate" else row[2]
        return (uuid7(), kind, at, _json({holder: data}), subject)


def _sqlite_converters(table: str) -> list[Any]:
    def stamp(v: datetime) -> str:
        return v.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")

    by_kind: dict[str, Any] = {
        "u": lambda v: v.hex,
        "t": stamp,
        "b": int,
        "d": lambda v: v.isoformat(),
        "j": None,
        "": None,
    }
    return [by_kind[kind] for _, kind in COLUMNS[table]]


def _to_sqlite(table: str, rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    converters = _sqlite_converters(table)
    return [
        tuple(v if (f is None or v is None) else f(v) for f, v in zip(converters, row, strict=True))
        for row in rows
    ]


# --------------------------------------------------------------------------------------
# Scratch databases.
# --------------------------------------------------------------------------------------


@dataclass
class Scratch:
    db: str  # postgres | sqlite
    size: int
    dir: Path
    service_url: str = ""
    floor_url: str = ""
    key: str = ""
    pg_name: str = PG_NAME
    counts: dict[str, int] = field(default_factory=dict)
    seed_seconds: float = 0.0
    reused: bool = False

    @property
    def meta_path(self) -> Path:
        return self.dir / "meta.json"

    def data_ready(self) -> bool:
        names = ("candidates.txt", "debrief_interviews.txt", "staff.txt", "event_cursors.txt")
        return self.meta_path.exists() and all((self.dir / n).exists() for n in names)


def _env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEBRIEF_")}
    env.update(extra or {})
    return env


def _service_env(scratch: Scratch) -> dict[str, str]:
    return _env(
        {
            "PYTHONPATH": str(ROOT),
            "DEBRIEF_DATABASE_URL": scratch.service_url,
            "DEBRIEF_SECRET_KEY": SECRET_KEY,
            "DEBRIEF_SCHEDULER_ENABLED": "false",
            "DEBRIEF_WEBHOOK_DELIVERY_ENABLED": "false",
            "DEBRIEF_RATE_LIMIT_PER_MINUTE": "0",
            "DEBRIEF_LOG_LEVEL": "WARNING",
        }
    )


def _debrief(scratch: Scratch, *args: str) -> str:
    done = subprocess.run(
        [*DEBRIEF, *args],
        env=_service_env(scratch),
        cwd=scratch.dir,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"debrief {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


async def _exists(scratch: Scratch) -> bool:
    if scratch.db == "sqlite":
        return (scratch.dir / "bench.sqlite").exists()
    admin = await asyncpg.connect(SERVER_URL)
    try:
        found = await admin.fetchval(
            "SELECT 1 FROM pg_database WHERE datname = $1", scratch.pg_name
        )
        return bool(found)
    finally:
        await admin.close()


def _phone_prefixes() -> list[str]:
    """UK mobile prefixes (7xxx) under which every six-digit number is valid."""
    import phonenumbers

    found = []
    for prefix in range(7400, 8000, 7):
        samples = (0, 123456, 999999, 500000, 31337)
        if all(
            phonenumbers.is_valid_number(phonenumbers.parse(f"+44{prefix}{s:06d}")) for s in samples
        ):
            found.append(str(prefix))
    return found[:40]


async def prepare(
    db: str, size: int, keep: bool, quick: bool, *, name: str = PG_NAME, root: Path = SCRATCH
) -> Scratch:
    """The seeded scratch database `name` (PostgreSQL) or under `root` (SQLite; the data
    files either way); other benchmarks pass their own so that runs never share one."""
    name += "_quick" if quick else ""
    scratch = Scratch(db=db, size=size, dir=root / f"{db}-{size}", pg_name=name)
    scratch.dir.mkdir(parents=True, exist_ok=True)
    if db == "sqlite":
        path = scratch.dir / "bench.sqlite"
        scratch.service_url = f"sqlite+aiosqlite:///{path}"
        scratch.floor_url = f"sqlite:///{path}"
    else:
        url = database_url(name)
        scratch.service_url = url.replace("postgresql://", "postgresql+asyncpg://", 1)
        scratch.floor_url = url
    if keep and scratch.data_ready() and await _exists(scratch):
        meta = json.loads(scratch.meta_path.read_text())
        if meta.get("size") == size:
            scratch.key, scratch.counts = meta["key"], meta["counts"]
            scratch.seed_seconds, scratch.reused = meta.get("seed_seconds", 0.0), True
            print(f"[{db}] reusing the seeded database ({size:,} candidates)", flush=True)
            return scratch
    started = time.perf_counter()
    print(f"[{db}] seeding {size:,} candidates, {3 * size:,} interviews ...", flush=True)
    agency = Agency(size, datetime.now(UTC).replace(microsecond=0))
    if db == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            (scratch.dir / f"bench.sqlite{suffix}").unlink(missing_ok=True)
        _debrief(scratch, "migrate")
        conn = sqlite3.connect(scratch.dir / "bench.sqlite", isolation_level=None)
        conn.execute("PRAGMA synchronous=OFF")
        conn.execute("BEGIN")
        for table, rows in agency.tables():
            cols = [c for c, _ in COLUMNS[table]]
            sql = f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
            conn.executemany(sql, _to_sqlite(table, rows))
        conn.execute("COMMIT")
        _debrief(scratch, "rebuild-queue")  # the overdue calls' rows, as the service writes them
        conn.execute("ANALYZE")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.close()
    else:
        await drop_database(name)
        admin = await asyncpg.connect(SERVER_URL)
        try:
            await admin.execute(f'CREATE DATABASE "{name}"')
        finally:
            await admin.close()
        _debrief(scratch, "migrate")
        conn = await asyncpg.connect(scratch.floor_url)
        try:
            for table, rows in agency.tables():
                await conn.copy_records_to_table(
                    table, records=rows, columns=[c for c, _ in COLUMNS[table]]
                )
            _debrief(scratch, "rebuild-queue")  # the overdue calls' rows, as the service writes
            await conn.execute("VACUUM ANALYZE")
        finally:
            await conn.close()
    scratch.key = _debrief(scratch, "create-key", "--name", "bench", "--role", "admin").split()[-1]
    scratch.counts = {k: v for k, v in agency.counts.items() if k not in ("staff", "clients")}
    scratch.seed_seconds = round(time.perf_counter() - started, 1)
    (scratch.dir / "candidates.txt").write_text("\n".join(agency.candidate_ids) + "\n")
    agency.rng.shuffle(agency.debrief_targets)
    (scratch.dir / "debrief_interviews.txt").write_text("\n".join(agency.debrief_targets) + "\n")
    (scratch.dir / "staff.txt").write_text("\n".join(str(s) for s in agency.staff) + "\n")
    (scratch.dir / "phone_prefixes.txt").write_text("\n".join(_phone_prefixes()) + "\n")
    (scratch.dir / "event_cursors.txt").unlink(missing_ok=True)
    print(
        f"[{db}] seeded in {scratch.seed_seconds} s: "
        + ", ".join(f"{k} {v:,}" for k, v in scratch.counts.items()),
        flush=True,
    )
    return scratch


def save_meta(scratch: Scratch) -> None:
    scratch.meta_path.write_text(
        json.dumps(
            {
                "size": scratch.size,
                "key": scratch.key,
                "counts": scratch.counts,
                "seed_seconds": scratch.seed_seconds,
            }
        )
    )


# --------------------------------------------------------------------------------------
# Processes: servers under test, /proc accounting, wrk.
# --------------------------------------------------------------------------------------


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        tree.setdefault(ppid, []).append(int(entry.name))
    return tree


def process_tree(pid: int) -> list[int]:
    tree, found, todo = _children(), [], [pid]
    while todo:
        p = todo.pop()
        found.append(p)
        todo.extend(tree.get(p, []))
    return found


def _status_kb(pid: int, field_name: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field_name + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def per_pid_cpu(pids: list[int]) -> dict[int, float]:
    """CPU seconds (user + system) each process has used so far."""
    ticks = os.sysconf("SC_CLK_TCK")
    used: dict[int, float] = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        used[pid] = (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
    return used


def cpu_seconds(pids: list[int]) -> float:
    return sum(per_pid_cpu(pids).values())


class Server:
    """A server process under test, pinned with taskset, in its own process group."""

    def __init__(self, kind: str, scratch: Scratch, workers: int, cpus: str, port: int) -> None:
        self.kind, self.scratch, self.workers, self.cpus, self.port = (
            kind,
            scratch,
            workers,
            cpus,
            port,
        )
        self.proc: asyncio.subprocess.Process | None = None
        self.log = scratch.dir / f"{kind}.log"

    def command(self) -> tuple[list[str], dict[str, str]]:
        host, port, workers = "127.0.0.1", str(self.port), str(self.workers)
        if self.kind == "service":
            cmd = [*DEBRIEF, "serve", "--host", host, "--port", port]
            return [*cmd, "--workers", workers], _service_env(self.scratch)
        cmd = [sys.executable, "-m", "bench.floor", "--host", host, "--port", port]
        env = _env(
            {
                "FLOOR_DATABASE_URL": self.scratch.floor_url,
                "DEBRIEF_LOG_LEVEL": "WARNING",
                "PYTHONPATH": str(ROOT),
            }
        )
        return [*cmd, "--workers", workers], env

    @property
    def probe(self) -> str:
        if self.kind == "service":
            return "/healthz"
        return "/candidates/" + first_line(self.scratch.dir / "candidates.txt")

    async def __aenter__(self) -> Server:
        cmd, env = self.command()
        with self.log.open("ab") as log:
            self.proc = await asyncio.create_subprocess_exec(
                "taskset",
                "-c",
                self.cpus,
                *cmd,
                env=env,
                cwd=self.scratch.dir,
                stdout=log,
                stderr=asyncio.subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + 90
        async with httpx.AsyncClient(timeout=2) as client:
            while True:
                if self.proc.returncode is not None:
                    raise SystemExit(f"{self.kind} exited at start; see {self.log}")
                with suppress(httpx.HTTPError):
                    reply = await client.get(f"http://127.0.0.1:{self.port}{self.probe}")
                    if reply.status_code == 200:
                        break
                if time.monotonic() > deadline:
                    await self.stop()
                    raise SystemExit(f"{self.kind} did not answer in 90 s; see {self.log}")
                await asyncio.sleep(0.1)
        if self.workers > 1:
            await self._wait_for_workers()
        return self

    async def _wait_for_workers(self) -> None:
        """uvicorn answers as soon as one worker listens; wait until all have started."""
        assert self.proc is not None
        for _ in range(300):
            if len(process_tree(self.proc.pid)) >= self.workers + 1:
                break
            await asyncio.sleep(0.1)
        await asyncio.sleep(2.0)

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def pids(self) -> list[int]:
        return process_tree(self.proc.pid) if self.proc else []

    def peak_rss_mb(self) -> float:
        return round(sum(_status_kb(p, "VmHWM") for p in self.pids()) / 1024, 1)

    async def stop(self) -> None:
        """SIGTERM to the server's own process group (it was started in a new session)."""
        if self.proc is None or self.proc.returncode is not None:
            return
        with suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            await asyncio.wait_for(self.proc.wait(), timeout=15)
        except TimeoutError:
            with suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            await self.proc.wait()


def first_line(path: Path) -> str:
    with path.open() as lines:
        return lines.readline().strip()


async def postgres_backends(scratch: Scratch) -> list[int]:
    """The PostgreSQL server processes serving the scratch database."""
    conn = await asyncpg.connect(SERVER_URL)
    try:
        rows = await conn.fetch(
            "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
            scratch.pg_name,
        )
        return [r["pid"] for r in rows]
    finally:
        await conn.close()


async def wrk(
    script: str, port: int, connections: int, seconds: float, scratch: Scratch
) -> dict[str, Any]:
    env = _env(
        {
            "BENCH_WRK_DIR": str(WRK_DIR),
            "BENCH_DATA": str(scratch.dir),
            "BENCH_KEY": scratch.key,
            "BENCH_RUN": secrets.token_hex(4),
        }
    )
    cmd = ["taskset", "-c", WRK_CPUS, "wrk", "-t1", f"-c{connections}", f"-d{seconds:g}s"]
    cmd += ["--timeout", "60s", "-s", str(WRK_DIR / script), f"http://127.0.0.1:{port}"]
    proc = await asyncio.create_subprocess_exec(
        *cmd, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await proc.communicate()
    text = out.decode()
    for line in text.splitlines():
        if line.startswith("BENCH_JSON "):
            return dict(json.loads(line[len("BENCH_JSON ") :]))
    raise SystemExit(f"wrk gave no result for {script}:\n{text}\n{err.decode()}")


@dataclass
class Plan:
    duration: float
    connections: int
    max_error_rate: float


async def measure(
    kind: str,
    endpoint: Endpoint,
    scratch: Scratch,
    plan: Plan,
    *,
    workers: int = 1,
    cpus: str = SERVER_CPUS,
    tag: str = "",
    strict: bool = True,
) -> dict[str, Any]:
    """Start a fresh server, warm it up, measure one wrk run, read its peak memory.

    More than `plan.max_error_rate` of requests not answered 2xx (or failing) stops the
    benchmark (`strict`), or marks the run failed (scaling runs: the table says so)."""
    port = SERVICE_PORT if kind == "service" else FLOOR_PORT
    script = endpoint.floor_script if kind == "floor" else endpoint.script
    # The read floor always runs at the fixed concurrency, for the fixed time; a write
    # floor as the service it is paired with.
    if kind == "floor" and endpoint.floor == "read":
        connections, seconds = plan.connections, plan.duration
    else:
        connections = endpoint.connections or plan.connections
        seconds = plan.duration * endpoint.duration_factor
    async with Server(kind, scratch, workers, cpus, port) as server:
        await wrk(script, port, connections, WARMUP_SECONDS, scratch)
        backends = await postgres_backends(scratch) if scratch.db == "postgres" else []
        processes = set(server.pids())
        server_cpu0, db_cpu0 = cpu_seconds(list(processes)), per_pid_cpu(backends)
        result = await wrk(script, port, connections, seconds, scratch)
        server_cpu = cpu_seconds(server.pids()) - server_cpu0
        # A worker process that vanished during the run was killed (or died) and replaced.
        replaced = len(processes - set(server.pids()))
        db_cpu = 0.0
        if scratch.db == "postgres":
            # Backends opened during the run count from their start.
            after = per_pid_cpu(await postgres_backends(scratch))
            db_cpu = sum(cpu - db_cpu0.get(pid, 0.0) for pid, cpu in after.items())
        peak = server.peak_rss_mb()
    requests = result["requests"]
    errors = result["errors"]
    failed = errors["status"] + errors["timeout"] + errors["connect"] + errors["read"]
    failed += errors["write"]
    lat = result["latency_us"]
    row = {
        "db": scratch.db,
        "target": kind,
        "endpoint": "floor" if kind == "floor" else endpoint.name,
        "paired_with": endpoint.name,
        "floor_kind": endpoint.floor,
        "workers": workers,
        "server_cpus": cpus,
        "wrk_cpus": WRK_CPUS,
        "connections": connections,
        "seconds": round(result["duration_us"] / 1e6, 2),
        "requests": requests,
        "rps": round(requests / (result["duration_us"] / 1e6), 1),
        "p50_ms": round(lat["p50"] / 1000, 2),
        "p90_ms": round(lat["p90"] / 1000, 2),
        "p99_ms": round(lat["p99"] / 1000, 2),
        "max_ms": round(lat["max"] / 1000, 2),
        "mean_ms": round(lat["mean"] / 1000, 2),
        "errors": errors,
        "failed": failed,
        "peak_rss_mb": peak,
        "replaced_processes": replaced,
        "server_cpu_ms_per_request": round(1000 * server_cpu / max(requests, 1), 3),
        "db_cpu_ms_per_request": round(1000 * db_cpu / max(requests, 1), 3),
        "tag": tag,
    }
    if endpoint.name == "bulk":
        row["candidates_per_second"] = round(row["rps"] * BULK_BATCH, 1)
    print(
        f"  {scratch.db:8} {row['endpoint']:10} w={workers} cpus={cpus:4} c={connections:<3} "
        f"{row['rps']:>9,.1f} req/s  p50 {row['p50_ms']:>8.2f} ms  p99 {row['p99_ms']:>8.2f} ms  "
        f"rss {peak:>7.1f} MB  cpu/req {row['server_cpu_ms_per_request']:.3f}+"
        f"{row['db_cpu_ms_per_request']:.3f} ms  failed {failed}"
        + (f"  ({replaced} processes replaced)" if replaced else ""),
        flush=True,
    )
    row["ok"] = requests > 0 and failed <= plan.max_error_rate * requests
    if not row["ok"]:
        message = (
            f"FAILED: {kind} {endpoint.name} on {scratch.db} (workers {workers}, cores {cpus}): "
            f"{failed} of {requests} requests were not 2xx or failed ({errors}); "
            f"{replaced} server processes were replaced during the run; see {scratch.dir}/"
            f"{kind}.log. A benchmark whose requests fail measures nothing."
        )
        print("  " + message, flush=True)
        FAILURES.append(message)
        if strict:
            raise BenchFailed(message)
    return row


class BenchFailed(Exception):
    pass


FAILURES: list[str] = []


# --------------------------------------------------------------------------------------
# Before the load: cursors for the feed, and a check that every request is answered right.
# --------------------------------------------------------------------------------------


async def walk_events(scratch: Scratch) -> None:
    path = scratch.dir / "event_cursors.txt"
    if path.exists():
        return
    print(f"[{scratch.db}] walking /v1/events once for cursors ...", flush=True)
    cursors: list[str] = []
    async with Server("service", scratch, 1, SERVER_CPUS, SERVICE_PORT):
        headers = {"Authorization": f"Bearer {scratch.key}"}
        base = f"http://127.0.0.1:{SERVICE_PORT}"
        async with httpx.AsyncClient(base_url=base, headers=headers, timeout=60) as client:
            cursor: str | None = None
            while True:
                params: dict[str, Any] = {"limit": 200}
                if cursor is not None:
                    params["cursor"] = cursor
                reply = await client.get("/v1/events", params=params)
                reply.raise_for_status()
                page = reply.json()
                if not page["has_more"]:
                    break
                cursor = page["next_cursor"]
                cursors.append(cursor)
    path.write_text("\n".join(cursors) + "\n")
    print(f"[{scratch.db}] {len(cursors):,} cursors", flush=True)


async def check_answers(scratch: Scratch) -> None:
    """Every request the load sends, once, with its answer checked."""
    ids = (scratch.dir / "candidates.txt").read_text().split()
    targets = (scratch.dir / "debrief_interviews.txt").read_text().split()
    cursors = (scratch.dir / "event_cursors.txt").read_text().split()
    headers = {"Authorization": f"Bearer {scratch.key}"}
    async with (
        Server("floor", scratch, 1, SERVER_CPUS, FLOOR_PORT),
        Server("service", scratch, 1, SERVER_CPUS, SERVICE_PORT),
        httpx.AsyncClient(headers=headers, timeout=60) as client,
    ):
        service = f"http://127.0.0.1:{SERVICE_PORT}"
        one = ids[len(ids) // 2]
        floor = (await client.get(f"http://127.0.0.1:{FLOOR_PORT}/candidates/{one}")).json()
        got = await client.get(f"{service}/v1/candidates/{one}")
        assert got.status_code == 200, got.text
        assert got.json()["id"] == one, got.text
        assert floor["full_name"] == got.json()["full_name"], (floor, got.text)
        overdue = await client.get(f"{service}/v1/debriefs/overdue")
        assert overdue.status_code == 200, overdue.text
        assert len(overdue.json()["items"]) == 50, overdue.text
        page = await client.get(f"{service}/v1/events", params={"cursor": cursors[-1]})
        assert page.status_code == 200, page.text
        assert len(page.json()["items"]) == 50, page.text
        debrief = await client.post(
            f"{service}/v1/interviews/{targets[0]}/debrief",
            json={"channel": "phone", "overall_rating": 4, "notes": "check"},
        )
        assert debrief.status_code in (200, 201), debrief.text
        # The write floors store what they are sent.
        floor_url = f"http://127.0.0.1:{FLOOR_PORT}"
        written = await client.post(
            f"{floor_url}/v1/interviews/{targets[1]}/debrief",
            json={"channel": "phone", "overall_rating": 4, "notes": "floor check"},
        )
        assert written.status_code in (200, 201), written.text
        stored = await client.get(f"{service}/v1/interviews/{targets[1]}/debrief")
        assert stored.json()["notes"] == "floor check", stored.text
        owner = first_line(scratch.dir / "staff.txt")
        item = {"full_name": "Floor Check", "owner_id": owner, "timezone": "Europe/London"}
        batch = [{**item, "external_id": f"floor-check-{secrets.token_hex(4)}-{i}"} for i in (1, 2)]
        bulk = await client.post(f"{floor_url}/v1/candidates/bulk", json={"items": batch})
        assert bulk.json() == {"stored": 2}, bulk.text
    print(f"[{scratch.db}] answers checked", flush=True)


# --------------------------------------------------------------------------------------
# The run, the summary, the report.
# --------------------------------------------------------------------------------------


def med(values: list[float]) -> float:
    return round(statistics.median(values), 3) if values else float("nan")


def cell_rps(entry: dict[str, Any], key: str, percent: bool = False) -> str:
    """A figure of the scaling table, or why there is none."""
    if entry.get("failed_runs") and entry["rps"] != entry["rps"]:  # all runs failed (NaN)
        share = entry["failed_requests"] / max(entry["requests_of_failed_runs"], 1)
        why = (
            f", {entry['replaced_processes']} workers replaced"
            if entry["replaced_processes"]
            else ""
        )
        return f"**failed** ({share:.0%} of requests not 2xx{why})"
    value = entry[key]
    return f"{value:.1%}" if percent else fmt(value)


async def run_database(
    scratch: Scratch, plan: Plan, rounds: int, endpoints: list[str]
) -> list[dict[str, Any]]:
    runs: list[dict[str, Any]] = []
    for r in range(rounds):
        print(f"[{scratch.db}] round {r + 1}/{rounds}", flush=True)
        for name in endpoints:
            endpoint = ENDPOINTS[name]
            floor = await measure("floor", endpoint, scratch, plan, tag=f"round{r}")
            service = await measure("service", endpoint, scratch, plan, tag=f"round{r}")
            floor["round"] = service["round"] = r
            runs += [floor, service]
    return runs


async def run_scaling(
    scratch: Scratch, plan: Plan, rounds: int, workers: list[int], cpu_sets: list[str]
) -> list[dict[str, Any]]:
    runs: list[dict[str, Any]] = []
    for cpus in cpu_sets:
        for r in range(rounds):
            for n in workers:
                print(f"[scaling] cpus {cpus}, {n} workers, round {r + 1}/{rounds}", flush=True)
                tag = f"scaling-{cpus}-round{r}"
                opts: dict[str, Any] = {"workers": n, "cpus": cpus, "tag": tag, "strict": False}
                floor = await measure("floor", ENDPOINTS["candidate"], scratch, plan, **opts)
                floor["round"] = r
                runs.append(floor)
                for name in ("candidate", "overdue"):
                    service = await measure("service", ENDPOINTS[name], scratch, plan, **opts)
                    service["round"] = r
                    service["floor_rps"], service["floor_p99_ms"] = floor["rps"], floor["p99_ms"]
                    runs.append(service)
    return runs


def floor_kind(run: dict[str, Any]) -> str:
    return str(run.get("floor_kind", "read"))  # runs saved before the write floors: read


def floor_key(kind: str) -> str:
    return "floor" if kind == "read" else f"{kind}_floor"


def summarise(runs: list[dict[str, Any]], endpoints: list[str]) -> dict[str, Any]:
    """Per database and endpoint: medians over rounds; ratios against the floor run paired
    with each service run (the one just before it), then their median."""
    summary: dict[str, Any] = {}
    main = [r for r in runs if not r["tag"].startswith("scaling")]
    for db in sorted({r["db"] for r in main}):
        per: dict[str, Any] = {}
        floors = [r for r in main if r["db"] == db and r["target"] == "floor"]
        for kind in FLOORS:
            of_kind = [f for f in floors if floor_kind(f) == kind]
            if not of_kind:
                continue
            per[floor_key(kind)] = {
                "runs": len(of_kind),
                "rps": med([f["rps"] for f in of_kind]),
                "p50_ms": med([f["p50_ms"] for f in of_kind]),
                "p99_ms": med([f["p99_ms"] for f in of_kind]),
                "peak_rss_mb": med([f["peak_rss_mb"] for f in of_kind]),
                "server_cpu_ms_per_request": med([f["server_cpu_ms_per_request"] for f in of_kind]),
                "db_cpu_ms_per_request": med([f["db_cpu_ms_per_request"] for f in of_kind]),
                "connections": of_kind[0]["connections"],
            }
        for name in endpoints:
            pairs = []
            for r in main:
                if r["db"] == db and r["target"] == "service" and r["endpoint"] == name:
                    floor = next(
                        f
                        for f in floors
                        if f["paired_with"] == name and f.get("round") == r.get("round")
                    )
                    pairs.append((floor, r))
            if not pairs:
                continue
            services = [s for _, s in pairs]
            entry = {
                "label": ENDPOINTS[name].label,
                "runs": len(pairs),
                "connections": services[0]["connections"],
                "rps": med([s["rps"] for s in services]),
                "p50_ms": med([s["p50_ms"] for s in services]),
                "p99_ms": med([s["p99_ms"] for s in services]),
                "peak_rss_mb": med([s["peak_rss_mb"] for s in services]),
                "server_cpu_ms_per_request": med(
                    [s["server_cpu_ms_per_request"] for s in services]
                ),
                "db_cpu_ms_per_request": med([s["db_cpu_ms_per_request"] for s in services]),
                "failed": sum(s["failed"] for s in services),
                "requests": sum(s["requests"] for s in services),
                "floor_rps": med([f["rps"] for f, _ in pairs]),
                "floor_p50_ms": med([f["p50_ms"] for f, _ in pairs]),
                "floor_p99_ms": med([f["p99_ms"] for f, _ in pairs]),
                "rps_ratio": med([s["rps"] / f["rps"] for f, s in pairs]),
                "p50_ratio": med([s["p50_ms"] / f["p50_ms"] for f, s in pairs]),
                "p99_ratio": med([s["p99_ms"] / f["p99_ms"] for f, s in pairs]),
                "rss_ratio": med([s["peak_rss_mb"] / f["peak_rss_mb"] for f, s in pairs]),
                "rps_ratios": [round(s["rps"] / f["rps"], 3) for f, s in pairs],
            }
            if name == "bulk":
                entry["candidates_per_second"] = med([s["candidates_per_second"] for s in services])
                entry["rows_ratio"] = med(
                    [
                        s["candidates_per_second"] / f.get("candidates_per_second", f["rps"])
                        for f, s in pairs
                    ]
                )
            per[name] = entry
        summary[db] = per
    scaling = [r for r in runs if r["tag"].startswith("scaling")]
    if scaling:
        table: list[dict[str, Any]] = []
        keys = sorted({(r["server_cpus"], r["workers"]) for r in scaling})
        for cpus, n in keys:
            group = [r for r in scaling if r["server_cpus"] == cpus and r["workers"] == n]
            floors = [r for r in group if r["target"] == "floor" and r["ok"]]
            row: dict[str, Any] = {
                "server_cpus": cpus,
                "workers": n,
                "floor_rps": med([f["rps"] for f in floors]),
                "floor_p99_ms": med([f["p99_ms"] for f in floors]),
                "floor_rss_mb": med([f["peak_rss_mb"] for f in floors]),
            }
            for name in ("candidate", "overdue"):
                everything = [
                    r for r in group if r["target"] == "service" and r["endpoint"] == name
                ]
                svc = [r for r in everything if r["ok"]]
                row[name] = {
                    "failed_runs": len(everything) - len(svc),
                    "failed_requests": sum(r["failed"] for r in everything if not r["ok"]),
                    "requests_of_failed_runs": sum(
                        r["requests"] for r in everything if not r["ok"]
                    ),
                    "replaced_processes": sum(r["replaced_processes"] for r in everything),
                    "rps": med([s["rps"] for s in svc]),
                    "p99_ms": med([s["p99_ms"] for s in svc]),
                    "peak_rss_mb": med([s["peak_rss_mb"] for s in svc]),
                    "rps_ratio": med([s["rps"] / s["floor_rps"] for s in svc]),
                    "p99_ratio": med([s["p99_ms"] / s["floor_p99_ms"] for s in svc]),
                }
            table.append(row)
        summary["scaling"] = table
    return summary


def versions() -> dict[str, str]:
    found = {"python": platform.python_version(), "sqlite": sqlite3.sqlite_version}
    for dist in (
        "fastapi",
        "starlette",
        "uvicorn",
        "uvloop",
        "httptools",
        "sqlalchemy",
        "asyncpg",
        "aiosqlite",
        "pydantic",
        "orjson",
    ):
        with suppress(importlib.metadata.PackageNotFoundError):
            found[dist] = importlib.metadata.version(dist)
    wrk_v = subprocess.run(["wrk", "-v"], capture_output=True, text=True, check=False)
    found["wrk"] = (wrk_v.stdout or wrk_v.stderr).split("[")[0].replace("wrk", "").strip()
    return found


def code_state() -> dict[str, Any]:
    """Which code was measured: the commit, and a digest of app/ as it was on disk."""
    digest = hashlib.sha256()
    for path in sorted((ROOT / "app").rglob("*.py")):
        digest.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes())
    git = ["git", "-C", str(ROOT)]
    head = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True, check=False)
    dirty = subprocess.run(
        [*git, "status", "--porcelain", "--", "app", "migrations"],
        capture_output=True,
        text=True,
        check=False,
    )
    return {
        "commit": head.stdout.strip(),
        "uncommitted_files": len(dirty.stdout.splitlines()),
        "app_sha256": digest.hexdigest()[:16],
    }


def machine() -> dict[str, Any]:
    cpuinfo = Path("/proc/cpuinfo").read_text()
    model = next(
        (line.split(":", 1)[1].strip() for line in cpuinfo.splitlines() if "model name" in line),
        platform.processor(),
    )
    mem_kb = int(Path("/proc/meminfo").read_text().split()[1])
    os_name = platform.platform()
    with suppress(OSError):
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                os_name = line.split("=", 1)[1].strip('"')
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "memory_gib": round(mem_kb / 1024 / 1024, 1),
        "os": os_name,
        "kernel": platform.release(),
    }


async def postgres_version() -> str:
    conn = await asyncpg.connect(SERVER_URL)
    try:
        return str(await conn.fetchval("SHOW server_version")).split()[0]
    finally:
        await conn.close()


def code_end_note(report: dict[str, Any]) -> str:
    end = report.get("code_end")
    if end is None:
        return ", not checked at the end"
    if end["app_sha256"] != report["code"]["app_sha256"]:
        return f"; {end['app_sha256']} at the end: app/ changed during the run"
    return ", unchanged during the run"


def fmt(value: float, digits: int = 1) -> str:
    return f"{value:,.{digits}f}"


def markdown(report: dict[str, Any]) -> str:
    s = report["summary"]
    m, v, a = report["machine"], report["versions"], report["args"]
    lines = [
        f"Machine: {m['cpus']} vCPU ({m['cpu_model']}), {m['memory_gib']} GiB, {m['os']}, "
        f"kernel {m['kernel']}. Python {v['python']}, PostgreSQL {report.get('postgres', '-')} "
        f"(same machine, not pinned), SQLite {v['sqlite']}; FastAPI {v.get('fastapi')}, "
        f"Starlette {v.get('starlette')}, uvicorn {v.get('uvicorn')} (uvloop "
        f"{v.get('uvloop')}, httptools {v.get('httptools')}), SQLAlchemy {v.get('sqlalchemy')}, "
        f"asyncpg {v.get('asyncpg')}, aiosqlite {v.get('aiosqlite')}, pydantic "
        f"{v.get('pydantic')}, orjson {v.get('orjson')}; wrk {v['wrk']}.",
        "",
        f"Run of {report['started'][:16].replace('T', ' ')} UTC: `{report['command']}`; "
        f"{a['duration']:g} s per wrk run (bulk {2 * a['duration']:g} s) after a "
        f"{WARMUP_SECONDS} s warm-up, {a['rounds']} rounds, {a['connections']} connections "
        f"(bulk 2); server on core {SERVER_CPUS}, wrk on core {WRK_CPUS}; "
        f"took {report['minutes']} minutes. Code: commit {report['code']['commit'][:7]} with "
        f"{report['code']['uncommitted_files']} uncommitted files in app/ and migrations/ "
        f"(app/ digest {report['code']['app_sha256']}{code_end_note(report)}).",
        "",
    ]
    for db in ("postgres", "sqlite"):
        if db not in s:
            continue
        per = s[db]
        counts = report["seeds"][db]
        lines += [
            f"**{'PostgreSQL' if db == 'postgres' else 'SQLite'}** — "
            f"{counts['candidates']:,} candidates, {counts['interviews']:,} interviews, "
            f"{counts['follow_ups']:,} follow-ups ({counts['overdue_debrief_calls']:,} overdue "
            f"debrief calls), {counts['debriefs']:,} debriefs, {counts['events']:,} events "
            f"(seeded in {report['seed_seconds'][db]} s).",
            "",
            f"| endpoint | req/s | {X} floor | p50 ms | p99 ms | p99 {X} floor | peak RSS MB | "
            f"{X} floor | server CPU ms/req | db CPU ms/req | failed |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        driver = "asyncpg" if db == "postgres" else "sqlite3"
        for kind, label in FLOORS.items():
            f = per.get(floor_key(kind))
            if f is None:
                continue
            lines.append(
                f"| {label.format(driver=driver)} (c={f['connections']}) | {fmt(f['rps'])} | 1 | "
                f"{fmt(f['p50_ms'], 2)} | {fmt(f['p99_ms'], 2)} | 1 | {fmt(f['peak_rss_mb'])} | 1 "
                f"| {fmt(f['server_cpu_ms_per_request'], 3)} | "
                f"{fmt(f['db_cpu_ms_per_request'], 3) if db == 'postgres' else '-'} | 0 |"
            )
        for name in ENDPOINTS:
            if name not in per:
                continue
            e = per[name]
            rps = fmt(e["rps"], 1 if e["rps"] >= 10 else 2)
            if name == "bulk":
                rps += f" ({fmt(e['candidates_per_second'], 0)} candidates/s)"
            ratio = f"{e['rps_ratio']:.1%}" if e["rps_ratio"] >= 0.001 else f"{e['rps_ratio']:.2e}"
            if name == "bulk":
                ratio += f" (rows {e['rows_ratio']:.1%})"
            lines.append(
                f"| `{e['label']}` (c={e['connections']}) | {rps} | **{ratio}** | "
                f"{fmt(e['p50_ms'], 2)} | {fmt(e['p99_ms'], 2)} | **{e['p99_ratio']:.2f}{X}** | "
                f"{fmt(e['peak_rss_mb'])} | {e['rss_ratio']:.2f}{X} | "
                f"{fmt(e['server_cpu_ms_per_request'], 3)} | "
                f"{fmt(e['db_cpu_ms_per_request'], 3) if db == 'postgres' else '-'} | "
                f"{e['failed']} of {e['requests']:,} |"
            )
        lines.append("")
    if "postgres" in s:
        lines += [
            "Targets (PostgreSQL; each endpoint against its own floor):",
            "",
            f"| endpoint | req/s {X} floor | target | p99 {X} floor | target | met |",
            "| --- | ---: | ---: | ---: | ---: | --- |",
        ]
        for name, (target, p99_target) in TARGETS.items():
            e = s["postgres"].get(name)
            if not e:
                continue
            met = e["rps_ratio"] >= target and (p99_target is None or e["p99_ratio"] <= p99_target)
            lines.append(
                f"| `{e['label']}` | {e['rps_ratio']:.1%} | ≥ {target:.0%} | "
                f"{e['p99_ratio']:.2f}{X} | "
                + (f"≤ {p99_target:g}{X}" if p99_target is not None else "-")
                + f" | {'yes' if met else '**no**'} |"
            )
        lines.append("")
    if "scaling" in s:
        lines += [
            "Worker processes (PostgreSQL; floor and service with the same workers and cores):",
            "",
            "| server cores | workers | floor req/s | floor p99 ms | `GET /v1/candidates/{id}` "
            f"req/s | {X} floor | p99 {X} floor | `GET /v1/debriefs/overdue` req/s | {X} floor | "
            f"p99 {X} floor | service peak RSS MB | floor peak RSS MB |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        for row in s["scaling"]:
            cells = [row["server_cpus"], str(row["workers"]), fmt(row["floor_rps"])]
            cells.append(fmt(row["floor_p99_ms"], 2))
            for name in ("candidate", "overdue"):
                e = row[name]
                if e["rps"] != e["rps"]:  # NaN: every run of this configuration failed
                    cells += [cell_rps(e, "rps"), "-", "-"]
                else:
                    cells += [fmt(e["rps"]), f"{e['rps_ratio']:.1%}", f"{e['p99_ratio']:.2f}{X}"]
            peak = row["candidate"]["peak_rss_mb"]
            cells += [fmt(peak) if peak == peak else "-", fmt(row["floor_rss_mb"])]
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
    lines.append("![Throughput and p99 per endpoint against the floor](results/http.png)")
    return "\n".join(lines) + "\n"


def plot(report: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    s = report["summary"]
    dbs = [db for db in ("postgres", "sqlite") if db in s]
    fig, axes = plt.subplots(len(dbs), 2, figsize=(13, 4.2 * len(dbs)), squeeze=False)
    for row, db in enumerate(dbs):
        per = s[db]
        names = [n for n in ENDPOINTS if n in per]
        kinds = [k for k in FLOORS if floor_key(k) in per]
        labels = [FLOOR_BARS[k] for k in kinds] + [ENDPOINTS[n].short for n in names]
        for col, (metric, title) in enumerate(
            (("rps", "requests/s"), ("p99_ms", "p99 latency, ms"))
        ):
            ax = axes[row][col]
            values = [per[floor_key(k)][metric] for k in kinds] + [per[n][metric] for n in names]
            colours = ["#888888"] * len(kinds) + [
                "#2b6cb0" if not ENDPOINTS[n].write else "#c05621" for n in names
            ]
            bars = ax.bar(labels, values, color=colours)
            ax.set_yscale("log")
            for bar, n in zip(bars[len(kinds) :], names, strict=True):
                ratio = per[n]["rps_ratio" if metric == "rps" else "p99_ratio"]
                if metric == "rps":
                    text = f"{ratio:.0%}" if ratio >= 0.01 else f"{ratio:.2%}"
                else:
                    text = f"{ratio:.1f}{X}"
                ax.annotate(
                    text,
                    (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                    ha="center",
                    va="bottom",
                    fontsize=9,
                )
            for n, (target, p99_target) in TARGETS.items():
                own = per.get(floor_key(ENDPOINTS[n].floor))
                factor = target if metric == "rps" else p99_target
                if db == "postgres" and n in names and own and factor is not None:
                    x = names.index(n) + len(kinds)
                    y = own[metric] * factor
                    ax.hlines(y, x - 0.4, x + 0.4, colors="#2f855a", linestyles=":", linewidth=2)
            name = "PostgreSQL" if db == "postgres" else "SQLite"
            ax.set_title(f"{name}: {title} (each vs its floor; bulk at 2 connections)")
            ax.tick_params(axis="x", labelsize=8)
            ax.grid(axis="y", which="both", alpha=0.25)
    fig.suptitle(
        "Debrief under wrk vs the floors (Starlette + raw driver), same run; "
        "green dotted: the targets, against each endpoint's own floor",
        fontsize=11,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def update_readme(section: str) -> bool:
    text = README.read_text()
    if BEGIN_MARK not in text or END_MARK not in text:
        return False
    head, rest = text.split(BEGIN_MARK, 1)
    _, tail = rest.split(END_MARK, 1)
    README.write_text(head + BEGIN_MARK + "\n\n" + section + "\n" + END_MARK + tail)
    return True


def write_report(report: dict[str, Any], out: Path, *, readme: bool) -> None:
    """The tables (http.md, and bench/README.md between the markers) and the plot."""
    section = markdown(report)
    (out / "http.md").write_text(section)
    plot(report, out / "http.png")
    print()
    print(section)
    if readme and update_readme(section):
        print(f"Updated {README.relative_to(ROOT)}.")
    print(f"Wrote {out}/http.json, http.md, http.png.")


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", choices=("postgres", "sqlite", "both"), default="both")
    parser.add_argument("--duration", type=float, help="seconds per wrk run (default 10; quick 3)")
    parser.add_argument("--connections", type=int, default=32, help="fixed concurrency")
    parser.add_argument("--rounds", type=int, help="floor/service rounds (default 2; quick 1)")
    parser.add_argument("--workers", default="1,2,4", help="PostgreSQL scaling runs ('' skips)")
    parser.add_argument(
        "--scaling-cpus",
        action="append",
        help="cores for the scaling runs' servers (taskset list; repeatable; default 0-1 and 0)",
    )
    parser.add_argument(
        "--scaling-rounds", type=int, default=1, help="rounds per scaling configuration"
    )
    parser.add_argument("--endpoints", default=",".join(ENDPOINTS), help="comma-separated subset")
    parser.add_argument("--size", type=int, help="candidates to seed (default 100,000)")
    parser.add_argument("--quick", action="store_true", help="5,000 candidates, short runs")
    parser.add_argument("--keep", action="store_true", help="reuse (and keep) seeded databases")
    parser.add_argument(
        "--max-error-rate", type=float, default=0.001, help="fail above this share of non-2xx"
    )
    parser.add_argument(
        "--no-readme",
        action="store_true",
        help="leave bench/README.md and bench/results/ alone (results go to the scratch directory)",
    )
    parser.add_argument(
        "--render", type=Path, help="only redo the tables, plot and README from this http.json"
    )
    args = parser.parse_args()
    if args.render:
        report = json.loads(args.render.read_text())
        write_report(report, args.render.parent, readme=not args.no_readme)
        return
    for tool in ("wrk", "taskset"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is needed: apt-get install wrk util-linux")
    if (os.cpu_count() or 1) < 2:
        raise SystemExit("needs 2 cores: the server and wrk are pinned to different ones")
    size = args.size or (5000 if args.quick else 100_000)
    duration = args.duration or (3.0 if args.quick else 10.0)
    rounds = args.rounds or (1 if args.quick else 2)
    endpoints = [e for e in args.endpoints.split(",") if e]
    unknown = set(endpoints) - set(ENDPOINTS)
    if unknown:
        raise SystemExit(f"unknown endpoints: {', '.join(sorted(unknown))}")
    workers = [int(w) for w in args.workers.split(",") if w.strip()]
    cpu_sets = args.scaling_cpus or ["0-1", "0"]
    dbs = ["postgres", "sqlite"] if args.db == "both" else [args.db]
    plan = Plan(duration=duration, connections=args.connections, max_error_rate=args.max_error_rate)
    started = datetime.now(UTC)
    clock = time.perf_counter()
    report: dict[str, Any] = {
        "started": started.isoformat(),
        "command": "python -m bench.http " + " ".join(sys.argv[1:]),
        "args": {
            "db": args.db,
            "duration": duration,
            "rounds": rounds,
            "connections": args.connections,
            "size": size,
            "workers": workers,
            "scaling_cpus": cpu_sets,
            "scaling_rounds": args.scaling_rounds,
            "endpoints": endpoints,
            "quick": args.quick,
        },
        "pinning": {
            "server": SERVER_CPUS,
            "wrk": WRK_CPUS,
            "postgres": "not pinned",
            "scaling_servers": cpu_sets,
        },
        "machine": machine(),
        "versions": versions(),
        "code": code_state(),
        "seeds": {},
        "seed_seconds": {},
        "runs": [],
    }
    if "postgres" in dbs:
        report["postgres"] = await postgres_version()
    scratches: list[Scratch] = []
    succeeded = False
    try:
        for db in dbs:
            scratch = await prepare(db, size, args.keep, args.quick)
            scratches.append(scratch)
            await walk_events(scratch)
            save_meta(scratch)
            await check_answers(scratch)
            report["seeds"][db] = scratch.counts
            report["seed_seconds"][db] = scratch.seed_seconds
            report["runs"] += await run_database(scratch, plan, rounds, endpoints)
            if db == "postgres" and workers:
                report["runs"] += await run_scaling(
                    scratch, plan, args.scaling_rounds, workers, cpu_sets
                )
        succeeded = True
    except BenchFailed as exc:
        partial = SCRATCH / "http-partial.json"
        partial.write_text(json.dumps(report, indent=2) + "\n")
        raise SystemExit(
            f"{exc}\nRuns so far: {partial}; scratch data and logs kept in {SCRATCH}."
        ) from exc
    finally:
        if not args.keep and succeeded:
            for scratch in scratches:
                if scratch.db == "postgres":
                    await drop_database(scratch.pg_name)
                shutil.rmtree(scratch.dir, ignore_errors=True)
    report["finished"] = datetime.now(UTC).isoformat()
    report["code_end"] = code_state()
    report["minutes"] = round((time.perf_counter() - clock) / 60, 1)
    report["summary"] = summarise(report["runs"], endpoints)
    out = SCRATCH if args.quick or args.no_readme else RESULTS  # a trial leaves results/ alone
    out.mkdir(parents=True, exist_ok=True)
    (out / "http.json").write_text(json.dumps(report, indent=2) + "\n")
    write_report(report, out, readme=not args.quick and not args.no_readme)
    if FAILURES:
        raise SystemExit("Some runs failed:\n" + "\n".join(FAILURES))


if __name__ == "__main__":
    asyncio.run(main())
