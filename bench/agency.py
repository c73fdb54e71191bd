"""A day at an agency: the service under a mixed load, and the capacity it gives (issue 19).

    make bench-agency                                   # = .venv/bin/python -m bench.agency
    .venv/bin/python -m bench.agency --quick            # 5,000 candidates, short: a smoke test
    .venv/bin/python -m bench.agency --db postgres --workers 1,2,4 --steps 100,200 --api-steps 2000
    .venv/bin/python -m bench.agency --db postgres --workers 1 --only-reads  # the two read phases

It seeds scratch databases as `bench/http.py` does (its `Agency`, under its own names:
PostgreSQL `debrief_bench_agency`, SQLite under /tmp/debrief-bench-agency/), then serves them
with `debrief serve` as in production: the sweep every minute, webhook delivery on (to a
real HTTP receiver in a process of its own), the form and board limits on, clients behind a
trusted proxy (each candidate and recruiter with their own address).

The load comes from a separate process (`python -m bench.agency load PLAN`, pinned to core
1): an **open-loop** generator on asyncio with a minimal HTTP/1.1 client. Every request has a
scheduled start (Poisson arrivals at its class's rate) and its latency counts from that
schedule, not from when a connection was free, so a server that falls behind shows it in
the p99 (no coordinated omission). Classes and their rates per recruiter in the busy hour
are in RATES below and justified in bench/README.md.

Per configuration (SQLite with 1 worker; PostgreSQL with 1, 2 and 4):
  reads alone      the recruiters' reads only (board, queue, candidate) at the first step's rate
  reads + sync     the same reads while the CRM sends batches of 1,000 new candidates back to
                   back on one connection: the reads' p99 must stay within 2x of the above
  steps            the whole mix at growing numbers of recruiters; a step passes when every
                   interactive class answers p99 < 200 ms with no failures; the capacity is
                   the last step before the first that fails (every step is run and kept)
  api steps        the same without the board (an agency whose recruiters work from their CRM
                   through the API): the board's page is by far the heaviest request
Results: bench/results/agency.json and .md; figures in bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import random
import re
import shutil
import signal
import sqlite3
import sys
import time
import urllib.parse
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import orjson

from bench.common import drop_database
from bench.http import (
    ROOT,
    Scratch,
    Server,
    _debrief,
    _env,
    _service_env,
    code_state,
    cpu_seconds,
    machine,
    per_pid_cpu,
    postgres_backends,
    postgres_version,
    prepare,
    save_meta,
    versions,
)

RESULTS = ROOT / "bench" / "results"
SCRATCH = Path(os.environ.get("BENCH_AGENCY_SCRATCH", "/tmp/debrief-bench-agency"))
PG_NAME = "debrief_bench_agency"
SERVICE_PORT, RECEIVER_PORT = 18741, 18742
LOAD_CPUS = "1"
P99_LIMIT_MS = 200.0

# Requests per recruiter in the busy hour (bench/README.md says why these).
RATES = {
    "board": 30.0,  # GET /board: the board open in a tab, refreshed every 2 minutes
    "queue": 12.0,  # GET /v1/debriefs/overdue?owner_id=: their CRM's panel, every 5 minutes
    "candidate": 40.0,  # GET /v1/candidates/{id}: looking people up
    "debrief_api": 1.0,  # POST /v1/interviews/{id}/debrief: a call logged by the recruiter
    "form": 1.0,  # GET then POST /f/{token}: a candidate's own debrief form
    "crm_bulk": 0.05,  # POST /v1/candidates/bulk of CRM_BATCH: 5 CRM changes an hour, batched
}
INTERVIEWS_PER_RECRUITER_DAY = 4  # what debrief_api + form (2 an hour at the peak) stand for
CRM_BATCH = 100
SYNC_BATCH = 1000
FEED_POLL_SECONDS = 2.0  # the CRM polls the event feed, whatever the agency's size
READS = ("board", "queue", "candidate")
# What the agency's hook (chat, its own tools) wants: debriefs and the follow-up playbook, not
# the CRM's own changes echoed back.
WEBHOOK_TYPES = [
    "debrief.received",
    "follow_up.opened",
    "follow_up.overdue",
    "follow_up.reminder",
    "follow_up.escalated",
    "follow_up.completed",
    "follow_up.waived",
]
INTERACTIVE = (*READS, "debrief_api", "form_get", "form_post", "feed")
STAFF_SESSIONS = 5


# --------------------------------------------------------------------------------------
# The load generator (its own process): a minimal HTTP/1.1 client, open loop.
# --------------------------------------------------------------------------------------


class Conn:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    async def send(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes, bool]:
        lines = [f"{method} {path} HTTP/1.1", "Host: bench"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        if body or method == "POST":
            lines.append(f"Content-Length: {len(body)}")
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        status_line = await self.reader.readline()
        if not status_line:
            raise ConnectionError("closed")
        status = int(status_line.split()[1])
        got: dict[str, str] = {}
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b""):
                break
            name, _, value = line.decode("latin-1").partition(":")
            key = name.strip().lower()
            got[key] = (got[key] + "\n" if key in got else "") + value.strip()
        if "content-length" in got:
            data = await self.reader.readexactly(int(got["content-length"]))
        elif got.get("transfer-encoding") == "chunked":
            parts = []
            while True:
                size = int((await self.reader.readline()).split(b";")[0], 16)
                if size == 0:
                    await self.reader.readline()
                    break
                parts.append(await self.reader.readexactly(size))
                await self.reader.readline()
            data = b"".join(parts)
        else:
            data = await self.reader.read()
        return status, got, data, got.get("connection", "").lower() == "close"


class Pool:
    """Keep-alive connections, as a browser or an HTTP library keeps them."""

    IDLE_SECONDS = 4.0  # under uvicorn's keep-alive timeout (5 s), after which it closes

    def __init__(self, port: int) -> None:
        self.port = port
        self.idle: list[tuple[Conn, float]] = []

    async def request(
        self, method: str, path: str, headers: dict[str, str], body: bytes = b""
    ) -> tuple[int, dict[str, str], bytes]:
        now = time.perf_counter()
        while self.idle:
            conn, since = self.idle.pop()
            if now - since < self.IDLE_SECONDS:
                break
            conn.writer.close()
        else:
            conn = Conn(*await asyncio.open_connection("127.0.0.1", self.port))
        try:
            status, got, data, close = await conn.send(method, path, headers, body)
        except BaseException:
            conn.writer.close()
            raise
        if close:
            conn.writer.close()
        else:
            self.idle.append((conn, time.perf_counter()))
        return status, got, data


FORM_CSRF = re.compile(rb'name="csrf" value="([^"]+)"')
FIRST = ("Amira", "Tom", "Priya", "Kwame", "Sofia", "Liam", "Mei", "Grace")
LAST = ("Okafor", "Walsh", "Shah", "Mensah", "Rossi", "Byrne", "Chen", "Patel")


class Load:
    """One measured phase: per class an arrival rate, or a closed loop for the sync."""

    def __init__(self, plan: dict[str, Any]) -> None:
        self.plan = plan
        self.pool = Pool(plan["port"])
        self.rng = random.Random()
        self.records: dict[str, list[tuple[float, int]]] = {}  # latency ms (inf: error), status
        self.tasks: set[asyncio.Task[None]] = set()
        self.window = (0.0, 0.0)
        self.lag = 0.0
        self.tokens = list(plan["tokens"])
        self.api_targets = list(plan["api_interviews"])
        self.cursor = plan["feed_cursor"]
        self.n = 0
        self.run = plan["run"]

    def key(self, i: int | None = None) -> dict[str, str]:
        keys = self.plan["recruiter_keys"]
        k = keys[self.rng.randrange(len(keys))] if i is None else keys[i % len(keys)]
        return {"Authorization": f"Bearer {k}"}

    def record(self, name: str, scheduled: float, status: int, ok: bool) -> None:
        if self.window[0] <= scheduled < self.window[1]:
            latency = (time.perf_counter() - scheduled) * 1000 if ok else math.inf
            self.records.setdefault(name, []).append((latency, status))

    async def call(
        self,
        name: str,
        scheduled: float,
        method: str,
        path: str,
        headers: dict[str, str],
        body: bytes = b"",
        expect: tuple[int, ...] = (200,),
    ) -> tuple[int, dict[str, str], bytes]:
        try:
            status, got, data = await asyncio.wait_for(
                self.pool.request(method, path, headers, body), timeout=60
            )
        except (OSError, TimeoutError, ConnectionError, asyncio.IncompleteReadError):
            self.record(name, scheduled, 0, False)
            return 0, {}, b""
        self.record(name, scheduled, status, status in expect)
        return status, got, data

    def bulk_body(self, count: int) -> bytes:
        items = []
        prefixes, owners = self.plan["phone_prefixes"], self.plan["staff"]
        for _ in range(count):
            self.n += 1
            tag = f"{self.run}-{self.n}"
            first, last = FIRST[self.n % len(FIRST)], LAST[self.n * 7 % len(LAST)]
            items.append(
                {
                    "external_id": f"agency-{tag}",
                    "full_name": f"{first} {last} {self.n}",
                    "email": f"{first.lower()}.{last.lower()}.{tag}@mail.co.uk",
                    "phone": f"+44 {prefixes[self.n // 1_000_000 % len(prefixes)]} "
                    f"{self.n % 1_000_000:06d}",
                    "owner_id": owners[self.n % len(owners)],
                    "timezone": "Europe/London",
                }
            )
        return orjson.dumps({"items": items})

    async def one(self, name: str, scheduled: float) -> None:
        rng, plan = self.rng, self.plan
        json_type = {"Content-Type": "application/json"}
        if name == "board":
            i = rng.randrange(len(plan["board_sessions"]))
            cookie, address = plan["board_sessions"][i]
            headers = {"Cookie": f"debrief_board={cookie}", "X-Forwarded-For": address}
            await self.call(name, scheduled, "GET", "/board", headers)
        elif name == "queue":
            i = rng.randrange(len(plan["staff"]))
            path = f"/v1/debriefs/overdue?owner_id={plan['staff'][i]}"
            await self.call(name, scheduled, "GET", path, self.key(i))
        elif name == "candidate":
            ids = plan["candidates"]
            await self.call(name, scheduled, "GET", f"/v1/candidates/{rng.choice(ids)}", self.key())
        elif name == "debrief_api":
            if not self.api_targets:
                self.record(name, scheduled, 0, False)
                return
            self.n += 1
            body = {
                "channel": "phone",
                "overall_rating": rng.randint(1, 5),
                "company_fit": rng.randint(1, 5),
                "still_interested": rng.choice(("yes", "yes", "unsure")),
                "went_well": "Built rapport with the panel; the case study landed well.",
                "challenging_questions": ["Tell us about a time you disagreed with a manager"],
                "notes": f"Call {self.run}-{self.n}: keen, wants feedback by Friday.",
            }
            path = f"/v1/interviews/{self.api_targets.pop()}/debrief"
            await self.call(
                name,
                scheduled,
                "POST",
                path,
                self.key() | json_type,
                orjson.dumps(body),
                (200, 201),
            )
        elif name == "form":
            if not self.tokens:
                self.record("form_get", scheduled, 0, False)
                return
            token = self.tokens.pop()
            address = f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
            headers = {"X-Forwarded-For": address}
            status, got, page = await self.call(
                "form_get", scheduled, "GET", f"/f/{token}", headers
            )
            found = FORM_CSRF.search(page)
            nonce = re.search(r"debrief_form=([^;]+)", got.get("set-cookie", ""))
            if status != 200 or not found or not nonce:
                self.record("form_post", scheduled, status, False)
                return
            form = {
                "csrf": found.group(1).decode(),
                "overall_rating": str(rng.randint(1, 5)),
                "went_well": "The panel was friendly and the technical part went well.",
                "challenging_questions": "How would you scale the reporting pipeline?",
                "still_interested": "yes",
                "company_fit": str(rng.randint(1, 5)),
                "thank_you_sent": "no",
                "notes": "Looking forward to hearing back.",
            }
            posted = time.perf_counter()  # the candidate's own request, timed on its own
            await self.call(
                "form_post",
                posted,
                "POST",
                f"/f/{token}",
                headers
                | {
                    "Cookie": f"debrief_form={nonce.group(1)}",
                    "Content-Type": "application/x-www-form-urlencoded",
                },
                urllib.parse.urlencode(form).encode(),
            )
        elif name == "crm_bulk":
            await self.call(
                name,
                scheduled,
                "POST",
                "/v1/candidates/bulk",
                {"Authorization": f"Bearer {plan['admin_key']}"} | json_type,
                self.bulk_body(CRM_BATCH),
            )
        elif name == "feed":
            headers = {"Authorization": f"Bearer {plan['admin_key']}"}
            path = f"/v1/events?limit=200&cursor={self.cursor}"
            status, _, data = await self.call(name, scheduled, "GET", path, headers)
            if status == 200:
                self.cursor = orjson.loads(data)["next_cursor"]

    def spawn(self, name: str, scheduled: float) -> None:
        task = asyncio.create_task(self.one(name, scheduled))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def arrivals(self, name: str, rate: float, end: float, periodic: bool) -> None:
        at = time.perf_counter() + (self.rng.random() / rate)
        while at < end:
            delay = at - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            self.lag = max(self.lag, time.perf_counter() - at)
            self.spawn(name, at)
            at += 1 / rate if periodic else self.rng.expovariate(rate)

    async def sync_loop(self, end: float) -> None:
        """The CRM's full sync: batches of SYNC_BATCH back to back, one connection."""
        headers = {
            "Authorization": f"Bearer {self.plan['admin_key']}",
            "Content-Type": "application/json",
        }
        while time.perf_counter() < end:
            at = time.perf_counter()
            await self.call(
                "sync", at, "POST", "/v1/candidates/bulk", headers, self.bulk_body(SYNC_BATCH)
            )

    async def main(self) -> dict[str, Any]:
        plan = self.plan
        start = time.perf_counter()
        self.window = (start + plan["warmup"], start + plan["warmup"] + plan["duration"])
        end = self.window[1]
        runners = [
            self.arrivals(name, rate, end, name == "feed")
            for name, rate in plan["rates"].items()
            if rate > 0
        ]
        if plan.get("sync"):
            runners.append(self.sync_loop(end))
        await asyncio.gather(*runners)
        if self.tasks:
            _, pending = await asyncio.wait(set(self.tasks), timeout=30)
            for task in pending:
                task.cancel()
        out: dict[str, Any] = {"generator_lag_ms": round(self.lag * 1000, 1), "classes": {}}
        for name, rows in sorted(self.records.items()):
            lat = sorted(latency for latency, _ in rows)
            ok = [x for x in lat if x != math.inf]
            statuses: dict[str, int] = {}
            for _, status in rows:
                statuses[str(status)] = statuses.get(str(status), 0) + 1

            def pct(q: float, values: list[float] = lat) -> float:
                value = values[min(len(values) - 1, math.ceil(q * len(values)) - 1)]
                return round(value, 2) if value != math.inf else math.inf

            out["classes"][name] = {
                "requests": len(rows),
                "failed": len(lat) - len(ok),
                "statuses": statuses,
                "per_second": round(len(ok) / plan["duration"], 2),
                "p50_ms": pct(0.5),
                "p90_ms": pct(0.9),
                "p99_ms": pct(0.99),
                "max_ms": pct(1.0),
            }
        return out


