"""The domains' routers turn away a path none of their routes can have before trying each
route (`app.api.routing`); what matches, and how, is as with FastAPI's own router."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from starlette.routing import Match

from app.api.routing import APIRouter
from app.main import create_app
from tests.conftest import make_settings


def _app() -> FastAPI:
    things = APIRouter(prefix="/v1/things")
    others = APIRouter(prefix="/v1/others")

    @things.get("/{thing_id}")
    async def thing(thing_id: int) -> dict[str, int]:
        return {"thing": thing_id}

    @others.get("/{other_id}")
    async def other(other_id: int) -> dict[str, int]:
        return {"other": other_id}

    slashed = APIRouter(prefix="/v1/slashed")

    @slashed.get("/")
    async def listing() -> dict[str, bool]:
        return {"slashed": True}

    app = FastAPI()
    for router in (things, others, slashed):
        app.include_router(router)
    return app


def test_a_router_knows_the_start_its_routes_share() -> None:
    router = APIRouter(prefix="/v1/interviews/{interview_id:uuid}")

    @router.post("/debrief")
    async def debrief() -> None: ...

    @router.get("/employer-feedback")
    async def feedback() -> None: ...

    assert router.shared_start() == "/v1/interviews/"
    scope = {"type": "http", "path": "/v1/candidates/1", "root_path": "", "method": "GET"}
    assert router.matches(scope) == (Match.NONE, {})


async def test_requests_reach_the_same_routes() -> None:
    for base in ("", "/api"):  # the second as behind a proxy that serves it under /api
        transport = httpx.ASGITransport(app=_app(), root_path=base)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            assert (await client.get(f"{base}/v1/others/7")).json() == {"other": 7}
            assert (await client.get(f"{base}/v1/things/3")).json() == {"thing": 3}
            assert (await client.get(f"{base}/v1/nowhere/3")).status_code == 404
            assert (await client.post(f"{base}/v1/others/7")).status_code == 405
            moved = await client.get(f"{base}/v1/slashed")  # Starlette adds the slash
            assert moved.status_code == 307
            assert moved.headers["location"].endswith("/v1/slashed/")


def test_every_route_of_the_app_starts_as_its_router_says(database_url: str) -> None:
    """The check is only as good as the shared start: every route of every router has it."""
    app = create_app(make_settings(database_url))
    included = [r for r in app.router.routes if hasattr(r, "original_router")]
    # Included as they are: a prefix given at inclusion would not be in the routes' paths the
    # check reads, and it would turn away every request of that router.
    assert {r.include_context.prefix for r in included} == {""}  # type: ignore[attr-defined]
    routers = [r.original_router for r in included]  # type: ignore[attr-defined]
    assert len(routers) > 20
    assert all(isinstance(router, APIRouter) for router in routers)
    for router in routers:
        start = router.shared_start()
        assert all(route.path.startswith(start) for route in router.routes)  # type: ignore[attr-defined]
