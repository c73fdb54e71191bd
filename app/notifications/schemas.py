from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import Field

from app.debriefs.schemas import EmployerFeedbackOut
from app.notifications.render import TemplateName
from app.schemas.base import OutputModel

Status = Literal["pending", "sent", "preview", "cancelled", "suppressed", "bounced", "failed"]
Channel = Literal["email", "chat"]
Kind = TemplateName


class NotificationAttemptOut(OutputModel):
    attempted_at: datetime
    finished_at: datetime | None
    outcome: Literal["sent", "retry", "failed", "bounced", "unknown"] | None = Field(
        description="Null while the attempt is in flight."
    )
    code: int | None = Field(description="The SMTP reply code, or the chat target's HTTP status.")
    answer: str | None = Field(description="What the server said.")
    duration_ms: int | None


class NotificationOut(OutputModel):
    id: uuid.UUID
    kind: Kind
    channel: Channel
    recipient: str = Field(description="The email address; for chat, the target's host.")
    recipient_name: str | None
    candidate_id: uuid.UUID | None = Field(description="The candidate it was sent to.")
    staff_id: uuid.UUID | None = Field(description="The staff member it was sent to.")
    interview_id: uuid.UUID | None
    subject: str
    body_text: str = Field(
        description="As rendered; a candidate's personal and unsubscribe links are minted as "
        "each attempt is sent, so they show here as `{personal-link}` and `{unsubscribe-link}`."
    )
    body_html: str | None
    message_id: str = Field(description="The Message-ID header, the same on every attempt.")
    status: Status
    status_reason: str | None
    send_after: datetime = Field(description="When it was planned to go.")
    next_attempt_at: datetime | None
    attempts: int
    sent_at: datetime | None
    resent_from: uuid.UUID | None
    created_at: datetime
    updated_at: datetime
    attempt_log: list[NotificationAttemptOut] = Field(default_factory=list)


class TemplatePreview(OutputModel):
    name: Kind
    subject: str
    body_text: str
    body_html: str


class RelayOut(OutputModel):
    employer_feedback: EmployerFeedbackOut
    notification: NotificationOut = Field(description="The email to the candidate, as queued.")
