"""Where the cost grows: the sweep, the queue, the event feed and the reports by size (issue 19).

    .venv/bin/python -m bench.scale                              # 100,000, 1,000,000, 5,000,000
    .venv/bin/python -m bench.scale --sizes 100000 1000000       # skip the big one
    .venv/bin/python -m bench.scale --sizes 5000000 --rounds 2   # 5M once (35 min, loaded box)

PostgreSQL only. Per size, one scratch database (`debrief_bench_scale_<size>`, dropped after
its figures unless --keep), seeded **inside the server** with `INSERT … SELECT FROM
generate_series` (no row travels through Python; 5,000,000 interviews make 10,000,000
follow-ups, 5,000,000 events and 2,955,000 debriefs), in chunks of 500,000 interviews:

  interviews   every one ended, spread over 700 days; 1% with a debrief call newly past due
               and still pending (the sweep's work), 0.5% overdue from earlier sweeps (the
               queue), the rest done, 60% of those with a debrief; outcomes spread
  follow-ups   a debrief call and a thank-you note per interview
  events       one `interview.scheduled` per interview, its payload the interview as the
               API shows it (the feed pages through these)

Then, per size and round (one warm-up round, then --rounds counted; medians), each against a
floor of the same thing done by hand through asyncpg on the same rows:

  sweep         `jobs.sweep` flagging the 1% due (one event each) / floor: bench.sweep's
                `UPDATE … RETURNING` of the same rows
  empty sweep   the sweep with nothing due, as the scheduler runs it (notifications' planning
                and the retention policy included), in steady state (after a VACUUM that
                cleans the indexes too)
  queue page    GET /v1/debriefs/overdue, first page / floor: 51 rows of `debrief_queue`
                in its index order
  feed pages    GET /v1/events: the first page, a page from the middle, and the tail a
                polling CRM reads (10 new events) / floor: `SELECT … FROM events WHERE
                seq > $1 ORDER BY seq LIMIT 51`
  reports       the three reports over their default 90 days / floor: bench.reports' one
                scan and aggregate of the same 90 days' interviews
The app runs in process (ASGI; an admin key). Results: bench/results/scale.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from app.db.engine import Database
from app.sweep import jobs
from bench.common import (
    app_client,
    drop_database,
    fresh_database,
    median,
    timed,
    utc_now,
)
from bench.reports import FLOOR_SQL as REPORT_FLOOR_SQL
from bench.sweep import FLOOR_SQL as SWEEP_FLOOR_SQL

RESULTS = Path(__file__).parent / "results"
CHUNK = 500_000
NEWLY_DUE = 0.01
ALREADY_OVERDUE = 0.005


def _id(kind: int, n: str) -> str:
    """A deterministic UUID per (table, row number): ordered like the rows, so the B-tree
    inserts stay at the right edge as with the service's time-ordered ids."""
    return (
        f"(lpad(to_hex({kind}), 8, '0') || '-0000-7000-8000-' || lpad(to_hex({n}), 12, '0'))::uuid"
    )


