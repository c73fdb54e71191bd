from __future__ import annotations

import uuid
from datetime import datetime

from app.schemas.base import InputModel, OutputModel
from app.schemas.fields import Email, Name


class StaffCreate(InputModel):
    full_name: Name
    email: Email
    active: bool = True


class StaffPatch(InputModel):
    full_name: Name | None = None
    email: Email | None = None
    active: bool | None = None


class StaffOut(OutputModel):
    id: uuid.UUID
    full_name: str
    email: str
    active: bool
    created_at: datetime
    updated_at: datetime
    version: int
