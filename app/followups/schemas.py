from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, StringConstraints

from app.api.responses import Limit, TimeCursor
from app.followups.policy import FollowUpPolicy
from app.followups.rules import Kind
from app.schemas.base import InputModel, OutputModel, as_json

Status = Literal["pending", "overdue", "done", "waived", "cancelled"]


class FollowUpOut(OutputModel):
    id: uuid.UUID
    interview_id: uuid.UUID
    candidate_id: uuid.UUID
    kind: Kind
    status: Status
    due_at: datetime
    ideal_by: datetime | None = Field(
        description="When the step is ideally done, before its deadline: the thank-you note's "
        "few hours (policy `thank_you_note_ideal_hours`); null for the other steps."
    )
    opened_at: datetime
    overdue_at: datetime | None
    completed_at: datetime | None = Field(description="When it was done or waived.")
    completed_by: str | None = Field(
        description="Who did or waived it: `key:<id>`, `candidate_link:<id>` or `system`."
    )
    late: bool = Field(
        description="Done after it was due, judged by when it was done (for the debrief call, "
        "the debrief's `called_at`; for the note, its `thank_you_sent_at`)."
    )
    reminders_sent: int
    escalated_at: datetime | None
    waived_reason: str | None
    created_at: datetime
    updated_at: datetime
    version: int


# The payload an event carries is the API's view of the step, field for field.
FOLLOW_UP_FIELDS = tuple(FollowUpOut.model_fields)
TIME_FIELDS = frozenset(
    name
    for name, f in FollowUpOut.model_fields.items()
    if f.annotation in (datetime, datetime | None)
)


def follow_up_payload(step: Any) -> dict[str, Any]:
    """A step (an ORM object or a row) as events carry it: the API's view of it."""
    return {"follow_up": as_json(step, FOLLOW_UP_FIELDS)}


class WaiveIn(InputModel):
    reason: Annotated[str, StringConstraints(min_length=1, max_length=500, strip_whitespace=True)]


class PolicyOut(FollowUpPolicy):
    version: int
    updated_at: datetime | None


class OverdueCandidate(OutputModel):
    id: uuid.UUID
    full_name: str
    phone: str | None


class OverdueClient(OutputModel):
    id: uuid.UUID
    name: str


class OverdueDebrief(OutputModel):
    follow_up_id: uuid.UUID
    candidate: OverdueCandidate
    owner_id: uuid.UUID | None
    interview_id: uuid.UUID
    client: OverdueClient
    job_title: str
    ends_at: datetime
    due_at: datetime
    overdue_seconds: int
    reminders_sent: int


class OverdueQuery(BaseModel):
    """The queue's filters and page size: what the route reads from the query string, and
    what the hot read (`app.api.hot_reads`) validates with, so both accept the same."""

    owner_id: uuid.UUID | None = None
    client_id: uuid.UUID | None = None
    limit: Limit = 50
    cursor: TimeCursor = None