# $1 now, $2 first interview, $3 last + 1, $4 candidates, $5 newly due, $6 already overdue
# (every statement takes the same six; the debriefs' ignores $4 but names it).
NOW, NEW, OLD = "$1::timestamptz", "$5::bigint", "$6::bigint"
ENDS = f"{NOW} - make_interval(days => (2 + i % 700)::int, mins => (i % 600)::int)"
INTERVIEWS = f"""
INSERT INTO interviews (id, candidate_id, client_id, job_title, stage, format, starts_at,
    ends_at, duration_minutes, interviewers, status, outcome, outcome_recorded_at,
    decision_expected_by, follow_ups_opened_at, created_at, updated_at, version)
SELECT {_id(1, "i")}, {_id(0, "i % $4::bigint")}, {_id(9, "i % 200")},
       (ARRAY['Senior Accountant','Data Analyst','Backend Engineer','Payroll Manager'])[1 + i % 4],
       (ARRAY['screening','first','second','final'])[1 + i % 4], 'video',
       e - interval '1 hour', e, 60, '[{{"name": "Dana Whitfield", "title": "Hiring Manager"}}]',
       'completed', o, CASE WHEN o = 'pending' THEN NULL ELSE e + interval '3 days' END,
       CASE WHEN i % 2 = 0 THEN (e + interval '14 days')::date END, e, {NOW}, {NOW}, 1
  FROM (SELECT i, {ENDS} AS e,
               CASE WHEN i < {NEW} + {OLD} THEN 'pending'
                    ELSE (ARRAY['pending','next_round','offer','rejected','withdrawn'])[1 + i % 5]
               END AS o
          FROM generate_series($2::bigint, $3::bigint - 1) AS i) AS s
"""
FOLLOW_UPS = f"""
INSERT INTO follow_ups (id, interview_id, candidate_id, kind, status, due_at, opened_at,
    overdue_at, completed_at, completed_by, late, reminders_sent, next_notice_at,
    reminder_interval_days, max_reminders, created_at, updated_at, version)
SELECT {_id(2, "i")}, {_id(1, "i")}, {_id(0, "i % $4::bigint")}, 'debrief_call',
       CASE WHEN i < {NEW} THEN 'pending' WHEN i < {NEW} + {OLD} THEN 'overdue' ELSE 'done' END,
       e + interval '8 hours', e,
       CASE WHEN i >= {NEW} AND i < {NEW} + {OLD} THEN e + interval '8 hours' END,
       CASE WHEN i >= {NEW} + {OLD} THEN e + interval '6 hours' END,
       CASE WHEN i >= {NEW} + {OLD} THEN 'system' END, false, 0,
       CASE WHEN i >= {NEW} AND i < {NEW} + {OLD} THEN {NOW} + interval '24 hours' END,
       2, 3, e, e, 1
  FROM (SELECT i, {ENDS} AS e
          FROM generate_series($2::bigint, $3::bigint - 1) AS i) AS s
UNION ALL
SELECT {_id(3, "i")}, {_id(1, "i")}, {_id(0, "i % $4::bigint")}, 'thank_you_note', 'done',
       e + interval '24 hours', e, NULL, e + interval '3 hours', 'system', false, 0, NULL,
       2, 3, e, e, 1
  FROM (SELECT i, {ENDS} AS e
          FROM generate_series($2::bigint, $3::bigint - 1) AS i) AS s
"""
DEBRIEFS = f"""
INSERT INTO debriefs (id, interview_id, channel, overall_rating, went_well,
    challenging_questions, still_interested, company_fit, notes, received_at, received_via,
    called_at, created_at, updated_at, version)
SELECT {_id(4, "i")}, {_id(1, "i")}, 'phone', 1 + i % 5, 'Good rapport with the panel.',
       jsonb_build_array('Why are you leaving your current role?',
                         'Question ' || (i % 300) || ' of the panel'),
       (ARRAY['yes','no','unsure'])[1 + i % 3], 1 + i % 5, 'Keen; expects a decision soon.',
       e + interval '6 hours', 'staff', e + interval '6 hours', e + interval '6 hours',
       e + interval '6 hours', 1
  FROM (SELECT i, {ENDS} AS e
          FROM generate_series($2::bigint, $3::bigint - 1) AS i) AS s
 WHERE i >= {NEW} + {OLD} AND i % 5 < 3 AND $4::bigint > 0
"""
EVENTS = """
INSERT INTO events (id, type, occurred_at, data, candidate_id)
SELECT v.id, 'interview.scheduled', v.starts_at - interval '7 days',
       jsonb_build_object('interview', to_jsonb(v) - 'follow_ups_opened_at'), v.candidate_id
  FROM interviews AS v
 WHERE v.id >= {lo} AND v.id < {hi}
 ORDER BY v.id
"""
QUEUE = """
INSERT INTO debrief_queue (follow_up_id, due_at, reminders_sent, max_reminders, next_notice_at,
    candidate_id, full_name, phone, owner_id, interview_id, job_title, ends_at, client_id,
    client_name)
SELECT f.id, f.due_at, f.reminders_sent, f.max_reminders, f.next_notice_at, c.id, c.full_name,
       c.phone, c.owner_id, v.id, v.job_title, v.ends_at, k.id, k.name
  FROM follow_ups AS f
  JOIN interviews AS v ON v.id = f.interview_id
  JOIN candidates AS c ON c.id = f.candidate_id
  JOIN clients AS k ON k.id = v.client_id
 WHERE f.kind = 'debrief_call' AND f.status = 'overdue'
ON CONFLICT DO NOTHING
"""
QUEUE_FLOOR = "SELECT * FROM debrief_queue ORDER BY due_at, follow_up_id LIMIT 51"
FEED_FLOOR = (
    "SELECT seq, id, type, occurred_at, data FROM events WHERE seq > $1 ORDER BY seq LIMIT 51"
)


