"""A revoked key stops working on every replica within a second, whatever their key caches
hold; a lookup racing a revocation cannot put the key back into a cache."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from app.auth.keys import hash_key
from app.auth.revocations import APPLICATION_NAME
from app.clock import FrozenClock
from app.main import create_app
from tests.conftest import T0, KeyMaker, asyncpg_dsn, make_settings, on_postgres
from tests.factories import create_staff, patch_current

# Two calls a CRM makes all day: one answered by the route, one by the fast path.
READS = ("/v1/candidates", "/v1/debriefs/overdue")


@asynccontextmanager
async def replica(database_url: str) -> AsyncIterator[FastAPI]:
    """Another process of the service on the same database, trusting keys for 5 minutes."""
    app = create_app(make_settings(database_url, api_key_cache_seconds=300), clock=FrozenClock(T0))
    async with app.router.lifespan_context(app):
        if app.state.revocations is not None:
            await asyncio.wait_for(app.state.revocations.connected.wait(), 10)
        yield app


def client(app: FastAPI, key: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://testserver",
        headers={"Authorization": f"Bearer {key}"},
    )


async def new_key(admin: httpx.AsyncClient, role: str = "integration", **fields: str) -> dict:
    created = await admin.post("/v1/api-keys", json={"name": "crm", "role": role, **fields})
    assert created.status_code == 201, created.text
    body: dict = created.json()
    return body


async def refused_within(c: httpx.AsyncClient, seconds: float) -> float:
    """How long until every read is refused (401); fails after `seconds`."""
    started = time.monotonic()
    while True:
        statuses = [(await c.get(path)).status_code for path in READS]
        if statuses == [401, 401]:
            return time.monotonic() - started
        assert time.monotonic() - started < seconds, f"still answered {statuses}"
        await asyncio.sleep(0.02)


async def cached_on(app: FastAPI, key: str) -> None:
    async with client(app, key) as c:
        for path in READS:
            assert (await c.get(path)).status_code == 200
    assert app.state.key_cache.get(hash_key(key)) is not None


@pytest.mark.postgres
async def test_a_key_revoked_on_one_replica_is_refused_by_another_within_a_second(
    database_url: str, make_key: KeyMaker
) -> None:
    admin_key = await make_key("admin")
    async with replica(database_url) as a, replica(database_url) as b:
        async with client(a, admin_key) as admin_a:
            key = await new_key(admin_a)
            await cached_on(b, key["key"])
            assert (await admin_a.delete(f"/v1/api-keys/{key['id']}")).status_code == 200
        async with client(b, key["key"]) as crm_b:
            await refused_within(crm_b, 1.0)


@pytest.mark.postgres
async def test_deactivating_a_recruiter_on_one_replica_stops_their_key_on_another(
    database_url: str, make_key: KeyMaker
) -> None:
    admin_key = await make_key("admin")
    async with replica(database_url) as a, replica(database_url) as b:
        async with client(a, admin_key) as admin_a:
            staff = await create_staff(admin_a)
            key = await new_key(admin_a, "recruiter", staff_id=staff["id"])
            await cached_on(b, key["key"])
            changed = await patch_current(admin_a, f"/v1/staff/{staff['id']}", {"active": False})
            assert changed.status_code == 200
        async with client(b, key["key"]) as recruiter_b:
            await refused_within(recruiter_b, 1.0)


@pytest.mark.postgres
async def test_a_replica_that_stopped_listening_does_not_trust_its_cache(
    database_url: str, make_key: KeyMaker
) -> None:
    """A revocation made while the replica's listening connection was down (so never heard
    of there) is still refused at once: the cache is not used, then starts empty."""
    admin_key = await make_key("admin")
    listeners = (  # the suite's own app listens too: only B's connection is cut
        "SELECT {} FROM pg_stat_activity WHERE application_name = $1 "
        "AND datname = current_database() AND NOT pid = ANY($2::int[])"
    )
    conn = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        others = await conn.fetchval(listeners.format("array_agg(pid)"), APPLICATION_NAME, [])
        async with replica(database_url) as b, client(b, admin_key) as admin_b:
            key = await new_key(admin_b)
            await cached_on(b, key["key"])
            killed = await conn.fetchval(
                listeners.format("count(pg_terminate_backend(pid))"),
                APPLICATION_NAME,
                others or [],
            )
            assert killed == 1
            deadline = time.monotonic() + 5
            while b.state.revocations.connected.is_set():  # B noticed the loss
                assert time.monotonic() < deadline
                await asyncio.sleep(0.01)
            # Revoked behind the service's back: no notification is sent.
            await conn.execute(
                "UPDATE api_keys SET revoked_at = now() WHERE id = $1::uuid", key["id"]
            )
            async with client(b, key["key"]) as crm_b:
                for path in READS:
                    assert (await crm_b.get(path)).status_code == 401
            # Listening again, the cache is used again.
            await asyncio.wait_for(b.state.revocations.connected.wait(), 10)
            await cached_on(b, admin_key)
    finally:
        await conn.close()


async def test_a_lookup_racing_a_revocation_cannot_put_the_key_back(
    database_url: str, make_key: KeyMaker
) -> None:
    """The lookup reads the key (still live), the key is revoked and the news arrives, and
    only then does the lookup try to remember the key: it must not."""
    admin_key = await make_key("admin")
    async with replica(database_url) as b, replica(database_url) as a:
        # SQLite is one process: the revocation is made where the lookup runs.
        revoker = a if on_postgres() else b
        async with client(revoker, admin_key) as admin:
            key = await new_key(admin)
            read, resume = asyncio.Event(), asyncio.Event()

            async def hold_the_lookup() -> None:
                b.state.key_cache.after_lookup = None
                read.set()
                await resume.wait()

            b.state.key_cache.after_lookup = hold_the_lookup
            async with client(b, key["key"]) as crm_b:
                racing = asyncio.create_task(crm_b.get("/v1/candidates"))
                await asyncio.wait_for(read.wait(), 5)
                generation = b.state.key_cache.generation
                assert (await admin.delete(f"/v1/api-keys/{key['id']}")).status_code == 200
                deadline = time.monotonic() + 1
                while b.state.key_cache.generation == generation:  # the news reached B
                    assert time.monotonic() < deadline
                    await asyncio.sleep(0.01)
                resume.set()
                assert (await racing).status_code == 200  # it was read before the revocation
                for path in READS:
                    assert (await crm_b.get(path)).status_code == 401
