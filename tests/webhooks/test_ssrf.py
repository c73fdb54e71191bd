"""Webhook targets must be globally routable unicast addresses: every other kind is refused,
at registration and on the address a delivery connects to."""

from __future__ import annotations

import httpx
import pytest

from app.webhooks.ssrf import GuardedTransport, is_public
from tests.test_conventions import assert_problem

REFUSED = [
    # IPv4
    ("127.0.0.1", "loopback"),
    ("10.1.2.3", "private"),
    ("172.16.0.1", "private"),
    ("192.168.1.1", "private"),
    ("169.254.169.254", "link-local (cloud metadata)"),
    ("100.64.0.1", "carrier-grade NAT"),
    ("0.0.0.0", "unspecified"),  # noqa: S104 - refused, not bound
    ("0.1.2.3", "this network"),
    ("192.0.0.1", "IETF protocol assignments"),
    ("192.0.0.9", "IETF protocol assignments (PCP anycast)"),
    ("192.0.0.170", "NAT64 discovery"),
    ("192.0.2.1", "documentation"),
    ("192.88.99.1", "6to4 relay anycast"),
    ("198.18.0.1", "benchmarking"),
    ("198.51.100.1", "documentation"),
    ("203.0.113.1", "documentation"),
    ("224.0.0.1", "multicast"),
    ("239.255.255.250", "multicast"),
    ("240.0.0.1", "reserved"),
    ("255.255.255.255", "broadcast"),
    # IPv6
    ("::1", "loopback"),
    ("::", "unspecified"),
    ("fe80::1%eth0", "link-local with a zone"),
    ("fc00::1", "unique local"),
    ("fd12:3456::1", "unique local"),
    ("fec0::1", "site-local (deprecated)"),
    ("ff0e::1", "global-scope multicast"),
    ("ff02::1", "link-local multicast"),
    ("::ffff:127.0.0.1", "IPv4-mapped loopback"),
    ("::ffff:10.0.0.7", "IPv4-mapped private"),
    ("::ffff:192.0.0.9", "IPv4-mapped IETF assignment"),
    ("::7f00:1", "IPv4-compatible loopback"),
    ("::5db8:d822", "IPv4-compatible public"),
    ("::ffff:0:7f00:1", "IPv4-translated (SIIT)"),
    ("64:ff9b::7f00:1", "NAT64 of loopback"),
    ("64:ff9b::5db8:d822", "NAT64 of a public address"),
    ("64:ff9b:1::a00:7", "local-use NAT64"),
    ("2002:7f00:1::1", "6to4 of loopback"),
    ("2002:a00:7::1", "6to4 of a private address"),
    ("2002:5db8:d822::1", "6to4 of a public address"),
    ("2001::1", "Teredo"),
    ("2001:0:4136:e378:8000:63bf:3fff:fdd2", "Teredo"),
    ("2001:2::1", "benchmarking"),
    ("2001:3::1", "AMT"),
    ("2001:20::1", "ORCHIDv2"),
    ("2001:db8::1", "documentation"),
    ("3fff::1", "documentation"),
    ("100::1", "discard-only"),
    ("5f00::1", "SRv6 SIDs"),
    ("not an address", "not an address"),
]

ACCEPTED = [
    ("93.184.216.34", "public IPv4"),
    ("8.8.8.8", "public IPv4"),
    ("1.1.1.1", "public IPv4"),
    ("192.0.3.1", "just past 192.0.2.0/24"),
    ("::ffff:93.184.216.34", "IPv4-mapped public"),
    ("2001:4860:4860::8888", "public IPv6"),
    ("2606:4700:4700::1111", "public IPv6"),
    ("2a00:1450:4001:81b::200e", "public IPv6"),
]


@pytest.mark.parametrize(("address", "kind"), REFUSED, ids=[a for a, _ in REFUSED])
def test_addresses_that_are_not_globally_routable_unicast_are_refused(
    address: str, kind: str
) -> None:
    assert is_public(address) is False, kind


@pytest.mark.parametrize(("address", "kind"), ACCEPTED, ids=[a for a, _ in ACCEPTED])
def test_globally_routable_unicast_addresses_are_accepted(address: str, kind: str) -> None:
    assert is_public(address) is True, kind


@pytest.mark.parametrize(
    "url",
    [
        "http://[2002:7f00:1::1]/hook",
        "http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/hook",
        "http://192.0.0.9/hook",
        "http://192.0.0.170/hook",
        "http://[64:ff9b::a9fe:a9fe]/hook",
        "http://[fec0::1]/hook",
        "http://192.88.99.1/hook",
    ],
)
async def test_tunnelled_and_special_purpose_targets_are_refused_at_registration(
    admin: httpx.AsyncClient, url: str
) -> None:
    body = assert_problem(await admin.post("/v1/webhooks", json={"url": url}), 422)
    assert body["errors"][0]["field"] == "url"
    assert (await admin.get("/v1/webhooks")).json()["items"] == []


async def test_a_delivery_will_not_connect_to_a_6to4_address() -> None:
    """The connection-time check uses the same rule as registration."""
    async with httpx.AsyncClient(transport=GuardedTransport(allow_private=False)) as client:
        with pytest.raises(httpx.ConnectError, match="private or reserved"):
            await client.post("http://[2002:7f00:1::1]:9/hook", content=b"{}")
