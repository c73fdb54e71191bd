from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, StringConstraints

from app.events.service import EVENT_TYPES
from app.schemas.base import InputModel, OutputModel

Url = Annotated[str, StringConstraints(min_length=8, max_length=2000, strip_whitespace=True)]
Description = Annotated[str, StringConstraints(max_length=500, strip_whitespace=True)]


def _known_types(types: list[str]) -> list[str]:
    unknown = sorted(set(types) - set(EVENT_TYPES))
    if unknown:
        raise ValueError(f"unknown event types: {', '.join(unknown)}")
    return sorted(set(types))


EventTypes = Annotated[list[str], Field(max_length=len(EVENT_TYPES)), AfterValidator(_known_types)]


class WebhookCreate(InputModel):
    url: Url = Field(description="Where to POST events. Private and loopback hosts are refused.")
    event_types: EventTypes = Field(default_factory=list, description="Empty: every type.")
    description: Description | None = None
    enabled: bool = True


class WebhookPatch(InputModel):
    url: Url | None = None
    event_types: EventTypes | None = None
    description: Description | None = None
    enabled: bool | None = None


class WebhookOut(OutputModel):
    id: uuid.UUID
    url: str
    event_types: list[str]
    description: str | None
    enabled: bool
    disabled_reason: str | None = Field(
        description="Why it was switched off, e.g. it answered 410."
    )
    created_at: datetime
    updated_at: datetime
    version: int


class WebhookWithSecret(WebhookOut):
    secret: str = Field(description="`whsec_…`: verify signatures with it. Shown this once.")


class AttemptOut(OutputModel):
    attempted_at: datetime
    status_code: int | None
    error: str | None
    duration_ms: int
    response_excerpt: str | None


class DeliveryOut(OutputModel):
    id: uuid.UUID
    endpoint_id: uuid.UUID
    event_id: uuid.UUID = Field(description="Sent as `webhook-id`, the same on every retry.")
    event_type: str
    status: Literal["pending", "delivered", "failed"]
    attempts: int
    next_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    delivered_at: datetime | None
    created_at: datetime
    attempt_log: list[AttemptOut] = Field(default_factory=list)


class PingResult(OutputModel):
    ok: bool
    status_code: int | None
    error: str | None
    duration_ms: int
