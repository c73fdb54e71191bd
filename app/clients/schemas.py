from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import Field

from app.schemas.base import InputModel, OutputModel
from app.schemas.fields import ExternalId, Name


class ClientCreate(InputModel):
    external_id: ExternalId | None = Field(default=None, description="The CRM's id; unique.")
    name: Name


class ClientUpsert(ClientCreate):
    """A client in a bulk upsert, matched by `external_id`."""

    external_id: ExternalId


class ClientPatch(InputModel):
    external_id: ExternalId | None = None
    name: Name | None = None


class ClientOut(OutputModel):
    id: uuid.UUID
    external_id: str | None
    name: str
    created_at: datetime
    updated_at: datetime
    version: int
