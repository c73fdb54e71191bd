"""Staff members: the recruiters and admins of the agency, and who manages whom."""

from __future__ import annotations

import contextlib
import uuid
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.db.patch import apply_changes, patch_values
from app.db.queries import get_for_update
from app.db.sealed import Sealer, Unsealable
from app.db.versions import require_if_match
from app.errors import Conflict, ValidationFailed
from app.models import Staff
from app.staff import repository
from app.staff.schemas import StaffCreate, StaffPatch
from app.webhooks import ssrf


async def _check_manager(
    session: AsyncSession, manager_id: uuid.UUID, *, staff_id: uuid.UUID | None
) -> None:
    """A manager is an active staff member other than themselves, and not one of their
    reports at any depth (that would make a loop). Called under the hierarchy lock."""
    if manager_id == staff_id:
        raise ValidationFailed.field("manager_id", "a staff member cannot be their own manager")
    chain = await repository.managers_above(session, manager_id)
    if not chain:
        raise ValidationFailed.field("manager_id", "no staff member has this id")
    if not chain[0][2]:
        raise ValidationFailed.field("manager_id", "this staff member is not active")
    if staff_id is not None and any(member == staff_id for member, _, _ in chain):
        raise ValidationFailed.field(
            "manager_id", "this staff member reports to them: that would make a loop"
        )


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


def _stored_chat(
    values: dict[str, Any], settings: Settings, stored: str | None = None
) -> dict[str, Any]:
    """The chat URL as stored: sealed (it carries the chat service's token), with its host
    beside it in the clear to show where messages go. The URL already `stored` is no change."""
    if "chat_url" not in values:
        return values
    url = values["chat_url"]
    if url is None:
        return {**values, "chat_host": None}
    sealer = Sealer.of(settings)
    with contextlib.suppress(Unsealable):  # one stored under another key is replaced
        if stored is not None and sealer.open(stored) == url:
            return {name: value for name, value in values.items() if name != "chat_url"}
    return {**values, "chat_url": sealer.seal(url), "chat_host": urlsplit(url).hostname}


async def create_staff(
    *, session: AsyncSession, data: StaffCreate, settings: Settings, now: datetime
) -> Staff:
    """Add a staff member; emails are unique regardless of case."""
    _chat_needs_url(data.notify_via, data.chat_url)
    if data.chat_url is not None:
        await check_chat_url(data.chat_url, settings)  # before the first statement (DNS)
    if await repository.email_taken(session, data.email):
        raise Conflict(f"A staff member with email {data.email} already exists.")
    if data.manager_id is not None:
        await repository.lock_hierarchy(session)
        await _check_manager(session, data.manager_id, staff_id=None)
    staff = Staff(**_stored_chat(data.model_dump(), settings), created_at=now, updated_at=now)
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
    """Change a staff member (If-Match required): name, email, active flag, manager, time
    zone or how they are notified. Deactivating one clears the manager of those who reported
    to them: their escalations go to the policy's fallback contact until an admin names a new
    manager."""
    if patch.chat_url is not None:
        await check_chat_url(patch.chat_url, settings)  # before the first statement (DNS)
    values: dict[str, Any] = patch_values(
        patch, not_null=("full_name", "email", "active", "notify_via")
    )
    hierarchy = values.get("manager_id") is not None or values.get("active") is False
    if hierarchy:  # before any row lock, so two such changes never wait on each other's rows
        await repository.lock_hierarchy(session)
    staff = await get_for_update(session, Staff, staff_id, "staff member")
    require_if_match(if_match, staff.version)
    _chat_needs_url(
        values.get("notify_via", staff.notify_via), values.get("chat_url", staff.chat_url)
    )
    if "email" in values and await repository.email_taken(
        session, values["email"], excluding=staff.id
    ):
        raise Conflict(f"A staff member with email {values['email']} already exists.")
    if values.get("manager_id") is not None and values["manager_id"] != staff.manager_id:
        await _check_manager(session, values["manager_id"], staff_id=staff.id)
    leaving = staff.active and values.get("active") is False
    apply_changes(staff, _stored_chat(values, settings, staff.chat_url), now=now)
    if leaving:
        for report in await repository.reports_of(session, staff.id):
            apply_changes(report, {"manager_id": None}, now=now)
    await session.flush()
    return staff


async def staff_exists(session: AsyncSession, staff_id: uuid.UUID) -> bool:
    """Whether this staff member exists (active or not)."""
    return await repository.staff_exists(session, staff_id)


async def active_staff_exists(session: AsyncSession, staff_id: uuid.UUID) -> bool:
    """Whether this staff member exists and is active."""
    return await repository.staff_exists(session, staff_id, active_only=True)


async def existing_staff_ids(session: AsyncSession, ids: set[uuid.UUID]) -> set[uuid.UUID]:
    """Those of these ids that are staff members."""
    return await repository.existing_staff_ids(session, ids)


async def managers_above(
    session: AsyncSession, staff_id: uuid.UUID
) -> list[tuple[uuid.UUID, bool]]:
    """The managers above a staff member, nearest first, as (id, active)."""
    chain = await repository.managers_above(session, staff_id)
    return [(member, active) for member, _, active in chain[1:]]
