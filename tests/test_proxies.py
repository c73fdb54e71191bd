"""Behind a reverse proxy: whose X-Forwarded-For / X-Forwarded-Proto count (only the
proxies in DEBRIEF_TRUSTED_PROXIES), per-address limits by IPv6 /64, and HSTS on https."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack

import httpx
import pytest
from fastapi import FastAPI, Request

from app.config import Settings
from app.main import create_app
from tests.conftest import KeyMaker, make_settings

HSTS = "max-age=31536000; includeSubDomains"
PROXY = "10.0.0.5"  # inside the trusted 10.0.0.0/8
STRANGER = "203.0.113.9"

Replica = Callable[..., Awaitable[FastAPI]]
Peer = Callable[[FastAPI, str], httpx.AsyncClient]


@pytest.fixture
async def replica(api: FastAPI, database_url: str) -> AsyncIterator[Replica]:
    """Starts a second app on the suite's database with the given settings."""
    async with AsyncExitStack() as stack:

        async def start(**overrides: object) -> FastAPI:
            app = create_app(make_settings(database_url, **overrides), clock=api.state.clock)
            await stack.enter_async_context(app.router.lifespan_context(app))

            @app.get("/probe-connection", include_in_schema=False)
            async def probe(request: Request) -> dict[str, str | None]:
                client = request.client.host if request.client else None
                return {"scheme": request.url.scheme, "client": client}

            return app

        yield start


@pytest.fixture
async def peer() -> AsyncIterator[Peer]:
    """A client whose TCP peer address (as the server sees it) is the one given."""
    opened: list[httpx.AsyncClient] = []

    def connect(app: FastAPI, address: str) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=app, client=(address, 40000))
        client = httpx.AsyncClient(transport=transport, base_url="http://testserver")
        opened.append(client)
        return client

    yield connect
    for client in opened:
        await client.aclose()


async def bad_key(client: httpx.AsyncClient, forwarded_for: str | None = None) -> int:
    headers = {"Authorization": "Bearer dbr_not_a_key"}
    if forwarded_for is not None:
        headers["X-Forwarded-For"] = forwarded_for
    return (await client.get("/v1/candidates", headers=headers)).status_code


def test_trusted_proxies_are_read_as_a_comma_separated_list_of_addresses_and_networks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DEBRIEF_ENVIRONMENT", "test")
    assert Settings().trusted_proxies == []
    monkeypatch.setenv("DEBRIEF_TRUSTED_PROXIES", "10.0.0.0/8, 192.0.2.7 ,2001:db8::/32")
    assert Settings().trusted_proxies == ["10.0.0.0/8", "192.0.2.7", "2001:db8::/32"]
    monkeypatch.setenv("DEBRIEF_TRUSTED_PROXIES", "proxy.internal")
    with pytest.raises(ValueError, match="not an IP address or network"):
        Settings()


async def test_forwarded_for_from_an_untrusted_peer_is_ignored(
    replica: Replica, peer: Peer
) -> None:
    app = await replica(trusted_proxies=["10.0.0.0/8"], auth_failures_per_minute=2)
    stranger = peer(app, STRANGER)
    # Claiming a new address on every guess does not get a new allowance.
    statuses = [await bad_key(stranger, f"198.51.100.{i}") for i in range(3)]
    assert statuses == [401, 401, 429]
    probe = (await stranger.get("/probe-connection", headers={"X-Forwarded-For": "1.2.3.4"})).json()
    assert probe["client"] == STRANGER


async def test_forwarded_for_from_a_trusted_proxy_is_the_client(
    replica: Replica, peer: Peer
) -> None:
    app = await replica(trusted_proxies=["10.0.0.0/8"], auth_failures_per_minute=2)
    proxy = peer(app, PROXY)
    assert [await bad_key(proxy, "1.2.3.4") for _ in range(3)] == [401, 401, 429]
    # Another client behind the same proxy has its own allowance.
    assert await bad_key(proxy, "5.6.7.8") == 401
    # A client's forged entry in front of what the proxy appended does not count.
    assert await bad_key(proxy, "9.9.9.9, 1.2.3.4") == 429
    probe = (await proxy.get("/probe-connection", headers={"X-Forwarded-For": "5.6.7.8"})).json()
    assert probe["client"] == "5.6.7.8"


