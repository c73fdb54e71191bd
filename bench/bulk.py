"""Benchmark of the bulk upsert against a raw-driver batch insert of the same rows (PostgreSQL).

    .venv/bin/python -m bench.bulk            # 10 rounds of 1,000 new candidates each way

Each round makes 1,000 new candidates (names, emails, phones, LinkedIn URLs, owners) and
stores them twice, in alternating order, into a scratch database:
  floor  asyncpg `executemany` of one INSERT per row, in one transaction: no validation,
         no events, the rows exactly as the service would store them
  bulk   POST /v1/candidates/bulk through the app (in-process ASGI, authenticated):
         every item validated (E.164 phone, email, URL), upserted by external_id, one
         `candidate.created` event per row, one transaction
  resend the same batch again (every item `unchanged`), as a CRM re-syncing does
Results go to bench/results/bulk.json.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import platform
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import phonenumbers
from pydantic import TypeAdapter

from app.auth.service import issue_key
from app.candidates.schemas import CandidateUpsert
from app.clock import FrozenClock
from app.config import Settings
from app.db.transaction import transaction
from app.ids import uuid7
from app.main import create_app
from app.schemas.fields import phones_read_in
from bench.common import SECRET_KEY, drop_database, fresh_database, median, timed

RESULTS = Path(__file__).parent / "results"
BATCH = 1000
INSERT = """
INSERT INTO candidates (id, external_id, full_name, email, phone, linkedin_url, owner_id, timezone,
                        status, job_search_active, created_at, updated_at, version)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'active', true, $9, $9, 1)
"""


def _fresh_phones() -> Iterator[str]:
    """UK mobile numbers never used before in this run (each is validated for real)."""
    for n in itertools.count(100000):
        number = f"+447{n:09d}"[:13]
        if phonenumbers.is_valid_number(phonenumbers.parse(number)):
            yield number


PHONES = _fresh_phones()


def people(prefix: str, owners: list[Any]) -> list[dict[str, Any]]:
    """New candidates: nothing about them (phone, email) has been validated before."""
    return [
        {
            "external_id": f"{prefix}-{i}",
            "full_name": f"Candidate {prefix} {i}",
            "email": f"{prefix}.{i}@mail.co.uk",
            "phone": next(PHONES),
            "linkedin_url": f"https://www.linkedin.com/in/{prefix}-{i}",
            "owner_id": str(owners[i % len(owners)]),
            "timezone": "Europe/London",
        }
        for i in range(BATCH)
    ]


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    name = "debrief_bench_bulk"
    url = await fresh_database(name)
    conn = await asyncpg.connect(url)
    now = datetime.now(UTC)
    owners = [uuid7() for _ in range(20)]
    await conn.executemany(
        "INSERT INTO staff (id, full_name, email, active, created_at, updated_at, version) "
        "VALUES ($1, $2, $3, true, $4, $4, 1)",
        [(o, f"Recruiter {i}", f"r{i}@agency.co.uk", now) for i, o in enumerate(owners)],
    )
    settings = Settings(
        database_url=url.replace("postgresql://", "postgresql+asyncpg://", 1),
        scheduler_enabled=False,
        webhook_delivery_enabled=False,
        secret_key=SECRET_KEY,
    )
    app = create_app(settings, clock=FrozenClock(now))
    floor_ms: list[float] = []
    bulk_ms: list[float] = []
    resend_ms: list[float] = []
    validate_ms: list[float] = []
    adapter = TypeAdapter(CandidateUpsert)
    async with app.router.lifespan_context(app):
        async with transaction(app.state.db, now=now) as session:
            _, secret = await issue_key(
                session=session, name="bench", role="integration", staff_id=None, now=now
            )
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://bench",
            headers={"Authorization": f"Bearer {secret}"},
            timeout=60,
        ) as client:

            async def floor(items: list[dict[str, Any]]) -> None:
                rows = [
                    (
                        uuid7(),
                        p["external_id"],
                        p["full_name"],
                        p["email"],
                        p["phone"],
                        p["linkedin_url"],
                        owners[i % len(owners)],
                        p["timezone"],
                        now,
                    )
                    for i, p in enumerate(items)
                ]
                async with conn.transaction():
                    await conn.executemany(INSERT, rows)

            async def send(items: list[dict[str, Any]], expected: str) -> None:
                response = await client.post("/v1/candidates/bulk", json={"items": items})
                assert response.status_code == 200, response.text
                assert {r["status"] for r in response.json()["results"]} == {expected}

            async def bulk(items: list[dict[str, Any]]) -> None:
                await send(items, "created")

            await bulk(people("warm-a", owners))
            await floor(people("warm-b", owners))
            for number in range(args.rounds):
                pair = [("floor", floor), ("bulk", bulk)]
                for label, work in pair if number % 2 == 0 else reversed(pair):
                    items = people(f"{label}{number}", owners)
                    elapsed = await timed(lambda work=work, items=items: work(items))
                    (floor_ms if label == "floor" else bulk_ms).append(round(elapsed, 2))
                    if label == "floor":  # what validation alone costs, on rows never seen before
                        fresh = people(f"v{number}", owners)
                        started = time.perf_counter()
                        with phones_read_in(settings.default_phone_region):  # as a request is
                            for item in fresh:
                                adapter.validate_python(item)
                        validate_ms.append(round((time.perf_counter() - started) * 1000, 2))
                    if label == "bulk":  # the CRM sends the same batch again: nothing changes
                        again = await timed(lambda items=items: send(items, "unchanged"))
                        resend_ms.append(round(again, 2))
    await conn.close()
    await drop_database(name)
    result = {
        "batch": BATCH,
        "floor_ms": median(floor_ms),
        "bulk_ms": median(bulk_ms),
        "floor_rows_per_s": round(BATCH / median(floor_ms) * 1000),
        "bulk_rows_per_s": round(BATCH / median(bulk_ms) * 1000),
        "bulk_share_of_floor": round(median(floor_ms) / median(bulk_ms), 3),
        "resend_unchanged_ms": median(resend_ms),
        "validation_only_ms": median(validate_ms),
        "samples": {
            "floor": floor_ms,
            "bulk": bulk_ms,
            "resend": resend_ms,
            "validation": validate_ms,
        },
    }
    print(json.dumps({k: v for k, v in result.items() if k != "samples"}))
    RESULTS.mkdir(exist_ok=True)
    machine = {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
    }
    (RESULTS / "bulk.json").write_text(
        json.dumps({"machine": machine, "result": result}, indent=2) + "\n"
    )


if __name__ == "__main__":
    asyncio.run(main())
