"""The floor of the stack: the thinnest service that answers `GET /candidates/{id}`.

Starlette, the raw database driver, one primary-key SELECT, JSON out with orjson: no
authentication, no validation, no ORM, no middleware. `bench/http.py` serves it with the
same uvicorn settings as `debrief serve` and measures it in the same run as the service.
The write floors (`bench/write_floor.py`) are served by the same app.

    FLOOR_DATABASE_URL=postgresql://postgres@127.0.0.1/db .venv/bin/python -m bench.floor
    FLOOR_DATABASE_URL=sqlite:////tmp/db.sqlite .venv/bin/python -m bench.floor --port 8001

PostgreSQL: an asyncpg pool of the service's size (`DEBRIEF_DB_POOL_SIZE`, default 10).
SQLite: the stdlib `sqlite3` module on one connection, called directly from the event loop.
A primary-key lookup takes microseconds, so blocking the loop for it is cheaper than any
hop to a thread (which is what aiosqlite, the service's driver, does for every call).
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bench.write_floor import SQLITE_PRAGMAS, postgres_routes, sqlite_routes

COLUMNS = (
    "id, external_id, full_name, email, phone, linkedin_url, owner_id, timezone, status, "
    "job_search_active, created_at, updated_at, version"
)
PG_QUERY = f"SELECT {COLUMNS} FROM candidates WHERE id = $1"
SQLITE_QUERY = f"SELECT {COLUMNS} FROM candidates WHERE id = ?"
NOT_FOUND = Response(b'{"status":404}', status_code=404, media_type="application/json")


def _json(row: Any) -> Response:
    # asyncpg's UUID type is not uuid.UUID, so orjson hands it to `str`.
    return Response(orjson.dumps(dict(row), default=str), media_type="application/json")


def create_app() -> Starlette:
    url = os.environ["FLOOR_DATABASE_URL"]
    pool_size = int(os.environ.get("DEBRIEF_DB_POOL_SIZE", "10"))

    if url.startswith("sqlite"):
        path = url.split(":///", 1)[1]
        state: dict[str, Any] = {}

        @asynccontextmanager
        async def sqlite_lifespan(_app: Starlette) -> AsyncIterator[None]:
            conn = sqlite3.connect(path, isolation_level=None)
            conn.row_factory = sqlite3.Row
            for pragma in SQLITE_PRAGMAS:
                conn.execute(pragma)
            state["conn"] = conn
            yield
            conn.close()

        async def sqlite_candidate(request: Request) -> Response:
            try:
                key = uuid.UUID(request.path_params["id"]).hex
            except ValueError:
                return NOT_FOUND
            row = state["conn"].execute(SQLITE_QUERY, (key,)).fetchone()
            return NOT_FOUND if row is None else _json(row)

        return Starlette(
            routes=[Route("/candidates/{id}", sqlite_candidate), *sqlite_routes(state)],
            lifespan=sqlite_lifespan,
        )

    dsn = url.replace("postgresql+asyncpg://", "postgresql://", 1)
    pools: dict[str, asyncpg.Pool] = {}

    @asynccontextmanager
    async def pg_lifespan(_app: Starlette) -> AsyncIterator[None]:
        pools["pool"] = await asyncpg.create_pool(dsn, min_size=1, max_size=pool_size)
        yield
        await pools["pool"].close()

    async def pg_candidate(request: Request) -> Response:
        try:
            key = uuid.UUID(request.path_params["id"])
        except ValueError:
            return NOT_FOUND
        row = await pools["pool"].fetchrow(PG_QUERY, key)
        return NOT_FOUND if row is None else _json(row)

    return Starlette(
        routes=[Route("/candidates/{id}", pg_candidate), *postgres_routes(pools)],
        lifespan=pg_lifespan,
    )


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description="The floor: Starlette + raw driver.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    # The same uvicorn settings as `debrief serve` (app/cli/commands.py).
    uvicorn.run(
        "bench.floor:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level=os.environ.get("DEBRIEF_LOG_LEVEL", "warning").lower(),
        proxy_headers=True,
        access_log=False,
    )


if __name__ == "__main__":
    main()