async def test_nobody_is_trusted_by_default(replica: Replica, peer: Peer) -> None:
    app = await replica(auth_failures_per_minute=2)
    local = peer(app, "127.0.0.1")
    assert [await bad_key(local, f"198.51.100.{i}") for i in range(3)] == [401, 401, 429]
    headers = {"X-Forwarded-For": "1.2.3.4", "X-Forwarded-Proto": "https"}
    probe = (await local.get("/probe-connection", headers=headers)).json()
    assert probe == {"scheme": "http", "client": "127.0.0.1"}


async def test_forwarded_proto_https_from_a_trusted_proxy_makes_the_request_https(
    replica: Replica, peer: Peer
) -> None:
    app = await replica(trusted_proxies=["10.0.0.0/8"])
    headers = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "1.2.3.4"}
    trusted = await peer(app, PROXY).get("/probe-connection", headers=headers)
    assert trusted.json() == {"scheme": "https", "client": "1.2.3.4"}
    assert trusted.headers["strict-transport-security"] == HSTS
    untrusted = await peer(app, STRANGER).get("/probe-connection", headers=headers)
    assert untrusted.json() == {"scheme": "http", "client": STRANGER}
    assert "strict-transport-security" not in untrusted.headers


async def test_ipv6_clients_are_limited_by_their_64(replica: Replica, peer: Peer) -> None:
    app = await replica(auth_failures_per_minute=2)
    assert await bad_key(peer(app, "2001:db8:1:2::1")) == 401
    assert await bad_key(peer(app, "2001:db8:1:2:aaaa:bbbb:cccc:dddd")) == 401
    # A third address in the same /64 is the same client.
    assert await bad_key(peer(app, "2001:db8:1:2:ffff::9")) == 429
    # The neighbouring /64 is someone else.
    assert await bad_key(peer(app, "2001:db8:1:3::1")) == 401


async def test_ipv6_clients_behind_a_trusted_proxy_are_limited_by_their_64(
    replica: Replica, peer: Peer
) -> None:
    app = await replica(trusted_proxies=["fd00::/8"], auth_failures_per_minute=2)
    proxy = peer(app, "fd00::1")
    assert await bad_key(proxy, "2001:db8:7:7::1") == 401
    assert await bad_key(proxy, "2001:db8:7:7::2") == 401
    assert await bad_key(proxy, "2001:db8:7:7:1:2:3:4") == 429
    assert await bad_key(proxy, "2001:db8:7:8::1") == 401


async def test_every_response_carries_hsts_when_the_public_url_is_https(
    replica: Replica, peer: Peer, make_key: KeyMaker
) -> None:
    app = await replica(public_base_url="https://debrief.example.com", api_key_cache_seconds=60)
    client = peer(app, STRANGER)
    key = {"Authorization": f"Bearer {await make_key('admin')}"}
    responses = [
        await client.get("/healthz"),
        await client.get("/nowhere"),  # 404 outside any route
        await client.get("/v1/candidates"),  # 401 problem
        await client.get("/v1/debriefs/overdue", headers=key),  # the hot read, its key looked up
        await client.get("/v1/debriefs/overdue", headers=key),  # the hot read, its key cached
        await client.get("/board"),  # an HTML page
    ]
    assert [r.headers.get("strict-transport-security") for r in responses] == [HSTS] * 6


async def test_no_hsts_over_plain_http(anonymous: httpx.AsyncClient) -> None:
    response = await anonymous.get("/healthz")
    assert "strict-transport-security" not in response.headers
