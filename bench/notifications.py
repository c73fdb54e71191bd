"""Benchmark of the notifications outbox on PostgreSQL, against a local SMTP server.

    .venv/bin/python -m bench.notifications           # 2,000 emails; a sweep opening 10,002
    .venv/bin/python -m bench.notifications --quick   # 300 emails; 1,002 follow-ups

Two figures, each beside a floor measured in the same run:

  delivery     N link emails, due now, sent by the outbox's Sender (claim with SKIP LOCKED
               and a lease, check each still applies, mint the candidate's fresh link, send,
               record the attempt), against the floor: the same SMTP client (aiosmtplib)
               sending the same N messages straight over one connection. Alternating
               rounds, each on freshly seeded rows.
  sweep+drain  a sweep that opens 10,002 follow-ups at once (3,334 ended interviews: debrief call,
               thank-you note, employer chase) and so plans 3,334 link emails beside their
               events; then, 30 minutes later, the time for the outbox to drain them all to
               the SMTP server. The same sweep on a database without the notifications
               observer is its floor.

The SMTP server is aiosmtpd on 127.0.0.1 in a process of its own
(`python -m aiosmtpd -n -c aiosmtpd.handlers.Sink`), accepting everything. Results go to
bench/results/notifications.json; bench/README.md has the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import socket
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiosmtplib
import asyncpg

from app.clock import FrozenClock
from app.config import Settings
from app.db.engine import Database
from app.followups.policy import FollowUpPolicy
from app.ids import uuid7
from app.notifications import mail
from app.notifications import service as notifications
from app.notifications.delivery import Sender
from app.notifications.render import render
from app.sweep import jobs
from bench.common import SECRET_KEY, drop_database, fresh_database, median, utc_now

RESULTS = Path(__file__).parent / "results"
FROM = "hello@agency.example"


# A Wednesday morning, inside business and waking hours in London.
NOW = datetime(2026, 3, 4, 10, 0, tzinfo=UTC)


async def smtp_server(port: int) -> asyncio.subprocess.Process:
    """aiosmtpd in its own process, taking every message and keeping none."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "aiosmtpd",
        "-n",
        "-l",
        f"127.0.0.1:{port}",
        "-c",
        "aiosmtpd.handlers.Sink",
    )
    for _ in range(100):
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(0.05)
            continue
        writer.close()
        return process
    raise RuntimeError("the SMTP server did not start")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def settings_for(url: str, smtp_port: int) -> Settings:
    return Settings(
        database_url=url,
        environment="test",
        secret_key=SECRET_KEY,  # type: ignore[arg-type]
        smtp_url=f"smtp://127.0.0.1:{smtp_port}",  # type: ignore[arg-type]
        mail_from=FROM,
        agency_name="Northbridge Talent",
        smtp_max_per_minute=100_000,
        scheduler_enabled=False,
        webhook_delivery_enabled=False,
        notification_delivery_enabled=False,
    )


async def seed_people(conn: asyncpg.Connection, count: int, now: datetime, ended: datetime) -> None:
    """`count` candidates with an email, each with one interview that ended at `ended`,
    whose follow-ups are not opened yet."""
    await conn.execute(
        "TRUNCATE notifications, notification_attempts, notification_subjects, "
        "notification_suppressions, debrief_links, follow_ups, events, debrief_queue, "
        "interviews, candidates, clients, staff, audit_entries CASCADE"
    )
    staff = [
        (uuid7(), f"Recruiter {i}", f"r{i}@agency.example", True, now, now, 1) for i in range(20)
    ]
    await conn.copy_records_to_table(
        "staff",
        records=staff,
        columns=["id", "full_name", "email", "active", "created_at", "updated_at", "version"],
    )
    client = (uuid7(), "Harlow & Finch", now, now, 1)
    await conn.copy_records_to_table(
        "clients", records=[client], columns=["id", "name", "created_at", "updated_at", "version"]
    )
    candidates, interviews = [], []
    for i in range(count):
        cid = uuid7()
        candidates.append(
            (
                cid,
                f"Candidate {i}",
                f"c{i}@mail.example",
                staff[i % 20][0],
                "Europe/London",
                "active",
                True,
                now,
                now,
                1,
            )
        )
        interviews.append(
            (
                uuid7(),
                cid,
                client[0],
                "Senior Accountant",
                "first",
                "video",
                ended - timedelta(hours=1),
                ended,
                60,
                "[]",
                "scheduled",
                "pending",
                now,
                now,
                1,
            )
        )
    await conn.copy_records_to_table(
        "candidates",
        records=candidates,
        columns=[
            "id",
            "full_name",
            "email",
            "owner_id",
            "timezone",
            "status",
            "job_search_active",
            "created_at",
            "updated_at",
            "version",
        ],
    )
    await conn.copy_records_to_table(
        "interviews",
        records=interviews,
        columns=[
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
            "status",
            "outcome",
            "created_at",
            "updated_at",
            "version",
        ],
    )
    await conn.execute("VACUUM ANALYZE")


