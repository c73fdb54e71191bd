"""Idempotency-Key on POST: the first answer is stored with the change and replayed for 24 h.

The record is written in the same transaction as the change it answers, so a stored reply
always means a stored change. A second request with the same key while the first is still
running is refused with 409 (an in-process set, and on PostgreSQL a transaction-level
advisory lock that every replica sees); the same key with a different request is 422.
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime, timedelta

from sqlalchemy import RowMapping, delete, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import Database
from app.models import IdempotencyRecord
from app.repository import read_one

HEADER = "idempotency-key"
KEEP_FOR = timedelta(hours=24)
MAX_KEY_LENGTH = 255
# Printable ASCII, no leading or trailing space (HTTP strips those anyway), 1 to 255 long.
KEY_PATTERN = r"^[!-~]([ -~]{0,253}[!-~])?$"
_KEY = re.compile(KEY_PATTERN)


def valid_key(key: str) -> bool:
    return _KEY.fullmatch(key) is not None


REPLAYED_HEADERS = ("content-type", "location", "etag")


def scope_of(authorization: str | None) -> str | None:
    """Keys belong to the API key that sent them: the scope is that key's hash."""
    if not authorization:
        return None
    _, _, secret = authorization.partition(" ")
    return hashlib.sha256(secret.strip().encode()).hexdigest() if secret.strip() else None


def fingerprint(method: str, path: str, query: bytes, body: bytes) -> str:
    digest = hashlib.sha256()
    for part in (method.encode(), path.encode(), query, body):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


async def lock(session: AsyncSession, scope: str, key: str) -> bool:
    """PostgreSQL: hold the key for this transaction; False if another replica holds it."""
    if session.get_bind().dialect.name != "postgresql":
        return True
    result = await session.execute(
        text("SELECT pg_try_advisory_xact_lock(hashtextextended(:name, 0))"),
        {"name": f"idempotency:{scope}:{key}"},
    )
    return bool(result.scalar())


async def find(db: Database, scope: str, key: str, *, now: datetime) -> RowMapping | None:
    """The stored answer, read through the autocommit read engine: the lookup takes no
    lock, so a handler that runs its own transactions (sweeps) cannot wait on it."""
    return await read_one(
        db,
        select(IdempotencyRecord.__table__).where(
            IdempotencyRecord.scope == scope,
            IdempotencyRecord.key == key,
            IdempotencyRecord.created_at > now - KEEP_FOR,
        ),
    )


async def forget_expired(
    session: AsyncSession, *, now: datetime, scope: str | None = None, key: str | None = None
) -> int:
    """Delete records past 24 h (all of them, or the one for this key)."""
    stmt = delete(IdempotencyRecord).where(IdempotencyRecord.created_at <= now - KEEP_FOR)
    if scope is not None and key is not None:
        stmt = stmt.where(IdempotencyRecord.scope == scope, IdempotencyRecord.key == key)
    result = await session.execute(stmt)
    return int(result.rowcount)  # type: ignore[attr-defined]


async def remember(
    session: AsyncSession,
    *,
    scope: str,
    key: str,
    request_hash: str,
    status: int,
    headers: dict[str, str],
    body: str,
    now: datetime,
) -> None:
    """Store the answer in the change's own transaction (after removing an expired record
    of the same key, which would otherwise block the insert)."""
    await forget_expired(session, now=now, scope=scope, key=key)
    session.add(
        IdempotencyRecord(
            scope=scope,
            key=key,
            request_hash=request_hash,
            status_code=status,
            headers=headers,
            body=body,
            created_at=now,
        )
    )
