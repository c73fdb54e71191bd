from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from app.schemas.base import InputModel, OutputModel
from app.schemas.fields import Email, Name, TimeZoneName

_MANAGER = (
    "The staff member their escalations go to: active, not themselves, and not someone who "
    "reports to them."
)
_TIMEZONE = "IANA name, e.g. Europe/London; null means the follow-up policy's time zone."

NotifyVia = Literal["email", "chat", "both", "none"]
ChatUrl = Annotated[
    str,
    StringConstraints(min_length=8, max_length=2000, strip_whitespace=True),
    Field(
        description="An incoming-webhook URL (Slack, Microsoft Teams workflow, Mattermost, "
        "Google Chat), for this person or their team; checked as webhook URLs are."
    ),
]
NOTIFY_VIA = Field(
    description="How they hear from Debrief (digest, alerts, escalations): `email`, `chat`, "
    "`both` or `none`; `chat` and `both` need a `chat_url`."
)


class StaffCreate(InputModel):
    full_name: Name
    email: Email
    active: bool = True
    manager_id: uuid.UUID | None = Field(default=None, description=_MANAGER)
    timezone: TimeZoneName | None = Field(default=None, description=_TIMEZONE)
    notify_via: NotifyVia = Field(default="email", description=NOTIFY_VIA.description)
    chat_url: ChatUrl | None = None


class StaffPatch(InputModel):
    full_name: Name | None = None
    email: Email | None = None
    active: bool | None = Field(
        default=None, description="`false` stops their keys and clears their reports' manager."
    )
    manager_id: uuid.UUID | None = Field(default=None, description=_MANAGER)
    timezone: TimeZoneName | None = Field(default=None, description=_TIMEZONE)
    notify_via: NotifyVia | None = Field(default=None, description=NOTIFY_VIA.description)
    chat_url: ChatUrl | None = None


class StaffOut(OutputModel):
    id: uuid.UUID
    full_name: str
    email: str
    active: bool
    manager_id: uuid.UUID | None
    timezone: str | None
    notify_via: NotifyVia
    created_at: datetime
    updated_at: datetime
    version: int
    chat_host: str | None = Field(
        description="The chat target's host; the URL itself is a credential.",
        json_schema_extra={"readOnly": True},
    )