async def seed_due_emails(conn: asyncpg.Connection, settings: Settings, now: datetime) -> int:
    """One link email per seeded interview, rendered from the real template, due now."""
    rows = await conn.fetch(
        "SELECT i.id AS interview_id, c.id AS candidate_id, c.full_name, c.email "
        "FROM interviews i JOIN candidates c ON c.id = i.candidate_id"
    )
    policy = FollowUpPolicy()
    records = []
    for row in rows:
        rendered = render(
            "candidate_debrief_link",
            {
                "agency": settings.agency_name,
                "first_name": row["full_name"].split(" ")[0],
                "client": "Harlow & Finch",
                "job_title": "Senior Accountant",
                "recruiter_name": "Rosa Patel",
                "link_url": f"{notifications.base_url(settings)}/f/{{personal-link}}",
                "link_days": policy.debrief_link_days,
                "unsubscribe_url": f"{notifications.base_url(settings)}/u/{{unsubscribe-link}}",
                "interviewed": "today",
                "interviewers_text": "your interviewers",
                "thank_you_by": "Thursday 5 March, 10:00",
                "ideal_hours": "3 hours",
            },
        )
        ident = uuid7()
        records.append(
            (
                ident,
                "candidate_debrief_link",
                "email",
                row["email"],
                row["full_name"],
                row["candidate_id"],
                row["interview_id"],
                rendered.subject,
                rendered.text,
                rendered.html,
                notifications.message_id_for(ident, settings),
                "pending",
                now,
                now,
                0,
                f"candidate_debrief_link:{row['interview_id']}",
                now,
                now,
            )
        )
    await conn.copy_records_to_table(
        "notifications",
        records=records,
        columns=[
            "id",
            "kind",
            "channel",
            "recipient",
            "recipient_name",
            "candidate_id",
            "interview_id",
            "subject",
            "body_text",
            "body_html",
            "message_id",
            "status",
            "send_after",
            "next_attempt_at",
            "attempts",
            "dedupe_key",
            "created_at",
            "updated_at",
        ],
    )
    await conn.execute("VACUUM ANALYZE notifications")
    return len(records)


async def floor_send(conn: asyncpg.Connection, settings: Settings, port: int) -> float:
    """The same messages, built the same way, sent straight over one connection."""
    rows = await conn.fetch(
        "SELECT recipient, recipient_name, subject, body_text, body_html, message_id "
        "FROM notifications ORDER BY id"
    )
    smtp = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, start_tls=False)
    started = time.perf_counter()
    await smtp.connect()
    for row in rows:
        message = mail.build(
            from_name=settings.agency_name,
            from_address=FROM,
            reply_to=None,
            to_name=row["recipient_name"],
            to_address=row["recipient"],
            subject=row["subject"],
            text=row["body_text"],
            html=row["body_html"],
            message_id=row["message_id"],
            date=utc_now(),
            unsubscribe_url="http://127.0.0.1:8000/u/token",
        )
        await smtp.send_message(message, sender=FROM, recipients=[row["recipient"]])
    await smtp.quit()
    return time.perf_counter() - started


