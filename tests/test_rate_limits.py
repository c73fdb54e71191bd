"""Abuse limits: per key, and failed keys per address; 429 with Retry-After."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from app.ratelimit import RateLimiter
from tests.conftest import ClientMaker
from tests.test_conventions import assert_problem


async def test_a_key_that_sends_too_much_gets_429_with_retry_after(
    api: FastAPI, client_for: ClientMaker
) -> None:
    saved = api.state.key_limiter
    api.state.key_limiter = RateLimiter(per_minute=60, burst=5)
    try:
        busy = await client_for("integration")
        calm = await client_for("integration")
        statuses = [(await busy.get("/v1/candidates")).status_code for _ in range(6)]
        assert statuses == [200] * 5 + [429]
        limited = await busy.get("/v1/candidates")
        body = assert_problem(limited, 429)
        assert int(limited.headers["retry-after"]) >= 1
        assert "slow down" in body["detail"]
        assert (await calm.get("/v1/candidates")).status_code == 200  # per key
    finally:
        api.state.key_limiter = saved


async def test_guessing_keys_gets_429(api: FastAPI, anonymous: httpx.AsyncClient) -> None:
    saved = api.state.failure_limiter
    api.state.failure_limiter = RateLimiter(per_minute=3, burst=3)
    try:
        statuses = [
            (
                await anonymous.get(
                    "/v1/candidates", headers={"Authorization": f"Bearer dbr_guess{i}"}
                )
            ).status_code
            for i in range(5)
        ]
        assert statuses == [401, 401, 401, 429, 429]
    finally:
        api.state.failure_limiter = saved


def test_the_bucket_refills() -> None:
    limiter = RateLimiter(per_minute=60, burst=2)
    assert limiter.take("k", now=0) is None
    assert limiter.take("k", now=0) is None
    assert limiter.take("k", now=0) == 1
    assert limiter.take("k", now=1.0) is None
