"""Staff members: the recruiters and admins of the agency."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.db.patch import apply_changes, patch_values
from app.db.queries import get_for_update
from app.db.versions import require_if_match
from app.errors import Conflict
from app.models import Staff
from app.staff import repository
from app.staff.schemas import StaffCreate, StaffPatch


async def create_staff(*, session: AsyncSession, data: StaffCreate, now: datetime) -> Staff:
    """Add a staff member; emails are unique regardless of case."""
    if await repository.email_taken(session, data.email):
        raise Conflict(f"A staff member with email {data.email} already exists.")
    staff = Staff(**data.model_dump(), created_at=now, updated_at=now)
    session.add(staff)
    await session.flush()
    return staff


async def update_staff(
    *,
    session: AsyncSession,
    staff_id: uuid.UUID,
    patch: StaffPatch,
    if_match: str | None,
    now: datetime,
) -> Staff:
    """Change a staff member's name, email or active flag (If-Match required)."""
    staff = await get_for_update(session, Staff, staff_id, "staff member")
    require_if_match(if_match, staff.version)
    values = patch_values(patch, not_null=("full_name", "email", "active"))
    if "email" in values and await repository.email_taken(
        session, values["email"], excluding=staff.id
    ):
        raise Conflict(f"A staff member with email {values['email']} already exists.")
    apply_changes(staff, values, now=now)
    await session.flush()
    return staff


async def staff_exists(session: AsyncSession, staff_id: uuid.UUID) -> bool:
    """Whether this staff member exists (active or not)."""
    return await repository.staff_exists(session, staff_id)


async def existing_staff_ids(session: AsyncSession, ids: set[uuid.UUID]) -> set[uuid.UUID]:
    """Those of these ids that are staff members."""
    return await repository.existing_staff_ids(session, ids)