async def drain(sender: Sender) -> float:
    started = time.perf_counter()
    while await sender.round():
        pass
    await sender.close()
    return time.perf_counter() - started


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    emails = 300 if args.quick else 2000
    interviews = 334 if args.quick else 3334  # three follow-ups each: 10,002 follow-ups

    port = free_port()
    server = await smtp_server(port)
    name = "debrief_bench_notifications"
    url = await fresh_database(name)
    plain_name = "debrief_bench_notifications_floor"
    plain_url = await fresh_database(plain_name)
    sa_url = url.replace("postgresql://", "postgresql+asyncpg://", 1)
    settings = settings_for(sa_url, port)
    now = NOW
    clock = FrozenClock(now)
    db = Database(sa_url, pool_size=4)
    notifications.install(db, settings)
    plain = Database(plain_url.replace("postgresql://", "postgresql+asyncpg://", 1), pool_size=4)
    conn = await asyncpg.connect(url)
    plain_conn = await asyncpg.connect(plain_url)
    results: dict[str, Any] = {"delivery": [], "sweep": []}
    try:
        for round_ in range(args.rounds):
            # Delivery against its floor, in alternating order.
            await seed_people(conn, emails, now, now - timedelta(days=1))
            seeded = await seed_due_emails(conn, settings, now)
            order = ("floor", "outbox") if round_ % 2 == 0 else ("outbox", "floor")
            timing: dict[str, float] = {}
            for which in order:
                if which == "floor":
                    timing["floor"] = await floor_send(conn, settings, port)
                else:
                    clock.set(now)
                    sender = Sender(db, settings, None, clock.now)  # type: ignore[arg-type]
                    timing["outbox"] = await drain(sender)
            sent = await conn.fetchval("SELECT count(*) FROM notifications WHERE status = 'sent'")
            assert sent == seeded, sent
            results["delivery"].append({"emails": seeded, **timing})
            print(
                f"delivery {seeded}: floor {timing['floor']:.2f} s, outbox {timing['outbox']:.2f} s"
            )

            # A sweep opening 10,002 follow-ups, with and without planning the emails; then drain.
            ended = now - timedelta(minutes=1)
            first, second = (conn, plain_conn) if round_ % 2 else (plain_conn, conn)
            await seed_people(first, interviews, now, ended)
            await seed_people(second, interviews, now, ended)
            await conn.execute("CHECKPOINT")  # the seeding's writes flushed before either sweep
            sweeps: dict[str, float] = {}
            for which, database in (("plain", plain), ("notifying", db))[
                :: 1 if round_ % 2 == 0 else -1
            ]:
                started = time.perf_counter()
                counts = await jobs.sweep(database, lambda: now, settings=settings)
                sweeps[which] = time.perf_counter() - started
                assert counts.opened == interviews, counts
            follow_ups = await conn.fetchval("SELECT count(*) FROM follow_ups")
            planned = await conn.fetchval("SELECT count(*) FROM notifications")
            clock.set(now + timedelta(minutes=31))
            sender = Sender(db, settings, None, clock.now)  # type: ignore[arg-type]
            drained = await drain(sender)
            sent = await conn.fetchval("SELECT count(*) FROM notifications WHERE status = 'sent'")
            assert sent == planned == interviews, (sent, planned)
            results["sweep"].append(
                {
                    "steps": follow_ups,
                    "emails": planned,
                    "sweep": sweeps["notifying"],
                    "sweep_floor": sweeps["plain"],
                    "drain": drained,
                }
            )
            print(
                f"sweep of {follow_ups} follow-ups: {sweeps['notifying']:.2f} s (without planning "
                f"{sweeps['plain']:.2f} s); {planned} emails drained in {drained:.2f} s"
            )
    finally:
        await conn.close()
        await plain_conn.close()
        await db.dispose()
        await plain.dispose()
        server.terminate()
        await server.wait()
        await drop_database(name)
        await drop_database(plain_name)

    delivery = results["delivery"]
    sweep = results["sweep"]
    summary = {
        "emails": delivery[0]["emails"],
        "floor_s": median([d["floor"] for d in delivery]),
        "outbox_s": median([d["outbox"] for d in delivery]),
        "outbox_over_floor": median([d["outbox"] / d["floor"] for d in delivery]),
        "floor_per_s": median([d["emails"] / d["floor"] for d in delivery]),
        "outbox_per_s": median([d["emails"] / d["outbox"] for d in delivery]),
        "steps": sweep[0]["steps"],
        "sweep_emails": sweep[0]["emails"],
        "sweep_s": median([s["sweep"] for s in sweep]),
        "sweep_floor_s": median([s["sweep_floor"] for s in sweep]),
        "sweep_over_floor": median([s["sweep"] / s["sweep_floor"] for s in sweep]),
        "drain_s": median([s["drain"] for s in sweep]),
        "drain_per_s": median([s["emails"] / s["drain"] for s in sweep]),
    }
    machine = {
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "postgres": await _server_version(),
        "aiosmtplib": aiosmtplib.__version__,
        "when": datetime.now().astimezone().isoformat(timespec="minutes"),
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "notifications.json").write_text(
        json.dumps({"machine": machine, "summary": summary, "rounds": results}, indent=2) + "\n"
    )
    print(json.dumps(summary, indent=2))


async def _server_version() -> str:
    from bench.common import SERVER_URL

    conn = await asyncpg.connect(SERVER_URL)
    try:
        return str(await conn.fetchval("SHOW server_version"))
    finally:
        await conn.close()


if __name__ == "__main__":
    asyncio.run(main())
