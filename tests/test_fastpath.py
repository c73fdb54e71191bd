"""The hot read (`GET /v1/candidates/{id}` with a cached key) answers exactly as the FastAPI
route does, and leaves everything else to it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from app.auth.dependencies import KeyCache
from app.fastpath import HotReads
from app.ratelimit import RateLimiter
from tests.conftest import ClientMaker
from tests.test_conventions import assert_problem


@pytest.fixture
def fast(api: FastAPI, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[bool]]:
    """Keys cached as in production (the suite turns the cache off); records, per GET of a
    candidate, whether the fast path answered it."""
    saved = api.state.key_cache
    api.state.key_cache = KeyCache(60)
    answered: list[bool] = []
    original = HotReads._candidate

    async def spy(self: HotReads, scope: Any, raw_id: str) -> Any:
        response = await original(self, scope, raw_id)
        answered.append(response is not None)
        return response

    monkeypatch.setattr(HotReads, "_candidate", spy)
    yield answered
    api.state.key_cache = saved


async def test_the_fast_answer_is_the_routes_answer(
    fast: list[bool], client_for: ClientMaker
) -> None:
    admin = await client_for("admin")
    created = (
        await admin.post(
            "/v1/candidates", json={"full_name": "Lena Fox", "email": "lena@mail.co.uk"}
        )
    ).json()
    url = f"/v1/candidates/{created['id']}"
    crm = await client_for("integration")
    first = await crm.get(url)  # the key is not cached yet: the route answers and caches it
    second = await crm.get(url)
    assert fast == [False, True]
    assert second.status_code == first.status_code == 200
    assert second.content == first.content
    for header in ("etag", "content-type", "content-length"):
        assert second.headers[header] == first.headers[header]
    assert second.headers["x-request-id"] != first.headers["x-request-id"]
    assert second.json()["full_name"] == "Lena Fox"


async def test_what_the_fast_path_cannot_answer_goes_to_the_route(
    fast: list[bool], client_for: ClientMaker, anonymous: httpx.AsyncClient
) -> None:
    admin = await client_for("admin")
    await admin.get("/v1/candidates")  # caches the key
    missing = await admin.get("/v1/candidates/01890000-0000-7000-8000-000000000000")
    assert_problem(missing, 404)
    assert_problem(await anonymous.get("/v1/candidates/01890000-0000-7000-8000-000000000000"), 401)
    assert fast == [False, False]
    assert_problem(await admin.get("/v1/candidates/not-a-uuid"), 404)  # not even tried
    assert_problem(await admin.get(f"/v1/candidates/{'0' * 32}?x=1"), 404)
    assert fast == [False, False]


async def test_a_revoked_key_is_refused_at_once(
    fast: list[bool], admin: httpx.AsyncClient, client_for: ClientMaker
) -> None:
    crm = await client_for("integration")
    created = (await crm.post("/v1/candidates", json={"full_name": "Sam Reed"})).json()
    url = f"/v1/candidates/{created['id']}"
    assert (await crm.get(url)).status_code == 200
    keys = (await admin.get("/v1/api-keys", params={"role": "integration"})).json()["items"]
    for key in keys:
        await admin.delete(f"/v1/api-keys/{key['id']}")
    assert_problem(await crm.get(url), 401)
    assert fast == [True, False]


async def test_the_fast_path_keeps_the_rate_limit(
    api: FastAPI, fast: list[bool], client_for: ClientMaker
) -> None:
    crm = await client_for("integration")
    created = (await crm.post("/v1/candidates", json={"full_name": "Ola Berg"})).json()
    url = f"/v1/candidates/{created['id']}"
    saved = api.state.key_limiter
    api.state.key_limiter = RateLimiter(per_minute=60, burst=3)
    try:
        statuses = [(await crm.get(url)).status_code for _ in range(4)]
        limited = await crm.get(url)
    finally:
        api.state.key_limiter = saved
    assert statuses == [200, 200, 200, 429]
    assert_problem(limited, 429)
    assert int(limited.headers["retry-after"]) >= 1
    assert fast[1:] == [True, True, True, True]
