"""Abuse limits: per key, and failed keys per address; 429 with Retry-After."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from app.api.ratelimit import RateLimiter, client_bucket
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


def test_the_table_never_holds_more_callers_than_its_bound() -> None:
    limiter = RateLimiter(per_minute=60, burst=2, max_entries=100)
    for i in range(1_000):
        limiter.take(f"caller-{i}", now=0)
        assert len(limiter) <= 100
    assert len(limiter) == 100


def test_a_new_caller_at_the_bound_pushes_out_only_the_one_seen_longest_ago() -> None:
    limiter = RateLimiter(per_minute=60, burst=2, max_entries=100)
    for i in range(100):
        limiter.take(f"caller-{i}", now=0)
    limiter.take("caller-0", now=1)  # seen again: now the most recent
    # An hour later every bucket has refilled; the new caller still costs one eviction,
    # not a pass over the whole table (which would forget all 100).
    limiter.take("newcomer", now=3600)
    assert len(limiter) == 100
    assert "caller-1" not in limiter
    assert "caller-0" in limiter
    assert all(f"caller-{i}" in limiter for i in range(2, 100))
    limiter.take("another", now=3600)
    assert "caller-2" not in limiter
    assert len(limiter) == 100


def test_a_caller_that_keeps_knocking_stays_limited_while_new_callers_flood_in() -> None:
    limiter = RateLimiter(per_minute=1, burst=1, max_entries=50)
    assert limiter.take("guesser", now=0) is None
    for i in range(1_000):
        limiter.take(f"flood-{i}", now=0)
        if i % 10 == 0:
            assert limiter.take("guesser", now=0) is not None
    assert limiter.take("guesser", now=0) is not None


def test_ipv6_addresses_count_by_their_64_and_ipv4_by_the_address() -> None:
    assert client_bucket("2001:db8:1:2::1") == client_bucket("2001:db8:1:2:ffff:0:0:9")
    assert client_bucket("2001:db8:1:2::1") == "2001:db8:1:2::/64"
    assert client_bucket("2001:db8:1:3::1") != client_bucket("2001:db8:1:2::1")
    assert client_bucket("192.0.2.1") == "192.0.2.1"
    assert client_bucket("192.0.2.1") != client_bucket("192.0.2.2")
    assert client_bucket("::ffff:192.0.2.1") == "192.0.2.1"
    assert client_bucket(None) == "unknown"
