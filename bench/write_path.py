"""Where the debrief POST's CPU goes: the framework's share against the service's work.

    .venv/bin/python -m bench.write_path        # PostgreSQL, about two minutes

Issue 19 asks the debrief POST for 35% of the write floor's requests a second. Throughput
on one core follows the CPU a request costs, so this benchmark measures that CPU in one
process, in alternating rounds, for four ways of answering the same request:

  client     a bare Starlette app answering 201: the in-process client's own cost
             (httpx through ASGI), taken off the other three
  floor      the write floor (`bench/write_floor.py`) in process: Starlette and asyncpg
             doing the debrief's writes in one transaction
  framework  the service's app with a route that takes what `POST /v1/interviews/{id}/debrief`
             takes (the body validated as `DebriefIn`, the API key, the session and its
             transaction, the clock) and writes nothing: the middleware, routing,
             authentication, validation and the transaction's opening and closing
  service    `POST /v1/interviews/{id}/debrief` itself, each call creating a debrief
  amend      the same POST amending a debrief `service` created, each call changing its notes
             and, in turn, the candidate's interest (yes, no, unsure: a "no" or "unsure"
             that is new opens their owner's call and alert), as most of the HTTP
             benchmark's POSTs do (`bench/wrk/debrief.lua` comes back to its interviews)

It reports each way's CPU a request with the client's cost taken off, the framework's
share of the service's, and the highest share of the floor's throughput the service could
reach on one core if its own work cost nothing (floor ÷ framework). Database CPU is not
counted: it is another process. Results go to bench/results/write_path.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import sqlalchemy
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from app.api.dependencies import Now, Session
from app.auth.dependencies import AnyKey
from app.debriefs.schemas import DebriefIn
from bench.common import app_client, drop_database, fresh_database, seed_agency

NAME = "debrief_bench_write_path"
RESULTS = Path(__file__).parent / "results" / "write_path.json"
BODY = {
    "channel": "phone",
    "overall_rating": 4,
    "company_fit": 3,
    "still_interested": "yes",
    "went_well": "Built rapport with the panel; the case study landed well.",
    "went_badly": "Ran short of time on the system design question.",
    "challenging_questions": ["Tell us about a time you disagreed with a manager"],
    "salary_expectation": {"amount": "55000.00", "currency": "GBP"},
    "other_applications_active": True,
    "linkedin_connected": True,
    "notes": "Keen, wants feedback by Friday.",
}


def _add_framework_route(app: Any) -> None:
    """A route taking what the debrief POST takes and writing nothing."""

    async def framework_only(
        interview_id: uuid.UUID, body: DebriefIn, session: Session, now: Now, principal: AnyKey
    ) -> Response:
        return Response(b'{"recorded":false}', status_code=201, media_type="application/json")

    app.router.add_api_route(
        "/v1/bench/{interview_id:uuid}/debrief", framework_only, methods=["POST"]
    )


async def _cpu_per_request(requests: int, send: Callable[[int], Awaitable[int]]) -> float:
    """Milliseconds of this process's CPU a request (`send` checks each answer)."""
    started = time.process_time()
    for i in range(requests):
        await send(i)
    return (time.process_time() - started) * 1000 / requests


