from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import Field

from app.candidates.schemas import CandidateOut
from app.debriefs.schemas import DebriefOut, EmployerFeedbackOut
from app.followups.schemas import FollowUpOut
from app.interviews.schemas import InterviewOut
from app.notifications.schemas import NotificationOut
from app.schemas.base import OutputModel
from app.webhooks.schemas import DeliveryOut


class LinkRecord(OutputModel):
    id: uuid.UUID
    interview_id: uuid.UUID
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None


class EmployerLinkRecord(OutputModel):
    id: uuid.UUID
    interview_id: uuid.UUID
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    deferred_at: datetime | None
    answered_at: datetime | None
    answer: str | None
    feedback_id: uuid.UUID | None


class EventRecord(OutputModel):
    id: uuid.UUID
    type: str
    occurred_at: datetime
    data: dict[str, Any]


class AuditRecord(OutputModel):
    id: uuid.UUID
    occurred_at: datetime
    actor: str
    action: str
    object_type: str
    object_id: str
    fields: list[str] = Field(description="The fields written; never their values.")
    request_id: str | None


class StoredAnswerRecord(OutputModel):
    """An answer kept for Idempotency-Key retries (24 hours) that is about this person."""

    id: uuid.UUID
    idempotency_key: str
    api_key_id: uuid.UUID = Field(description="The API key that sent the request.")
    method: str
    path: str | None = Field(description="Null for answers stored before this was recorded.")
    status: int
    stored_at: datetime
    expires_at: datetime
    body: Any = Field(
        description="The answer as stored; null if it was not kept (it carried a secret)."
    )


class CandidateExport(OutputModel):
    """Everything held on one person."""

    exported_at: datetime
    candidate: CandidateOut
    interviews: list[InterviewOut]
    debriefs: list[DebriefOut]
    employer_feedback: list[EmployerFeedbackOut]
    follow_ups: list[FollowUpOut]
    debrief_links: list[LinkRecord] = Field(description="Links sent; their tokens are not kept.")
    employer_links: list[EmployerLinkRecord] = Field(
        description="Decision links sent to the client about them; their tokens are not kept "
        "(what the client said is in `employer_feedback`)."
    )
    events: list[EventRecord]
    webhook_deliveries: list[DeliveryOut] = Field(
        description="Deliveries of those events to webhook endpoints, each with its attempts."
    )
    audit_entries: list[AuditRecord] = Field(
        description="Who created or changed the candidate, their interviews, debriefs, "
        "feedback, follow-ups and links, and when (field names only)."
    )
    idempotent_answers: list[StoredAnswerRecord] = Field(
        description="Answers kept for Idempotency-Key retries (24 hours) about this person."
    )
    notifications: list[NotificationOut] = Field(
        description="Messages sent to them, or to staff about them, each with its attempts."
    )
