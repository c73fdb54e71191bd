from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import Field

from app.schemas.base import InputModel, OutputModel
from app.schemas.fields import Email, ExternalId, Name, TimeZoneName

AUTO_CHASE = (
    "Email the contact their decision link when an employer chase falls due (in working "
    "hours, at most the policy's number of chases, never two in a working day). Off by default."
)
TIMEZONE = (
    "The contact's IANA time zone, e.g. `America/New_York`: chase emails go in the policy's"
    " business hours in this zone. Null: the policy's `timezone`."
)


class ClientCreate(InputModel):
    external_id: ExternalId | None = Field(default=None, description="The CRM's id; unique.")
    name: Name
    contact_name: Name | None = Field(
        default=None,
        description="Whom to ask for decisions, unless an interview names a `point_of_contact`.",
    )
    contact_email: Email | None = None
    auto_chase: bool = Field(default=False, description=AUTO_CHASE)
    timezone: TimeZoneName | None = Field(default=None, description=TIMEZONE)


class ClientUpsert(ClientCreate):
    """A client in a bulk upsert, matched by `external_id`."""

    external_id: ExternalId


class ClientPatch(InputModel):
    external_id: ExternalId | None = None
    name: Name | None = None
    contact_name: Name | None = None
    contact_email: Email | None = None
    auto_chase: bool | None = Field(default=None, description=AUTO_CHASE)
    timezone: TimeZoneName | None = Field(default=None, description=TIMEZONE)


class ClientOut(OutputModel):
    id: uuid.UUID
    external_id: str | None
    name: str
    contact_name: str | None
    contact_email: str | None
    auto_chase: bool
    timezone: str | None
    created_at: datetime
    updated_at: datetime
    version: int
