"""SQL for staff."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.queries import AnySelect
from app.models import Staff


def select_staff(*, active: bool | None = None, email: str | None = None) -> AnySelect:
    stmt = select(Staff.__table__)
    if active is not None:
        stmt = stmt.where(Staff.active.is_(active))
    if email is not None:
        stmt = stmt.where(func.lower(Staff.email) == email.lower())
    return stmt


async def email_taken(
    session: AsyncSession, email: str, *, excluding: uuid.UUID | None = None
) -> bool:
    stmt = select(Staff.id).where(func.lower(Staff.email) == email.lower())
    if excluding is not None:
        stmt = stmt.where(Staff.id != excluding)
    return (await session.execute(stmt.limit(1))).first() is not None


async def staff_exists(
    session: AsyncSession, staff_id: uuid.UUID, *, active_only: bool = False
) -> bool:
    stmt = select(Staff.id).where(Staff.id == staff_id)
    if active_only:
        stmt = stmt.where(Staff.active.is_(True))
    return (await session.execute(stmt)).first() is not None


async def existing_staff_ids(session: AsyncSession, ids: set[uuid.UUID]) -> set[uuid.UUID]:
    if not ids:
        return set()
    result = await session.execute(select(Staff.id).where(Staff.id.in_(ids)))
    return set(result.scalars())
