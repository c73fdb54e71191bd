from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import Field, StringConstraints

from app.schemas.base import InputModel, OutputModel
from app.schemas.fields import (
    Day,
    Email,
    ExternalId,
    InterviewFormat,
    InterviewStatus,
    Name,
    Outcome,
    Phone,
    Stage,
    Timestamp,
)

TRACK_FOLLOW_UPS = (
    "Whether to open follow-ups for it. Left out (or null): yes, unless it ended more "
    "than the policy's `history_working_days` before it was recorded (history). `true` tracks "
    "it whatever its age; `false` never (on a change: its open follow-ups are waived)."
)
NextStep = Annotated[str, StringConstraints(min_length=1, max_length=1000, strip_whitespace=True)]
Minutes = Annotated[int, Field(ge=1, le=1440, description="1 to 1440 minutes.")]


class Person(InputModel):
    name: Name
    title: Name | None = None
    email: Email | None = None
    phone: Phone | None = None


class InterviewCreate(InputModel):
    external_id: ExternalId | None = Field(default=None, description="The CRM's id; unique.")
    candidate_id: uuid.UUID
    client_id: uuid.UUID
    job_title: Name
    stage: Stage
    format: InterviewFormat
    starts_at: Timestamp
    ends_at: Timestamp | None = Field(
        default=None, description="If omitted: starts_at + duration_minutes (default 60)."
    )
    duration_minutes: Minutes | None = None
    interviewers: list[Person] = Field(default_factory=list, max_length=20)
    point_of_contact: Person | None = Field(default=None, description="Who to follow up with.")
    decision_expected_by: Day | None = Field(
        default=None, description="The date the employer said they would decide by."
    )
    next_step: NextStep | None = None
    status: InterviewStatus = "scheduled"
    outcome: Outcome = "pending"
    next_stage: Stage | None = Field(default=None, description="With outcome next_round.")
    track_follow_ups: bool | None = Field(default=None, description=TRACK_FOLLOW_UPS)


class InterviewPatch(InputModel):
    external_id: ExternalId | None = None
    job_title: Name | None = None
    stage: Stage | None = None
    format: InterviewFormat | None = None
    starts_at: Timestamp | None = None
    ends_at: Timestamp | None = None
    duration_minutes: Minutes | None = None
    interviewers: list[Person] | None = Field(default=None, max_length=20)
    point_of_contact: Person | None = None
    decision_expected_by: Day | None = None
    next_step: NextStep | None = None
    status: InterviewStatus | None = None
    outcome: Outcome | None = None
    next_stage: Stage | None = None
    track_follow_ups: bool | None = Field(default=None, description=TRACK_FOLLOW_UPS)


class _References(InputModel):
    external_id: ExternalId
    candidate_id: uuid.UUID | None = None
    candidate_external_id: ExternalId | None = None
    client_id: uuid.UUID | None = None
    client_external_id: ExternalId | None = None


# A PATCH's fields and the references; pydantic lists the last base's fields first, so
# the references come first (the CSV import's columns and the errors keep that order).
class InterviewUpsert(InterviewPatch, _References):
    """An interview in a bulk upsert, matched by `external_id`. The candidate and client are
    given by id or by their own external ids; a new interview needs every required field,
    an existing one changes only the fields sent."""

    external_id: ExternalId


class InterviewOut(OutputModel):
    id: uuid.UUID
    external_id: str | None
    candidate_id: uuid.UUID
    client_id: uuid.UUID
    job_title: str
    stage: Stage
    format: InterviewFormat
    starts_at: datetime
    ends_at: datetime
    duration_minutes: int
    interviewers: list[dict[str, Any]]
    point_of_contact: dict[str, Any] | None
    decision_expected_by: date | None
    next_step: str | None
    status: InterviewStatus
    outcome: Outcome
    next_stage: Stage | None
    outcome_recorded_at: datetime | None
    follow_ups_tracked: bool = Field(
        description="Whether its follow-ups are tracked: false for history (recorded more "
        "than the policy's `history_working_days` after it ended) or when sent with "
        "`track_follow_ups: false`."
    )
    created_at: datetime
    updated_at: datetime
    version: int


def interview_payload(interview: Any) -> dict[str, Any]:
    """An interview as events carry it."""
    return {"interview": InterviewOut.model_validate(interview).model_dump(mode="json")}
