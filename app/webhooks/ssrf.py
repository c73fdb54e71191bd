"""Webhook targets may not be private: checked when a URL is registered, and again on the
address each delivery actually connects to (so DNS cannot be switched after the check)."""

from __future__ import annotations

import ipaddress
import socket
import ssl
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

import anyio
import httpcore
import httpx

# IPv6 global unicast is 2000::/3; inside it, these are not a host on the internet (or hide
# an IPv4 address behind a tunnel or a translator, which could be a private one).
_GLOBAL_UNICAST_V6 = ipaddress.IPv6Network("2000::/3")
_REFUSED_V6 = tuple(
    ipaddress.IPv6Network(n)
    for n in (
        "2001::/23",  # IETF protocol assignments: Teredo (2001::/32), benchmarking, AMT, ORCHID
        "2001:db8::/32",  # documentation
        "2002::/16",  # 6to4: the IPv4 address inside may be a private one
        "3fff::/20",  # documentation
    )
)
_REFUSED_V4 = tuple(
    ipaddress.IPv4Network(n)
    for n in (
        "0.0.0.0/8",  # "this network"
        "100.64.0.0/10",  # carrier-grade NAT
        "192.0.0.0/24",  # IETF protocol assignments (NAT64 discovery, DS-Lite, PCP anycast...)
        "192.0.2.0/24",  # documentation
        "192.88.99.0/24",  # 6to4 relay anycast
        "198.18.0.0/15",  # benchmarking
        "198.51.100.0/24",  # documentation
        "203.0.113.0/24",  # documentation
        "224.0.0.0/4",  # multicast
        "240.0.0.0/4",  # reserved, and the broadcast address
    )
)


def is_public(address: str) -> bool:
    """Globally routable unicast, and nothing else: not loopback, private, link-local,
    multicast, reserved, shared, documentation or special-purpose (RFC 6890 and its
    successors), and no IPv6 address that carries an IPv4 one through a tunnel or a
    translator (6to4, Teredo, NAT64, IPv4-compatible). An IPv4-mapped IPv6 address
    (::ffff:a.b.c.d) is judged as the IPv4 address it maps to."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        elif ip not in _GLOBAL_UNICAST_V6 or any(ip in net for net in _REFUSED_V6):
            return False
    if isinstance(ip, ipaddress.IPv4Address) and any(ip in net for net in _REFUSED_V4):
        return False
    return ip.is_global and not (
        ip.is_multicast
        or ip.is_reserved
        or ip.is_link_local
        or ip.is_private
        or ip.is_loopback
        or ip.is_unspecified
    )


RESOLVE_TIMEOUT_SECONDS = 3.0


async def resolve(host: str, port: int) -> list[str]:
    infos = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    seen: dict[str, None] = {}
    for info in infos:
        seen.setdefault(str(info[4][0]), None)
    return list(seen)


async def refusal(url: str, *, allow_private: bool) -> str | None:
    """Why this URL may not receive webhooks, or None if it may."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "must be an http(s) URL with a host"
    if parts.username or parts.password:
        return "must not carry credentials; the signature authenticates us"
    if allow_private:
        return None
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        with anyio.fail_after(RESOLVE_TIMEOUT_SECONDS):
            addresses = await resolve(parts.hostname, port)
    except (OSError, UnicodeError):
        return f"the host {parts.hostname} cannot be resolved"
    except TimeoutError:
        return f"the host {parts.hostname} did not resolve within {RESOLVE_TIMEOUT_SECONDS:g} s"
    private = [a for a in addresses if not is_public(a)]
    if private:
        return (
            f"the host resolves to a private, loopback or reserved address ({private[0]}); "
            "such targets are refused unless DEBRIEF_WEBHOOK_ALLOW_PRIVATE_TARGETS=true"
        )
    return None


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """Connects only to public addresses (unless allowed), checking the very address used."""

    def __init__(self, *, allow_private: bool) -> None:
        self.allow_private = allow_private
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            addresses = await resolve(host, port)
        except OSError as exc:
            raise httpcore.ConnectError(f"cannot resolve {host}") from exc
        allowed = [a for a in addresses if self.allow_private or is_public(a)]
        if not allowed:
            raise httpcore.ConnectError(f"{host} resolves only to private or reserved addresses")
        failure: Exception | None = None
        for address in allowed:
            try:
                return await self._inner.connect_tcp(
                    address,
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except httpcore.ConnectError as exc:
                failure = exc
        assert failure is not None
        raise failure

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("unix sockets are not webhook targets")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport over the guarded backend; no proxies from the environment."""

    def __init__(self, *, allow_private: bool) -> None:
        super().__init__(trust_env=False)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl.create_default_context(),
            max_connections=50,
            max_keepalive_connections=10,
            keepalive_expiry=30,
            network_backend=GuardedBackend(allow_private=allow_private),
        )
