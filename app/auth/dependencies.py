"""Authentication (Bearer API keys) and role checks for routes."""

from __future__ import annotations

import time
import uuid
from collections.abc import Awaitable, Callable, Iterable
from typing import Annotated

from fastapi import Depends, Request

from app.api.bearer import secret_of
from app.api.ratelimit import RateLimiter, connection_bucket
from app.auth import repository
from app.auth.keys import hash_key
from app.auth.principal import Principal
from app.db.engine import Database
from app.db.unit_of_work import unit_of_work
from app.errors import BadRequest, Forbidden, TooManyRequests, Unauthorized
from app.schemas.fields import Role

# Query parameters that would put a credential into logs, browser history and proxies.
_CREDENTIAL_PARAMS = frozenset({"api_key", "apikey", "key", "token", "access_token", "auth"})


class KeyCache:
    """Verified keys remembered for a few seconds, so a read costs one query, not two.

    Revoking a key drops it here (`revoke`): in the process that revoked it once the
    transaction commits, and on PostgreSQL in every other process when the revocation's
    notification arrives (`app.auth.revocations`). A lookup that read the database before a
    revocation must not put the key back afterwards: it takes `generation` before its query,
    and `put` refuses the entry if any revocation arrived since. A cache that depends on
    those notifications (`needs_listener`) is not used while nothing is listening, as it
    could miss a revocation; it starts empty whenever listening starts again.
    """

    def __init__(self, ttl_seconds: float, *, needs_listener: bool = False) -> None:
        self.ttl = ttl_seconds
        self.generation = 0
        self.listening = not needs_listener
        self._entries: dict[str, tuple[float, Principal]] = {}
        self._hash_of: dict[uuid.UUID, str] = {}
        # Awaited between a lookup's database read and its `put` (tests hold a lookup there).
        self.after_lookup: Callable[[], Awaitable[None]] | None = None

    def get(self, key_hash: str) -> Principal | None:
        if not self.listening:
            return None
        entry = self._entries.get(key_hash)
        if entry is None:
            return None
        expires, principal = entry
        if expires < time.monotonic():
            del self._entries[key_hash]
            self._hash_of.pop(principal.key_id, None)
            return None
        return principal

    def put(self, key_hash: str, principal: Principal, *, since: int) -> None:
        """Remember a key read from the database when `generation` was `since`."""
        if self.ttl <= 0 or not self.listening or since != self.generation:
            return
        if len(self._entries) >= 10_000:
            self._entries.clear()
            self._hash_of.clear()
        self._entries[key_hash] = (time.monotonic() + self.ttl, principal)
        self._hash_of[principal.key_id] = key_hash

    def revoke(self, key_ids: Iterable[uuid.UUID]) -> None:
        """Drop these keys (revoked, or their staff member deactivated)."""
        self.generation += 1
        for key_id in key_ids:
            key_hash = self._hash_of.pop(key_id, None)
            if key_hash is not None:
                self._entries.pop(key_hash, None)

    def forget(self) -> None:
        """Drop everything."""
        self.generation += 1
        self._entries.clear()
        self._hash_of.clear()

    def stop_listening(self) -> None:
        """Notifications may be missed from now on: trust nothing until `listen_again`."""
        self.listening = False
        self.forget()

    def listen_again(self) -> None:
        self.forget()
        self.listening = True


def bearer_secret(request: Request) -> str:
    if _CREDENTIAL_PARAMS.intersection(request.query_params.keys()):
        raise BadRequest(
            "API keys are accepted only in the Authorization header, never in the URL."
        )
    secret = secret_of(request.headers.get("authorization"))
    if secret is None:
        raise Unauthorized("Send your API key as 'Authorization: Bearer <key>'.")
    return secret


def _limit(limiter: RateLimiter | None, key: str, detail: str) -> None:
    wait = limiter.take(key) if limiter is not None else None
    if wait is not None:
        raise TooManyRequests(detail, headers={"Retry-After": str(wait)})


async def authenticate(request: Request) -> Principal:
    verified: Principal | None = request.scope.get("state", {}).get("principal")
    if verified is not None:  # already, for this request (before its Idempotency-Key)
        return _bind(request, verified)
    secret = bearer_secret(request)
    key_hash = hash_key(secret)
    cache: KeyCache = request.app.state.key_cache
    principal = cache.get(key_hash)
    if principal is None:
        since = cache.generation
        db: Database = request.app.state.db
        row = await repository.find_live_key(db, key_hash)
        if row is None:
            _limit(
                request.app.state.failure_limiter,
                connection_bucket(request),
                "Too many failed sign-ins from here; wait.",
            )
            raise Unauthorized("This API key is not valid or has been revoked.")
        principal = Principal(
            key_id=row["id"], role=row["role"], staff_id=row["staff_id"], name=row["name"]
        )
        if cache.after_lookup is not None:
            await cache.after_lookup()
        cache.put(key_hash, principal, since=since)
    _limit(
        request.app.state.key_limiter,
        str(principal.key_id),
        "This key has sent too many requests; slow down.",
    )
    return _bind(request, principal)


def _bind(request: Request, principal: Principal) -> Principal:
    state = request.scope.setdefault("state", {})
    state["principal"] = principal
    session = state.get("db_session")
    if session is not None:  # the audit log names who made the change
        unit_of_work(session).actor = principal.actor
    return principal


def require_roles(*roles: Role):  # type: ignore[no-untyped-def]
    allowed = frozenset(roles)

    async def check(principal: Annotated[Principal, Depends(authenticate)]) -> Principal:
        if principal.role not in allowed:
            raise Forbidden(
                f"A {principal.role} key may not do this; it needs one of: "
                f"{', '.join(sorted(allowed))}."
            )
        return principal

    return check


AnyKey = Annotated[Principal, Depends(authenticate)]
AdminKey = Annotated[Principal, Depends(require_roles("admin"))]
StaffKey = Annotated[Principal, Depends(require_roles("admin", "recruiter"))]
# The feed's check, called by its route and by its hot read (app/hot_reads.py).
admin_or_integration = require_roles("admin", "integration")
AdminOrIntegration = Annotated[Principal, Depends(admin_or_integration)]
