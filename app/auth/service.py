"""API keys: issue (shown once), list, revoke; and the first admin key of a new install."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.auth import repository
from app.auth.keys import generate_key
from app.db.engine import Database
from app.db.queries import get_for_update
from app.errors import Conflict, ValidationFailed
from app.models import ApiKey
from app.schemas.fields import Role


async def issue_key(
    *, session: AsyncSession, name: str, role: Role, staff_id: uuid.UUID | None, now: datetime
) -> tuple[ApiKey, str]:
    """Create a key; returns it with its secret, which is never stored or shown again."""
    if role == "recruiter" and staff_id is None:
        raise ValidationFailed.field("staff_id", "a recruiter key must belong to a staff member")
    if staff_id is not None and not await repository.active_staff_member_exists(session, staff_id):
        raise ValidationFailed.field("staff_id", "no active staff member has this id")
    secret, prefix, key_hash = generate_key()
    key = ApiKey(
        name=name,
        role=role,
        staff_id=staff_id,
        prefix=prefix,
        key_hash=key_hash,
        created_at=now,
        revoked_at=None,
    )
    session.add(key)
    await session.flush()
    return key, secret


async def revoke_key(*, session: AsyncSession, key_id: uuid.UUID, now: datetime) -> ApiKey:
    """Revoke a key; the last live admin key cannot be revoked (that would lock everyone out)."""
    key = await get_for_update(session, ApiKey, key_id, "API key")
    if key.revoked_at is not None:
        return key
    if (
        key.role == "admin"
        and await repository.count_live_admin_keys(session, excluding=key.id) == 0
    ):
        raise Conflict("This is the last live admin key; create another admin key first.")
    key.revoked_at = now
    await session.flush()
    return key


async def bootstrap_admin_key(*, session: AsyncSession, now: datetime) -> str | None:
    """On a brand-new install (no keys at all), issue the first admin key and return it."""
    if await repository.count_keys(session) > 0:
        return None
    _, secret = await issue_key(
        session=session, name="first admin", role="admin", staff_id=None, now=now
    )
    return secret


async def find_live_key(db: Database, key_hash: str) -> Mapping[str, Any] | None:
    """The unrevoked key with this hash whose staff member (if any) is still active."""
    return await repository.find_live_key(db, key_hash)