async def measure(rounds: int, requests: int) -> dict[str, Any]:
    os.environ["DEBRIEF_RATE_LIMIT_PER_MINUTE"] = "0"
    url = await fresh_database(NAME)
    now = datetime.now(UTC)
    needed = (rounds + 1) * requests
    try:
        conn = await asyncpg.connect(url)
        try:
            await seed_agency(
                conn, interviews=needed * 5, now=now, newly_overdue=0.5, already_overdue=0
            )
            open_calls = [
                r["interview_id"]
                for r in await conn.fetch(
                    "SELECT interview_id FROM follow_ups WHERE kind = 'debrief_call' "
                    "AND status = 'pending' AND interview_id NOT IN "
                    "(SELECT interview_id FROM debriefs) ORDER BY interview_id"
                )
            ]
        finally:
            await conn.close()
        if len(open_calls) < 2 * needed:
            raise RuntimeError(f"{len(open_calls)} interviews to debrief, {2 * needed} needed")
        for_floor, for_service = open_calls[:needed], open_calls[needed : 2 * needed]

        os.environ["FLOOR_DATABASE_URL"] = url
        from bench.floor import create_app as floor_app

        floor = floor_app()
        service, lifespan = await app_client(
            url.replace("postgresql://", "postgresql+asyncpg://", 1),
            now,
            prepare=_add_framework_route,
        )

        async def bare_201(_request: Request) -> Response:
            return Response(b'{"recorded":false}', status_code=201, media_type="application/json")

        bare = Starlette(routes=[Route("/v1/x/{id}/debrief", bare_201, methods=["POST"])])
        clients = {
            "bare": httpx.AsyncClient(transport=httpx.ASGITransport(app=bare), base_url="http://b"),
            "floor": httpx.AsyncClient(
                transport=httpx.ASGITransport(app=floor), base_url="http://f"
            ),
        }
        async with floor.router.lifespan_context(floor):
            counters = {"floor": 0, "service": 0, "amend": 0}

            async def post(
                client: httpx.AsyncClient, path: str, body: dict[str, Any] = BODY, status: int = 201
            ) -> int:
                response = await client.post(path, json=body)
                if response.status_code != status:
                    raise RuntimeError(f"{path}: {response.status_code} {response.text[:300]}")
                return response.status_code

            moods = ("yes", "no", "unsure")

            def amend(i: int) -> Awaitable[int]:
                interview = for_service[i % counters["service"]]  # debriefed by `service`
                counters["amend"] += 1
                n = counters["amend"]
                body = {**BODY, "notes": f"Amended {n}", "still_interested": moods[n % 3]}
                return post(service, f"/v1/interviews/{interview}/debrief", body, 200)

            def taking(which: str, ids: list[uuid.UUID], prefix: str) -> Callable[[int], Any]:
                client = service if which == "service" else clients["floor"]

                def send(_i: int) -> Awaitable[int]:
                    interview = ids[counters[which]]
                    counters[which] += 1
                    return post(client, f"{prefix}/{interview}/debrief")

                return send

            ways: dict[str, Callable[[int], Awaitable[int]]] = {
                "client": lambda i: post(clients["bare"], f"/v1/x/{i}/debrief"),
                "floor": taking("floor", for_floor, "/v1/interviews"),
                "framework": lambda i: post(service, f"/v1/bench/{for_floor[i]}/debrief"),
                "service": taking("service", for_service, "/v1/interviews"),
                "amend": amend,
            }
            samples: dict[str, list[float]] = {name: [] for name in ways}
            for name, send in ways.items():  # warm: caches, prepared statements, the pools
                await _cpu_per_request(requests if name != "client" else 200, send)
            for _ in range(rounds):
                for name, send in ways.items():
                    samples[name].append(await _cpu_per_request(requests, send))
        for client in clients.values():
            await client.aclose()
        await service.aclose()
        await lifespan.__aexit__(None, None, None)
    finally:
        await drop_database(NAME)
    medians = {name: statistics.median(v) for name, v in samples.items()}
    own = {name: round(medians[name] - medians["client"], 3) for name in ("floor", "framework")}
    for way in ("service", "amend"):
        own[way] = round(medians[way] - medians["client"], 3)
    return {
        "run": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{platform.machine()}, Python {platform.python_version()}",
        "sqlalchemy": sqlalchemy.__version__,
        "rounds": rounds,
        "requests": requests,
        "client_cpu_ms": round(medians["client"], 3),
        "cpu_ms_per_request": own,
        "framework_share_of_service": round(own["framework"] / own["service"], 3),
        "floor_over_framework": round(own["floor"] / own["framework"], 3),
        "floor_over_service": round(own["floor"] / own["service"], 3),
        "floor_over_amend": round(own["floor"] / own["amend"], 3),
        "samples": samples,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()
    result = asyncio.run(measure(args.rounds, args.requests))
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k != "samples"}, indent=2))


if __name__ == "__main__":
    main()
