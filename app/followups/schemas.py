from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, StringConstraints, model_validator

from app.api.responses import Limit, TimeCursor
from app.followups import rules
from app.followups.policy import FollowUpPolicy
from app.followups.rules import Kind
from app.schemas.base import InputModel, OutputModel, as_json

Status = Literal["pending", "overdue", "done", "waived", "cancelled"]


class FollowUpOut(OutputModel):
    id: uuid.UUID
    interview_id: uuid.UUID
    candidate_id: uuid.UUID
    kind: Kind
    sequence: int = Field(
        description="Which one of its kind for the interview: 1, then 2, 3 … for the employer"
        " chases after a missed decision date."
    )
    status: Status
    due_at: datetime
    ideal_by: datetime | None = Field(
        description="When the follow-up is ideally done, before its deadline: the thank-you note's "
        "few hours (policy `thank_you_note_ideal_hours`); null for the other follow-ups."
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
    next_reminder_at: datetime | None = Field(
        description="While overdue: when the next reminder goes; null when none is left."
    )
    escalated_at: datetime | None
    escalated_to: uuid.UUID | None = Field(
        description="The staff member it was escalated to: the owner's manager, else the "
        "policy's `escalation_contact_id`; null before an escalation or when there was nobody."
    )
    waived_reason: str | None = Field(
        description="Why it was waived: by the service (`completed_by: system`), a "
        "machine-readable change such as `candidate_withdrawn` or `interview_cancelled`; "
        "by hand, the reason given."
    )
    created_at: datetime
    updated_at: datetime
    version: int

    @model_validator(mode="before")
    @classmethod
    def _from_follow_up(cls, source: Any) -> Any:
        if isinstance(source, Mapping) and "next_reminder_at" in source:
            return source
        return follow_up_view(source)


# Fields computed from the follow-up's columns rather than stored.
DERIVED_FIELDS = frozenset({"next_reminder_at"})
# The payload an event carries is the API's view of the follow-up, field for field.
FOLLOW_UP_FIELDS = tuple(FollowUpOut.model_fields)
COLUMN_FIELDS = tuple(name for name in FOLLOW_UP_FIELDS if name not in DERIVED_FIELDS)
TIME_FIELDS = frozenset(
    name
    for name, f in FollowUpOut.model_fields.items()
    if f.annotation in (datetime, datetime | None)
)


def follow_up_view(follow_up: Any) -> dict[str, Any]:
    """A follow-up (an ORM object or a row) as the API shows it: its columns and what follows from
    them. The one view behind responses and event payloads."""
    read = follow_up.__getitem__ if isinstance(follow_up, Mapping) else follow_up.__getattribute__
    view = {name: read(name) for name in COLUMN_FIELDS}
    view["next_reminder_at"] = rules.next_reminder_at(
        status=view["status"],
        reminders_sent=view["reminders_sent"],
        max_reminders=read("max_reminders"),
        next_notice_at=read("next_notice_at"),
    )
    return view


def follow_up_payload(follow_up: Any) -> dict[str, Any]:
    """A follow-up (an ORM object or a row) as events carry it: the API's view of it."""
    return {"follow_up": as_json(follow_up_view(follow_up), FOLLOW_UP_FIELDS)}


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
    next_reminder_at: datetime | None = Field(
        description="When the next reminder goes; null when none is left."
    )


class OverdueQuery(BaseModel):
    """The queue's filters and page size: what the route reads from the query string, and
    what the hot read (`app.hot_reads`) validates with, so both accept the same."""

    owner_id: uuid.UUID | None = None
    client_id: uuid.UUID | None = None
    limit: Limit = 50
    cursor: TimeCursor = None
