"""SQL for staff."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select, text
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


# pg_advisory_xact_lock key: one change to who manages whom at a time, so two changes
# cannot each pass the loop check and together make a loop (SQLite has one writer anyway).
HIERARCHY_LOCK = 0x44_4D_47_52  # "DMGR"


async def lock_hierarchy(session: AsyncSession) -> None:
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": HIERARCHY_LOCK})


async def managers_above(
    session: AsyncSession, staff_id: uuid.UUID, *, limit: int = 100
) -> list[tuple[uuid.UUID, uuid.UUID | None, bool]]:
    """`staff_id` and the managers above them, nearest first, as (id, manager_id, active);
    empty if there is no such staff member. Stops at a repeat (there should be none)."""
    chain: list[tuple[uuid.UUID, uuid.UUID | None, bool]] = []
    seen: set[uuid.UUID] = set()
    current: uuid.UUID | None = staff_id
    while current is not None and current not in seen and len(chain) < limit:
        seen.add(current)
        row = (
            await session.execute(
                select(Staff.id, Staff.manager_id, Staff.active).where(Staff.id == current)
            )
        ).first()
        if row is None:
            break
        chain.append((row.id, row.manager_id, row.active))
        current = row.manager_id
    return chain


async def reports_of(session: AsyncSession, manager_id: uuid.UUID) -> list[Staff]:
    """The staff members this one manages, locked for change."""
    stmt = select(Staff).where(Staff.manager_id == manager_id).order_by(Staff.id).with_for_update()
    return list((await session.execute(stmt)).scalars())
