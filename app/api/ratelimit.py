"""Token buckets kept in this process: a burst, then a steady rate. With several replicas
each keeps its own, so the limits are per replica (documented in docs/operations.md).

A table holds at most `max_entries` callers, least recently seen first: a new caller at the
bound pushes out the one seen longest ago, in constant time, so a flood of new addresses
costs no more per request than a single caller does.
"""

from __future__ import annotations

import ipaddress
import math
import time
from collections import OrderedDict
from dataclasses import dataclass

from starlette.requests import HTTPConnection

MAX_ENTRIES = 100_000
# An IPv6 customer is usually given a /64 (or more) and can pick any address inside it.
_IPV6_PREFIX = 64


def client_bucket(address: str | None) -> str:
    """The key a per-address limit counts a client address under: the address itself for
    IPv4, its /64 network for IPv6 (an IPv4-mapped IPv6 address counts as the IPv4 one).

    The address is the peer's, or the one a trusted proxy forwarded
    (DEBRIEF_TRUSTED_PROXIES); anything that is not an IP address counts as itself."""
    if not address:
        return "unknown"
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address[:100]
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, _IPV6_PREFIX), strict=False))
    return str(ip)


def connection_bucket(conn: HTTPConnection) -> str:
    """`client_bucket` of a request's client address (already rewritten by the proxy
    middleware when the peer is a trusted proxy)."""
    return client_bucket(conn.client.host if conn.client else None)


@dataclass(slots=True)
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    def __init__(self, *, per_minute: float, burst: int, max_entries: int = MAX_ENTRIES) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self.rate = per_minute / 60.0
        self.burst = burst
        self.max_entries = max_entries
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    def __len__(self) -> int:
        return len(self._buckets)

    def __contains__(self, key: str) -> bool:
        return key in self._buckets

    def take(self, key: str, *, now: float | None = None) -> int | None:
        """None if allowed; else the whole seconds to wait (for Retry-After)."""
        now = time.monotonic() if now is None else now
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= self.max_entries:
                self._buckets.popitem(last=False)  # the caller seen longest ago
            bucket = self._buckets[key] = _Bucket(float(self.burst), now)
        else:
            self._buckets.move_to_end(key)
        bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.updated) * self.rate)
        bucket.updated = now
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return None
        return max(1, math.ceil((1 - bucket.tokens) / self.rate))
