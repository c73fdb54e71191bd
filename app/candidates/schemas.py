from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pydantic import Field, model_validator

from app.schemas.base import InputModel, OutputModel, as_json
from app.schemas.fields import CandidateStatus, Email, ExternalId, Name, Phone, TimeZoneName, WebUrl


class CandidateCreate(InputModel):
    external_id: ExternalId | None = Field(default=None, description="The CRM's id; unique.")
    full_name: Name
    email: Email | None = None
    phone: Phone | None = Field(default=None, description="Stored in E.164, e.g. +447700900123.")
    linkedin_url: WebUrl | None = None
    owner_id: uuid.UUID | None = Field(default=None, description="The staff member who owns them.")
    timezone: TimeZoneName | None = Field(
        default=None, description="IANA name, e.g. Europe/London."
    )
    status: CandidateStatus = "active"
    job_search_active: bool = True


class CandidateUpsert(CandidateCreate):
    """A candidate in a bulk upsert: matched by `external_id`. A new one needs `full_name`;
    for an existing one only the fields sent change."""

    external_id: ExternalId


class CandidatePatch(InputModel):
    external_id: ExternalId | None = None
    full_name: Name | None = None
    email: Email | None = None
    phone: Phone | None = None
    linkedin_url: WebUrl | None = None
    owner_id: uuid.UUID | None = None
    timezone: TimeZoneName | None = None
    status: CandidateStatus | None = None
    job_search_active: bool | None = None


class CandidateOut(OutputModel):
    id: uuid.UUID
    external_id: str | None
    full_name: str
    email: str | None
    phone: str | None
    linkedin_url: str | None
    owner_id: uuid.UUID | None
    timezone: str | None
    status: CandidateStatus
    job_search_active: bool
    flags: list[str] = Field(
        default_factory=list,
        description="What is overdue for this candidate, e.g. `debrief_call_overdue`.",
    )
    created_at: datetime
    updated_at: datetime
    version: int

    @model_validator(mode="before")
    @classmethod
    def _flags(cls, source: Any) -> Any:
        """Rows carry `overdue_kinds` ("debrief_call,thank_you_note"); show them as flags."""
        if isinstance(source, Mapping) and "overdue_kinds" in source:
            return {**source, "flags": flags_from(source["overdue_kinds"])}
        return source


def flags_from(overdue_kinds: str | None) -> list[str]:
    return sorted({f"{kind}_overdue" for kind in (overdue_kinds or "").split(",") if kind})


_PAYLOAD_FIELDS = tuple(name for name in CandidateOut.model_fields if name != "flags")


def candidate_payload(candidate: Any) -> dict[str, Any]:
    """A candidate (an ORM object or a row) as events carry it, without the computed `flags`."""
    return {"candidate": as_json(candidate, _PAYLOAD_FIELDS)}
