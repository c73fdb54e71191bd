"""Staff members: the recruiters and admins of the agency."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.api.patch import apply_changes, patch_values
from app.api.responses import require_if_match
from app.config import Settings
from app.db.queries import get_for_update
from app.errors import Conflict, ValidationFailed
from app.models import Staff
from app.staff import repository
from app.staff.schemas import StaffCreate, StaffPatch
from app.webhooks import ssrf


async def check_chat_url(url: str, settings: Settings) -> None:
    """A chat target is checked as a webhook URL is: no private or loopback address unless
    the admin allows them (422 on `chat_url`); delivery checks the address again."""
    if settings.environment == "production" and not url.startswith("https://"):
        raise ValidationFailed.field("chat_url", "must be https in production")
    reason = await ssrf.refusal(url, allow_private=settings.webhook_allow_private_targets)
    if reason is not None:
        raise ValidationFailed.field("chat_url", reason)


def _chat_needs_url(notify_via: str, chat_url: str | None) -> None:
    if notify_via in ("chat", "both") and not chat_url:
        raise ValidationFailed.field("chat_url", f"notify_via {notify_via!r} needs a chat_url")


async def create_staff(
    *, session: AsyncSession, data: StaffCreate, settings: Settings, now: datetime
) -> Staff:
    """Add a staff member; emails are unique regardless of case."""
    _chat_needs_url(data.notify_via, data.chat_url)
    if data.chat_url is not None:
        await check_chat_url(data.chat_url, settings)  # before the first statement (DNS)
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
    settings: Settings,
    now: datetime,
) -> Staff:
    """Change a staff member's name, email, active flag or how they are notified (If-Match
    required)."""
    if patch.chat_url is not None:
        await check_chat_url(patch.chat_url, settings)  # before the first statement (DNS)
    staff = await get_for_update(session, Staff, staff_id, "staff member")
    require_if_match(if_match, staff.version)
    values = patch_values(patch, not_null=("full_name", "email", "active", "notify_via"))
    _chat_needs_url(
        values.get("notify_via", staff.notify_via), values.get("chat_url", staff.chat_url)
    )
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
