"""Identifiers: time-ordered UUIDs (RFC 9562 version 7), so ids sort in creation order for
paging; and the id of the request being answered."""

from __future__ import annotations

import os
import threading
import time
import uuid
from contextvars import ContextVar

# Set by the HTTP layer for each request (`RequestContextMiddleware`, echoed as X-Request-ID);
# the log lines and the audit entries written while answering it carry it.
request_id: ContextVar[str | None] = ContextVar("request_id", default=None)

_lock = threading.Lock()
_last_ms = 0
_counter = 0


def uuid7() -> uuid.UUID:
    global _last_ms, _counter
    with _lock:
        ms = time.time_ns() // 1_000_000
        if ms > _last_ms:
            _last_ms = ms
            _counter = int.from_bytes(os.urandom(2), "big") & 0x3FF  # leave room to count up
        else:
            # Same millisecond (or the clock stepped back): count up so ids stay ordered.
            _counter += 1
            if _counter > 0xFFF:
                _last_ms += 1
                _counter = 0
            ms = _last_ms
        rand_a = _counter
    rand_b = int.from_bytes(os.urandom(8), "big") & ((1 << 62) - 1)
    value = (ms & ((1 << 48) - 1)) << 80 | 0x7 << 76 | rand_a << 64 | 0b10 << 62 | rand_b
    return uuid.UUID(int=value)
