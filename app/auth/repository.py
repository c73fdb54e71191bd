"""SQL for API keys."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.engine import Database
from app.db.queries import AnySelect, Prepared, read_one
from app.models import ApiKey, Staff

_KEY_COLUMNS = (
    ApiKey.id,
    ApiKey.name,
    ApiKey.role,
    ApiKey.staff_id,
    ApiKey.prefix,
    ApiKey.created_at,
    ApiKey.revoked_at,
)


def _live_keys(*columns: Any) -> AnySelect:
    """Keys that work: not revoked, and their staff member (if any) still active."""
    return (
        select(*columns)
        .outerjoin(Staff, Staff.id == ApiKey.staff_id)
        .where(ApiKey.revoked_at.is_(None), ApiKey.staff_id.is_(None) | Staff.active.is_(True))
    )


# Every request whose key is not in the cache asks this, all at once when a busy key's
# entry expires: a hot read.
_LIVE_KEY = Prepared(
    _live_keys(ApiKey.id, ApiKey.name, ApiKey.role, ApiKey.staff_id).where(
        ApiKey.key_hash == bindparam("key_hash")
    )
)


async def find_live_key(db: Database, key_hash: str) -> Mapping[str, Any] | None:
    """The live key with this hash."""
    return await _LIVE_KEY.one(db, key_hash=key_hash)


def select_keys() -> AnySelect:
    return select(*_KEY_COLUMNS)


async def count_live_admin_keys(
    session: AsyncSession, *, excluding: uuid.UUID | None = None
) -> int:
    stmt = select(func.count()).where(ApiKey.role == "admin", ApiKey.revoked_at.is_(None))
    if excluding is not None:
        stmt = stmt.where(ApiKey.id != excluding)
    return int((await session.execute(stmt)).scalar_one())


async def count_keys(session: AsyncSession) -> int:
    return int((await session.execute(select(func.count()).select_from(ApiKey))).scalar_one())


async def find_live_key_by_id(db: Database, key_id: uuid.UUID) -> RowMapping | None:
    """A live key by id, with its staff member's name (for a signed-in browser)."""
    stmt = _live_keys(ApiKey.id, ApiKey.name, ApiKey.role, ApiKey.staff_id, Staff.full_name)
    return await read_one(db, stmt.where(ApiKey.id == key_id))


async def active_staff_member_exists(session: AsyncSession, staff_id: uuid.UUID) -> bool:
    """Whether a key may belong to this staff member: they exist and are active."""
    stmt = select(Staff.id).where(Staff.id == staff_id, Staff.active.is_(True))
    return (await session.execute(stmt)).first() is not None