def load_main(plan_path: str) -> None:
    import uvloop

    plan = json.loads(Path(plan_path).read_text())
    result = uvloop.run(Load(plan).main())
    print("AGENCY_JSON " + json.dumps(result).replace("Infinity", '"inf"'), flush=True)


# --------------------------------------------------------------------------------------
# The webhook receiver (its own process): answers 200 to every POST, counts them and how
# long after the event each arrived.
# --------------------------------------------------------------------------------------


def receiver_main(port: int) -> None:
    import uvloop

    lags: list[float] = []
    count = [0]

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with_body = (
            b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n"
        )
        try:
            while True:
                request = await reader.readline()
                if not request:
                    break
                length = 0
                while (line := await reader.readline()) not in (b"\r\n", b""):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                body = await reader.readexactly(length) if length else b""
                if request.startswith(b"GET /stats"):
                    done = sorted(lags)
                    stats = {
                        "deliveries": count[0],
                        "lag_p50_ms": round(done[len(done) // 2], 1) if done else None,
                        "lag_p99_ms": round(done[int(len(done) * 0.99)], 1) if done else None,
                    }
                    lags.clear()
                    count[0] = 0
                    payload = orjson.dumps(stats)
                    writer.write(with_body % len(payload) + payload)
                else:
                    count[0] += 1
                    with_time = orjson.loads(body) if body else {}
                    if "timestamp" in with_time:
                        sent = datetime.fromisoformat(with_time["timestamp"].replace("Z", "+00:00"))
                        lags.append((datetime.now(UTC) - sent).total_seconds() * 1000)
                    writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    async def serve() -> None:
        server = await asyncio.start_server(handle, "127.0.0.1", port)
        async with server:
            await server.serve_forever()

    uvloop.run(serve())


# --------------------------------------------------------------------------------------
# The harness.
# --------------------------------------------------------------------------------------


class AgencyServer(Server):
    """`debrief serve` as an agency runs it: scheduler, webhooks and the form limits on."""

    def command(self) -> tuple[list[str], dict[str, str]]:
        cmd, _ = super().command()
        env = _service_env(self.scratch) | {
            "DEBRIEF_SCHEDULER_ENABLED": "true",
            "DEBRIEF_SWEEP_INTERVAL_SECONDS": "60",
            "DEBRIEF_WEBHOOK_DELIVERY_ENABLED": "true",
            "DEBRIEF_WEBHOOK_ALLOW_PRIVATE_TARGETS": "true",
            "DEBRIEF_TRUSTED_PROXIES": "127.0.0.1",
            # Our simulated recruiters share five keys; each real one has their own.
            "DEBRIEF_RATE_LIMIT_PER_MINUTE": "0",
            # 4 workers x (3 x 5 + 1) connections stay well under a shared server's 100
            # (docs/operations.md), whatever else runs on it.
            "DEBRIEF_DB_POOL_SIZE": "5",
        }
        return cmd, env


@dataclass
class Fixture:
    scratch: Scratch
    recruiter_keys: list[str]
    staff: list[str]
    candidates: list[str]
    targets: list[str]
    prefixes: list[str]


def fixture(scratch: Scratch) -> Fixture:
    data = scratch.dir
    staff = (data / "staff.txt").read_text().split()
    keys_file = data / "recruiter_keys.txt"
    if keys_file.exists():
        keys = keys_file.read_text().split()
    else:
        keys = []
        for sid in staff[:STAFF_SESSIONS]:
            out = _debrief(
                scratch, "create-key", "--name", "agency", "--role", "recruiter", "--staff-id", sid
            )
            keys.append(out.split()[-1])
        keys_file.write_text("\n".join(keys) + "\n")
    return Fixture(
        scratch,
        keys,
        staff[:STAFF_SESSIONS],
        (data / "candidates.txt").read_text().split(),
        (data / "debrief_interviews.txt").read_text().split(),
        (data / "phone_prefixes.txt").read_text().split(),
    )


async def board_sessions(client: httpx.AsyncClient, fx: Fixture) -> list[list[str]]:
    """Each of the recruiters signs in to the board once, from their own address."""
    found = []
    for i, key in enumerate(fx.recruiter_keys):
        address = f"192.168.7.{10 + i}"
        page = await client.get("/board", headers={"X-Forwarded-For": address})
        csrf = FORM_CSRF.search(page.content)
        assert csrf, page.text[:500]
        answer = await client.post(
            "/board/sign-in",
            data={"csrf": csrf.group(1).decode(), "api_key": key},
            headers={
                "X-Forwarded-For": address,
                "Cookie": "; ".join(f"{k}={v}" for k, v in page.cookies.items()),
            },
        )
        assert answer.status_code == 303, answer.text[:500]
        found.append([answer.cookies["debrief_board"], address])
        client.cookies.clear()
    return found


async def mint_links(client: httpx.AsyncClient, interviews: list[str]) -> list[str]:
    tokens: list[str] = []
    gate = asyncio.Semaphore(8)

    async def one(interview: str) -> None:
        async with gate:
            answer = await client.post(f"/v1/interviews/{interview}/debrief-links")
        if answer.status_code == 201:
            tokens.append(answer.json()["url"].rsplit("/f/", 1)[1])

    await asyncio.gather(*(one(i) for i in interviews))
    return tokens


async def feed_tail(scratch: Scratch) -> str:
    if scratch.db == "postgres":
        conn = await asyncpg.connect(scratch.floor_url)
        try:
            return str(await conn.fetchval("SELECT coalesce(max(seq), 0) FROM events"))
        finally:
            await conn.close()
    with sqlite3.connect(scratch.dir / "bench.sqlite") as conn:
        return str(conn.execute("SELECT coalesce(max(seq), 0) FROM events").fetchone()[0])


async def receiver_stats() -> dict[str, Any]:
    async with httpx.AsyncClient() as client:
        return dict((await client.get(f"http://127.0.0.1:{RECEIVER_PORT}/stats")).json())


async def drain(limit: float = 120.0) -> float:
    """Wait until webhook deliveries stop (two quiet seconds), so that one phase's backlog is
    not delivered during the next; returns how long that took."""
    started = time.perf_counter()
    while time.perf_counter() - started < limit:
        await asyncio.sleep(2)
        if not (await receiver_stats())["deliveries"]:
            break
    return round(time.perf_counter() - started, 1)


async def run_load(plan: dict[str, Any], scratch: Scratch) -> dict[str, Any]:
    path = scratch.dir / "plan.json"
    path.write_text(json.dumps(plan))
    cmd = ["taskset", "-c", LOAD_CPUS, sys.executable, "-m", "bench.agency", "load", str(path)]
    proc = await asyncio.create_subprocess_exec(
        *cmd,
        env=_env({"PYTHONPATH": str(ROOT)}),
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    started = time.perf_counter()
    out, err = await proc.communicate()
    for line in out.decode().splitlines():
        if line.startswith("AGENCY_JSON "):
            result = dict(json.loads(line[len("AGENCY_JSON ") :]))
            # Deliveries since the last phase's end: this phase's, drain included.
            hooks = await receiver_stats()
            hooks["per_second"] = round(hooks["deliveries"] / (time.perf_counter() - started), 2)
            result["webhooks"] = hooks
            return result
    raise SystemExit(f"the load generator gave no result:\n{out.decode()}\n{err.decode()}")


def share(rate: float, args: argparse.Namespace) -> int:
    """Form links (or interviews to debrief) a phase may use up: its expected count and half
    as much again (Poisson arrivals vary), and a few."""
    return int(rate * (args.duration + args.warmup) * 1.5) + 5


def rates_for(recruiters: float, board: bool = True) -> dict[str, float]:
    """Requests per second of each class for this many recruiters in their busy hour."""
    per_second = {
        name: recruiters * per_hour / 3600
        for name, per_hour in RATES.items()
        if board or name != "board"
    }
    per_second["feed"] = 1 / FEED_POLL_SECONDS
    return per_second


def passed(result: dict[str, Any]) -> bool:
    for name in INTERACTIVE:
        c = result["classes"].get(name)
        if c and (c["failed"] or c["p99_ms"] == "inf" or c["p99_ms"] >= P99_LIMIT_MS):
            return False
    return True


def show(label: str, result: dict[str, Any]) -> None:
    parts = []
    for name, c in result["classes"].items():
        parts.append(
            f"{name} {c['per_second']}/s p99 {c['p99_ms']}"
            + (f" FAILED {c['failed']}" if c["failed"] else "")
        )
    hooks = result.get("webhooks", {})
    print(
        f"  {label}: " + "; ".join(parts) + f"; webhooks {hooks.get('deliveries')} "
        f"(lag p99 {hooks.get('lag_p99_ms')} ms); generator lag {result['generator_lag_ms']} ms; "
        f"cores busy: server {result.get('server_cores_busy')}, db {result.get('db_cores_busy')}",
        flush=True,
    )


async def run_configuration(
    scratch: Scratch,
    workers: int,
    ladders: dict[str, list[int]],
    args: argparse.Namespace,
) -> dict[str, Any]:
    fx = fixture(scratch)
    cpus = "0" if workers == 1 else "0-1"
    config: dict[str, Any] = {"db": scratch.db, "workers": workers, "server_cpus": cpus}
    print(f"[{scratch.db}] {workers} worker(s) on cores {cpus}", flush=True)
    # Forms a configuration may use: its steps' rates for its phases, with room to spare.
    steps = [n for ladder in ladders.values() for n in ladder]
    wanted = sum(share(rates_for(n)["form"], args) for n in steps) + 2 * share(0, args)
    used = scratch.dir / "used_interviews.txt"
    spent = set(used.read_text().split()) if used.exists() else set()
    free = [t for t in fx.targets if t not in spent]
    need_api = wanted
    form_ids, api_ids = free[:wanted], free[wanted : wanted + need_api]
    if len(api_ids) < need_api // 2:
        raise SystemExit(f"not enough interviews left to debrief in {scratch.dir}; reseed")
    used.write_text("\n".join([*spent, *form_ids, *api_ids]) + "\n")
    async with AgencyServer("service", scratch, workers, cpus, SERVICE_PORT) as server:
        base = f"http://127.0.0.1:{SERVICE_PORT}"
        async with httpx.AsyncClient(
            base_url=base, headers={"Authorization": f"Bearer {scratch.key}"}, timeout=60
        ) as client:
            hooks = (await client.get("/v1/webhooks")).json()["items"]
            if not hooks:
                created = await client.post(
                    "/v1/webhooks",
                    json={
                        "url": f"http://127.0.0.1:{RECEIVER_PORT}/hook",
                        "event_types": WEBHOOK_TYPES,
                    },
                )
                assert created.status_code == 201, created.text
            tokens = await mint_links(client, form_ids)
        async with httpx.AsyncClient(base_url=base, timeout=60) as browser:
            sessions = await board_sessions(browser, fx)
        await receiver_stats()  # forget deliveries from before
        plan_base: dict[str, Any] = {
            "port": SERVICE_PORT,
            "warmup": args.warmup,
            "duration": args.duration,
            "admin_key": scratch.key,
            "recruiter_keys": fx.recruiter_keys,
            "staff": fx.staff,
            "candidates": fx.candidates,
            "phone_prefixes": fx.prefixes,
            "board_sessions": sessions,
            "feed_cursor": await feed_tail(scratch),
        }
        tokens_left, api_left = tokens, api_ids

        async def phase(
            rates: dict[str, float], sync: bool, label: str, longer: float = 1.0
        ) -> dict[str, Any]:
            nonlocal tokens_left, api_left
            n_form = share(rates.get("form", 0), args)
            n_api = share(rates.get("debrief_api", 0), args)
            plan = plan_base | {
                "duration": args.duration * longer,
                "rates": rates,
                "sync": sync,
                "run": f"{scratch.db[:2]}{workers}-{len(label)}-{time.time_ns() % 10**9}",
                "tokens": tokens_left[:n_form],
                "api_interviews": api_left[:n_api],
            }
            tokens_left, api_left = tokens_left[n_form:], api_left[n_api:]
            # CPU used by the server's processes and by PostgreSQL's backends for this
            # database over the phase (new processes count from their start), per second of it.
            backends = await postgres_backends(scratch) if scratch.db == "postgres" else []
            server_cpu0, db_cpu0 = cpu_seconds(server.pids()), per_pid_cpu(backends)
            wall0 = time.perf_counter()
            result = await run_load(plan, scratch)
            wall = time.perf_counter() - wall0
            db_cpu = 0.0
            if scratch.db == "postgres":
                after = per_pid_cpu(await postgres_backends(scratch))
                db_cpu = sum(cpu - db_cpu0.get(pid, 0.0) for pid, cpu in after.items())
            result["server_cores_busy"] = round(
                (cpu_seconds(server.pids()) - server_cpu0) / wall, 3
            )
            result["db_cores_busy"] = round(db_cpu / wall, 3)
            result["rates"] = rates
            show(label, result)
            return result

        # The API reads at the no-board ladder's first step, the board at the other's: enough
        # requests for a p99 without loading the core with board pages before the sync starts.
        reads = {k: v for k, v in rates_for(ladders["api_steps"][0]).items() if k in READS}
        reads["board"] = rates_for(ladders["steps"][0])["board"]
        config["reads_alone"] = await phase(reads, False, "reads alone", longer=2)
        config["reads_with_sync"] = await phase(reads, True, "reads + sync", longer=2)
        config["drain_seconds"] = await drain()
        for ladder, counts in ({} if args.only_reads else ladders).items():
            config[ladder] = []
            for recruiters in counts:
                rates = rates_for(recruiters, board=ladder == "steps")
                label = f"{recruiters} recruiters" + ("" if ladder == "steps" else ", no board")
                result = await phase(rates, False, label)
                result["recruiters"] = recruiters
                result["passed"] = passed(result)
                config[ladder].append(result)
            # Every step is run (on a shared machine a step can fail on its neighbours'
            # account); the capacity is the last step before the first that failed.
            good = 0
            for step in config[ladder]:
                if not step["passed"]:
                    break
                good = step["recruiters"]
            config[f"capacity_{ladder}"] = {
                "recruiters": good,
                "bounded": not all(step["passed"] for step in config[ladder]),
            }
        config["peak_rss_mb"] = server.peak_rss_mb()
    return config


def starvation(config: dict[str, Any]) -> dict[str, Any]:
    alone, busy = config["reads_alone"]["classes"], config["reads_with_sync"]["classes"]
    found: dict[str, Any] = {}
    for name in READS:
        a, b = alone.get(name), busy.get(name)
        if a and b and a["p99_ms"] not in ("inf", 0) and b["p99_ms"] != "inf":
            found[name] = round(b["p99_ms"] / a["p99_ms"], 2)
    sync = busy.get("sync", {})
    found["sync_batches_per_second"] = sync.get("per_second")
    found["within_2x"] = all(v <= 2.0 for k, v in found.items() if k in READS)
    return found


def fit(steps: list[dict[str, Any]], key: str) -> tuple[float, float]:
    """Least squares of cores busy against recruiters: (fixed cores, cores per recruiter)."""
    xs = [float(s["recruiters"]) for s in steps]
    ys = [float(s[key]) for s in steps]
    if len(xs) < 2:
        return 0.0, ys[0] / xs[0] if xs else 0.0
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sum(
        (x - mx) ** 2 for x in xs
    )
    return my - slope * mx, slope


def cpu_costs(config: dict[str, Any]) -> dict[str, Any]:
    """What a recruiter costs in CPU, from every step of each ladder (fitted), and what one
    core, half busy, would then carry."""
    found: dict[str, Any] = {}
    for ladder in ("steps", "api_steps"):
        fixed_s, per_s = fit(config[ladder], "server_cores_busy")
        fixed_d, per_d = fit(config[ladder], "db_cores_busy")
        found[ladder] = {
            "server_fixed_cores": round(fixed_s, 4),
            "server_cores_per_1000": round(per_s * 1000, 4),
            "db_fixed_cores": round(fixed_d, 4),
            "db_cores_per_1000": round(per_d * 1000, 4),
            "recruiters_per_half_server_core": int((0.5 - fixed_s) / per_s) if per_s > 0 else None,
        }
    return found


def markdown(report: dict[str, Any]) -> str:
    m, v, a = report["machine"], report["versions"], report["args"]
    lines = [
        f"Machine: {m['cpus']} vCPU ({m['cpu_model']}), {m['memory_gib']} GiB, {m['os']}. "
        f"Python {v['python']}, PostgreSQL {report.get('postgres', '-')}, SQLite {v['sqlite']}, "
        f"uvicorn {v.get('uvicorn')}, SQLAlchemy {v.get('sqlalchemy')}, asyncpg "
        f"{v.get('asyncpg')}. Run of {report['started'][:16].replace('T', ' ')} UTC, "
        f"commit {report['code']['commit'][:7]} ({report['code']['uncommitted_files']} "
        f"uncommitted files in app/), `{report['command']}`, {report['minutes']} minutes; "
        f"{a['duration']:g} s measured per phase after {a['warmup']:g} s.",
        "",
        "| database | workers (cores) | recruiters | class | req/s | p50 ms | p99 ms | failed |",
        "| --- | --- | ---: | --- | ---: | ---: | ---: | ---: |",
    ]
    everything = [
        (config, step)
        for config in report["configurations"]
        for step in (*config.get("steps", ()), *config.get("api_steps", ()))
    ]
    for c, step in everything:
        where = f"{'PostgreSQL' if c['db'] == 'postgres' else 'SQLite'}"
        mark = "" if step["passed"] else " (over)"
        board = "" if "board" in step["rates"] else ", no board"
        head = (
            f"| {where} | {c['workers']} ({c['server_cpus']}) | {step['recruiters']:,}{board}{mark}"
        )
        lines.append(
            f"{head} | CPU: server {step['server_cores_busy']} cores, PostgreSQL "
            f"{step['db_cores_busy']} | | | | |"
        )
        for name, k in step["classes"].items():
            lines.append(
                f"{head} | {name} | {k['per_second']} | {k['p50_ms']} | {k['p99_ms']} "
                f"| {k['failed']} |"
            )
        hooks = step.get("webhooks", {})
        delivered = hooks.get("per_second")
        lines.append(
            f"{head} | webhooks delivered | {delivered} "
            f"| lag {hooks.get('lag_p50_ms')} | lag {hooks.get('lag_p99_ms')} | |"
        )
    lines += [
        "",
        "Reads alone and during a CRM sync (same read rate, same run; p99 ms):",
        "",
        "| database | workers | board alone | board + sync | queue alone | queue + sync | "
        "candidate alone | candidate + sync | sync batches of 1,000/s | within 2x |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for c in report["configurations"]:
        a, b = c["reads_alone"]["classes"], c["reads_with_sync"]["classes"]
        cells = [c["db"], str(c["workers"])]
        for name in READS:
            cells += [str(a.get(name, {}).get("p99_ms")), str(b.get(name, {}).get("p99_ms"))]
        s = c["starvation"]
        cells += [str(s["sync_batches_per_second"]), "yes" if s["within_2x"] else "**no**"]
        lines.append("| " + " | ".join(cells) + " |")
    if report["args"].get("only_reads"):
        return "\n".join(lines) + "\n"
    lines += [
        "",
        "| database | workers | recruiters sustained (p99 < 200 ms) | interviews a day "
        "| without the board: recruiters | interviews a day | cores busy per 1,000 recruiters "
        "(server + PostgreSQL, no board) | peak RSS MB |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for c in report["configurations"]:
        cells = [c["db"], str(c["workers"])]
        for ladder in ("steps", "api_steps"):
            cap = c[f"capacity_{ladder}"]
            n = cap["recruiters"]
            more = "" if cap["bounded"] else " or more"
            cells += [f"{n:,}{more}", f"{n * INTERVIEWS_PER_RECRUITER_DAY:,}{more}"]
        first = c["api_steps"][0]
        per_1000 = (first["server_cores_busy"] + first["db_cores_busy"]) * 1000
        cells.append(f"{per_1000 / first['recruiters']:.2f} (at {first['recruiters']:,})")
        lines.append("| " + " | ".join([*cells, str(c["peak_rss_mb"])]) + " |")
    lines += [
        "",
        "CPU a recruiter costs (least squares over every step of the ladder: cores busy = "
        "fixed + per recruiter x recruiters):",
        "",
        "| database | workers | ladder | server: fixed cores | server: cores per 1,000 "
        "recruiters | PostgreSQL: fixed | PostgreSQL: per 1,000 | recruiters a half-busy "
        "server core carries |",
        "| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for c in report["configurations"]:
        for ladder, label in (("steps", "whole mix"), ("api_steps", "without the board")):
            k = c["cpu"][ladder]
            lines.append(
                f"| {c['db']} | {c['workers']} | {label} | {k['server_fixed_cores']} | "
                f"{k['server_cores_per_1000']} | {k['db_fixed_cores']} | {k['db_cores_per_1000']} "
                f"| {k['recruiters_per_half_server_core']} |"
            )
    return "\n".join(lines) + "\n"


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", choices=("postgres", "sqlite", "both"), default="both")
    parser.add_argument("--workers", default="1,2,4", help="PostgreSQL worker counts")
    parser.add_argument("--steps", default="50,100,200,400", help="recruiters, whole mix")
    parser.add_argument(
        "--api-steps", default="500,1000,2000,4000,8000", help="recruiters, no board"
    )
    parser.add_argument("--sqlite-steps", default="50,100,200,400", help="recruiters")
    parser.add_argument("--sqlite-api-steps", default="500,1000,2000,4000,8000")
    parser.add_argument("--duration", type=float, default=15.0, help="seconds measured a phase")
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--size", type=int, default=50_000, help="candidates to seed")
    parser.add_argument("--quick", action="store_true", help="5,000 candidates, 5 s phases")
    parser.add_argument("--keep", action="store_true", help="reuse (and keep) the seeded data")
    parser.add_argument(
        "--only-reads",
        action="store_true",
        help="only the reads alone and during a sync, no ladders (results under the scratch dir)",
    )
    parser.add_argument("--render", type=Path, help="only redo agency.md from this agency.json")
    args = parser.parse_args()
    if args.render:
        report = json.loads(args.render.read_text())
        for config in report["configurations"]:
            config["cpu"] = cpu_costs(config) if "steps" in config else {}
        args.render.write_text(json.dumps(report, indent=2) + "\n")
        args.render.with_suffix(".md").write_text(markdown(report))
        print(markdown(report))
        return
    if args.quick:
        args.size, args.duration, args.warmup = 5000, 5.0, 1.0
    if shutil.which("taskset") is None or (os.cpu_count() or 1) < 2:
        raise SystemExit("needs taskset and 2 cores")
    started, clock = datetime.now(UTC), time.perf_counter()
    # A SIGTERM ends the run through the `finally` below (servers, receiver, scratch data).
    this = asyncio.current_task()
    assert this is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, this.cancel)
    report: dict[str, Any] = {
        "started": started.isoformat(),
        "command": "python -m bench.agency " + " ".join(sys.argv[1:]),
        "args": vars(args) | {"rates_per_recruiter_hour": RATES, "crm_batch": CRM_BATCH},
        "machine": machine(),
        "versions": versions(),
        "code": code_state(),
        "configurations": [],
    }
    dbs = ["postgres", "sqlite"] if args.db == "both" else [args.db]
    if "postgres" in dbs:
        report["postgres"] = await postgres_version()
    receiver = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.agency",
        "receive",
        str(RECEIVER_PORT),
        env=_env({"PYTHONPATH": str(ROOT)}),
        cwd=ROOT,
        start_new_session=True,
    )
    scratches: list[Scratch] = []
    try:
        await asyncio.sleep(1)
        for db in dbs:
            scratch = await prepare(
                db, args.size, args.keep, args.quick, name=PG_NAME, root=SCRATCH
            )
            scratches.append(scratch)
            (scratch.dir / "used_interviews.txt").unlink(missing_ok=True)
            if not scratch.reused:
                (scratch.dir / "recruiter_keys.txt").unlink(missing_ok=True)
            save_meta(scratch)
            workers = [int(w) for w in args.workers.split(",")] if db == "postgres" else [1]
            pg = db == "postgres"
            ladders = {
                "steps": [int(n) for n in (args.steps if pg else args.sqlite_steps).split(",")],
                "api_steps": [
                    int(n) for n in (args.api_steps if pg else args.sqlite_api_steps).split(",")
                ],
            }
            for n in workers:
                config = await run_configuration(scratch, n, ladders, args)
                config["starvation"] = starvation(config)
                config["cpu"] = {} if args.only_reads else cpu_costs(config)
                report["configurations"].append(config)
                # Kept as it goes: a run that stops half way still leaves what it measured.
                (SCRATCH / "agency-partial.json").write_text(json.dumps(report, indent=2) + "\n")
    finally:
        receiver.terminate()
        await receiver.wait()
        if not args.keep:
            for scratch in scratches:
                if scratch.db == "postgres":
                    await drop_database(scratch.pg_name)
                shutil.rmtree(scratch.dir, ignore_errors=True)
    report["minutes"] = round((time.perf_counter() - clock) / 60, 1)
    out = SCRATCH if args.quick or args.only_reads else RESULTS
    out.mkdir(parents=True, exist_ok=True)
    (out / "agency.json").write_text(json.dumps(report, indent=2) + "\n")
    (out / "agency.md").write_text(markdown(report))
    print(markdown(report))
    print(f"Wrote {out}/agency.json and agency.md.")


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "load":
        load_main(sys.argv[2])
    elif len(sys.argv) >= 3 and sys.argv[1] == "receive":
        receiver_main(int(sys.argv[2]))
    else:
        asyncio.run(main())