async def seed(conn: asyncpg.Connection, size: int, now: datetime) -> dict[str, Any]:
    n_candidates = max(size // 3, 1)
    n_new, n_old = round(size * NEWLY_DUE), round(size * ALREADY_OVERDUE)
    # The rows are consistent by construction: skip the foreign-key checks and the queue's
    # triggers while loading (a third of the time at 5,000,000); the queue is written below.
    await conn.execute("SET session_replication_role = replica")
    await conn.execute(
        f"""INSERT INTO staff (id, full_name, email, active, created_at, updated_at, version)
            SELECT {_id(8, "i")}, 'Recruiter ' || i, 'r' || i || '@agency.co.uk', true, $1, $1, 1
              FROM generate_series(0, 19) AS i""",
        now,
    )
    await conn.execute(
        f"""INSERT INTO clients (id, name, created_at, updated_at, version)
            SELECT {_id(9, "i")}, 'Employer ' || i, $1, $1, 1 FROM generate_series(0, 199) AS i""",
        now,
    )
    await conn.execute(
        f"""INSERT INTO candidates (id, full_name, phone, owner_id, status, job_search_active,
                created_at, updated_at, version)
            SELECT {_id(0, "i")}, 'Candidate ' || i, '+4479111' || lpad((i % 100000)::text, 5, '0'),
                   {_id(8, "i % 20")}, 'active', true, $1, $1, 1
              FROM generate_series(0, $2::bigint - 1) AS i""",
        now,
        n_candidates,
    )
    for lo in range(0, size, CHUNK):
        hi = min(lo + CHUNK, size)
        args = (now, lo, hi, n_candidates, n_new, n_old)
        for sql in (INTERVIEWS, FOLLOW_UPS, DEBRIEFS):
            await conn.execute(sql, *args)
        bounds = [f"'{await conn.fetchval(f'SELECT {_id(1, str(n))}')}'::uuid" for n in (lo, hi)]
        await conn.execute(EVENTS.format(lo=bounds[0], hi=bounds[1]))
        print(f"  [{size:,}] {hi:,} interviews seeded", flush=True)
    await conn.execute(QUEUE)
    await conn.execute("RESET session_replication_role")
    await conn.execute("VACUUM ANALYZE")
    counts = {}
    for table in ("interviews", "follow_ups", "debriefs", "events", "debrief_queue"):
        counts[table] = await conn.fetchval(f"SELECT count(*) FROM {table}")
    counts["newly_due"], counts["already_overdue"] = n_new, n_old
    counts["database_mb"] = round(
        await conn.fetchval("SELECT pg_database_size(current_database())") / 2**20
    )
    return counts


class Size:
    def __init__(self, size: int, name: str, now: datetime) -> None:
        self.size, self.name, self.now = size, name, now
        self.samples: dict[str, list[float]] = {}

    def add(self, name: str, value: float) -> None:
        self.samples.setdefault(name, []).append(round(value, 3))


async def one_round(
    s: Size,
    conn: asyncpg.Connection,
    db: Database,
    client: httpx.AsyncClient,
    marks: dict[str, Any],
) -> None:
    now = s.now
    due_ids = marks["due_ids"]

    async def reset() -> None:
        await conn.execute(
            "UPDATE follow_ups SET status = 'pending', overdue_at = NULL, next_notice_at = NULL "
            "WHERE id = ANY($1::uuid[])",
            due_ids,
        )
        await conn.execute("DELETE FROM events WHERE seq > $1", marks["last_seq"])
        await conn.execute("VACUUM ANALYZE follow_ups, events, debrief_queue")

    async def floor() -> None:
        async with conn.transaction():
            rows = await conn.fetch(SWEEP_FLOOR_SQL, now, now + timedelta(hours=48))
        assert len(rows) == len(due_ids), len(rows)

    flagged: list[int] = []

    async def sweep() -> None:
        flagged.append((await jobs.sweep(db, lambda: now)).overdue)

    await reset()
    s.add("sweep floor", await timed(floor))
    await reset()
    s.add("sweep", await timed(sweep))
    assert flagged == [len(due_ids)], flagged
    # Steady state: a VACUUM that cleans the indexes too (left to decide, it skips them when
    # under 2% of the table's pages hold dead rows, and the next scan of the pending follow-ups'
    # index would visit each follow-up just flagged). The sweep as the scheduler runs it, with
    # the notifications' planning and the retention policy's step.
    await conn.execute("VACUUM (ANALYZE, INDEX_CLEANUP ON) follow_ups, events, debrief_queue")
    settings = client._transport.app.state.settings  # type: ignore[attr-defined]
    for _ in range(3):
        s.add("empty sweep", await timed(lambda: jobs.sweep(db, lambda: now, settings=settings)))
    await reset()

    async def fetch(query: str, *args: Any) -> None:
        await conn.fetch(query, *args)

    async def get(path: str, params: dict[str, str] | None = None, items: int = 50) -> None:
        answer = await client.get(path, params=params)
        assert answer.status_code == 200, answer.text
        assert len(answer.json()["items"]) == items, (path, params, len(answer.json()["items"]))

    feed = {
        "first": "0",
        "middle": str(marks["last_seq"] // 2),
        "tail": str(marks["last_seq"] - 10),
    }
    for _ in range(10):
        s.add("queue floor", await timed(lambda: fetch(QUEUE_FLOOR)))
        s.add("queue page", await timed(lambda: get("/v1/debriefs/overdue")))
        for where, cursor in feed.items():
            items = 10 if where == "tail" else 50
            s.add(f"feed floor {where}", await timed(lambda c=cursor: fetch(FEED_FLOOR, int(c))))
            s.add(
                f"feed {where}",
                await timed(lambda c=cursor, n=items: get("/v1/events", {"cursor": c}, n)),
            )
    start, end = now - timedelta(days=90), now
    report_floor = REPORT_FLOOR_SQL.format(a="$1", b="$2")
    for _ in range(2):
        s.add("report floor", await timed(lambda: fetch(report_floor, start, end)))
    for report in ("debrief-timeliness", "employer-decisions", "pipeline"):

        async def call(path: str = f"/v1/reports/{report}") -> None:
            answer = await client.get(path)
            assert answer.status_code == 200, answer.text

        s.add(f"report {report}", await timed(call))


def summary(s: Size) -> dict[str, Any]:
    m = {name: median(values) for name, values in s.samples.items()}
    pairs = [("sweep", "sweep floor"), ("queue page", "queue floor")]
    pairs += [(f"feed {w}", f"feed floor {w}") for w in ("first", "middle", "tail")]
    pairs += [(f"report {r}", "report floor") for r in ("debrief-timeliness", "employer-decisions")]
    pairs += [("report pipeline", "report floor")]
    ratios = {a: round(m[a] / m[b], 2) for a, b in pairs if m.get(b)}
    return {"median_ms": m, "over_floor": ratios, "samples": s.samples}


async def measure(size: int, rounds: int, keep: bool) -> dict[str, Any]:
    name = f"debrief_bench_scale_{size}"
    url = await fresh_database(name)
    now = utc_now()
    conn = await asyncpg.connect(url)
    print(f"[{size:,}] seeding ...", flush=True)
    started = time.perf_counter()
    counts = await seed(conn, size, now)
    seconds = round(time.perf_counter() - started, 1)
    print(f"[{size:,}] seeded in {seconds} s: {counts}", flush=True)
    marks = {
        "due_ids": [
            r["id"]
            for r in await conn.fetch(
                "SELECT id FROM follow_ups WHERE status = 'pending' AND due_at <= $1", now
            )
        ],
        "last_seq": await conn.fetchval("SELECT max(seq) FROM events"),
    }
    sa_url = url.replace("postgresql://", "postgresql+asyncpg://", 1)
    client, lifespan = await app_client(sa_url, now)
    s = Size(size, name, now)
    try:
        db = client._transport.app.state.db  # type: ignore[attr-defined]
        # Retention on (2 years), so the empty sweep looks for inactive candidates (none are).
        answer = await client.put("/v1/settings/follow-up-policy", json={"retention_days": 730})
        assert answer.status_code == 200, answer.text
        await one_round(s, conn, db, client, marks)  # warm-up, not counted
        s.samples.clear()
        for number in range(rounds):
            await one_round(s, conn, db, client, marks)
            print(f"[{size:,}] round {number + 1}/{rounds} done", flush=True)
    finally:
        await client.aclose()
        await lifespan.__aexit__(None, None, None)
        await conn.close()
        if not keep:
            await drop_database(name)
    result = {"counts": counts, "seed_seconds": seconds, **summary(s)}
    shown = {k: v for k, v in result.items() if k != "samples"}
    print(f"[{size:,}] {json.dumps(shown)}", flush=True)
    return result


FIGURES = (
    ("sweep, 1% of interviews newly due (events included)", "sweep", "sweep floor"),
    ("empty sweep (steady state)", "empty sweep", None),
    ("`GET /v1/debriefs/overdue`, first page", "queue page", "queue floor"),
    ("`GET /v1/events`, first page", "feed first", "feed floor first"),
    ("`GET /v1/events`, a page from the middle", "feed middle", "feed floor middle"),
    ("`GET /v1/events`, the tail a CRM polls", "feed tail", "feed floor tail"),
    ("`debrief-timeliness`, 90 days", "report debrief-timeliness", "report floor"),
    ("`employer-decisions`, 90 days", "report employer-decisions", "report floor"),
    ("`pipeline`, 90 days", "report pipeline", "report floor"),
)


def markdown(report: dict[str, Any]) -> str:
    """Per figure and size: the median (and the fastest sample: on a shared machine the
    least disturbed) in ms, its floor's median, the ratio of the medians; then the growth
    of the figure and of its floor from the smallest size."""
    sizes = sorted(report["sizes"], key=int)
    head = " | ".join(f"{int(n):,}: ms (fastest) | floor ms | ÷ floor" for n in sizes)
    lines = [f"| figure | {head} | growth, largest ÷ smallest: figure (fastest) | floor |"]
    lines.append("| --- |" + " ---: | ---: | ---: |" * len(sizes) + " ---: | ---: |")
    for label, name, floor in FIGURES:
        cells = [label]
        for n in sizes:
            samples = report["sizes"][n]["samples"]
            mid, low = median(samples[name]), min(samples[name])
            base = median(samples[floor]) if floor else None
            ratio = f"{mid / base:.2f}" if base else "-"
            cells += [f"{mid:,.1f} ({low:,.1f})", f"{base:,.1f}" if base else "-", ratio]
        first, last = report["sizes"][sizes[0]]["samples"], report["sizes"][sizes[-1]]["samples"]
        growth = median(last[name]) / median(first[name])
        fastest = min(last[name]) / min(first[name])
        cells.append(f"{growth:.2f} ({fastest:.2f})")
        cells.append(f"{median(last[floor]) / median(first[floor]):.2f}" if floor else "-")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000, 5_000_000])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--keep", action="store_true", help="keep the scratch databases")
    parser.add_argument("--out", type=Path, default=RESULTS / "scale.json")
    parser.add_argument("--render", action="store_true", help="only write the table from --out")
    args = parser.parse_args()
    if args.render:
        table = markdown(json.loads(args.out.read_text()))
        args.out.with_suffix(".md").write_text(table)
        print(table)
        return
    from bench.http import code_state, machine, postgres_version, versions

    report: dict[str, Any] = {
        "started": datetime.now().astimezone().isoformat(),
        "machine": machine(),
        "versions": versions(),
        "postgres": await postgres_version(),
        "code": code_state(),
        "rounds": args.rounds,
        "sizes": {},
    }
    out = args.out
    if out.exists():  # sizes run separately (5M once) go into the same file
        report["sizes"] = json.loads(out.read_text()).get("sizes", {})
    for size in args.sizes:
        report["sizes"][str(size)] = await measure(size, args.rounds, args.keep)
        report["sizes"][str(size)]["run_started"] = report["started"]
        out.parent.mkdir(exist_ok=True)
        out.write_text(json.dumps(report, indent=2) + "\n")
    out.with_suffix(".md").write_text(markdown(report))
    print(f"Wrote {out} and {out.with_suffix('.md')}.")


if __name__ == "__main__":
    asyncio.run(main())
