from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import Field

from app.schemas.base import InputModel, OutputModel
from app.schemas.fields import Email, Name, TimeZoneName

_MANAGER = (
    "The staff member their escalations go to: active, not themselves, and not someone who "
    "reports to them."
)
_TIMEZONE = "IANA name, e.g. Europe/London; null means the follow-up policy's time zone."


class StaffCreate(InputModel):
    full_name: Name
    email: Email
    active: bool = True
    manager_id: uuid.UUID | None = Field(default=None, description=_MANAGER)
    timezone: TimeZoneName | None = Field(default=None, description=_TIMEZONE)


class StaffPatch(InputModel):
    full_name: Name | None = None
    email: Email | None = None
    active: bool | None = Field(
        default=None, description="`false` stops their keys and clears their reports' manager."
    )
    manager_id: uuid.UUID | None = Field(default=None, description=_MANAGER)
    timezone: TimeZoneName | None = Field(default=None, description=_TIMEZONE)


class StaffOut(OutputModel):
    id: uuid.UUID
    full_name: str
    email: str
    active: bool
    manager_id: uuid.UUID | None
    timezone: str | None
    created_at: datetime
    updated_at: datetime
    version: int
