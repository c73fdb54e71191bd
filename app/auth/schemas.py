from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import Field

from app.schemas.base import InputModel, OutputModel
from app.schemas.fields import Role


class ApiKeyCreate(InputModel):
    name: str = Field(min_length=1, max_length=100)
    role: Role
    staff_id: uuid.UUID | None = Field(
        default=None, description="Required for recruiter keys: the staff member it acts for."
    )


class ApiKeyOut(OutputModel):
    id: uuid.UUID
    name: str
    role: Role
    staff_id: uuid.UUID | None
    prefix: str = Field(description="The first characters of the key, to recognise it.")
    created_at: datetime
    revoked_at: datetime | None


class ApiKeyCreated(ApiKeyOut):
    key: str = Field(description="The secret. Shown this once; only its hash is stored.")
