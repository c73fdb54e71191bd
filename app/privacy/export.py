"""Everything held on one person, for a subject access request."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select

from app.api import idempotency
from app.candidates.service import read_candidate
from app.db.engine import Database
from app.db.queries import found, read_all
from app.models import (
    AuditEntry,
    Debrief,
    DebriefLink,
    EmployerFeedback,
    EmployerLink,
    Event,
    FollowUp,
    Interview,
    Notification,
    NotificationAttempt,
    NotificationSubject,
    WebhookAttempt,
    WebhookDelivery,
)
from app.privacy.schemas import CandidateExport


async def gather(db: Database, candidate_id: uuid.UUID, *, now: datetime) -> CandidateExport:
    candidate = found(await read_candidate(db, candidate_id), "candidate", candidate_id)
    theirs = select(Interview.id).where(Interview.candidate_id == candidate_id)

    async def rows(stmt: Any) -> list[Any]:
        return list(await read_all(db, stmt))

    interviews = await rows(
        select(Interview.__table__)
        .where(Interview.candidate_id == candidate_id)
        .order_by(Interview.starts_at)
    )
    debriefs = await rows(select(Debrief.__table__).where(Debrief.interview_id.in_(theirs)))
    feedback = await rows(
        select(EmployerFeedback.__table__).where(EmployerFeedback.interview_id.in_(theirs))
    )
    follow_ups = await rows(
        select(FollowUp.__table__)
        .where(FollowUp.candidate_id == candidate_id)
        .order_by(FollowUp.due_at)
    )
    links = await rows(
        select(
            DebriefLink.id,
            DebriefLink.interview_id,
            DebriefLink.created_at,
            DebriefLink.expires_at,
            DebriefLink.used_at,
        ).where(DebriefLink.interview_id.in_(theirs))
    )
    client_links = await rows(
        select(
            EmployerLink.id,
            EmployerLink.interview_id,
            EmployerLink.created_at,
            EmployerLink.expires_at,
            EmployerLink.revoked_at,
            EmployerLink.deferred_at,
            EmployerLink.answered_at,
            EmployerLink.answer,
            EmployerLink.feedback_id,
        )
        .where(EmployerLink.interview_id.in_(theirs))
        .order_by(EmployerLink.id)
    )
    about_them = select(Event.id).where(Event.candidate_id == candidate_id)
    deliveries = await rows(
        select(WebhookDelivery.__table__)
        .where(WebhookDelivery.event_id.in_(about_them))
        .order_by(WebhookDelivery.id)
    )
    attempts: dict[Any, list[Any]] = {}
    for attempt in await rows(
        select(WebhookAttempt.__table__)
        .where(
            WebhookAttempt.delivery_id.in_(
                select(WebhookDelivery.id).where(WebhookDelivery.event_id.in_(about_them))
            )
        )
        .order_by(WebhookAttempt.attempted_at, WebhookAttempt.id)
    ):
        attempts.setdefault(attempt["delivery_id"], []).append(attempt)
    messages = await rows(
        select(Notification.__table__)
        .where(
            or_(
                Notification.candidate_id == candidate_id,
                Notification.id.in_(
                    select(NotificationSubject.notification_id).where(
                        NotificationSubject.candidate_id == candidate_id
                    )
                ),
            )
        )
        .order_by(Notification.id)
    )
    message_attempts: dict[Any, list[Any]] = {}
    if messages:
        for attempt in await rows(
            select(NotificationAttempt.__table__)
            .where(NotificationAttempt.notification_id.in_([m["id"] for m in messages]))
            .order_by(NotificationAttempt.attempted_at, NotificationAttempt.id)
        ):
            message_attempts.setdefault(attempt["notification_id"], []).append(attempt)
    objects = [candidate_id] + [
        r["id"] for group in (interviews, debriefs, feedback, follow_ups, links) for r in group
    ]
    return CandidateExport.model_validate(
        {
            "exported_at": now,
            "candidate": candidate,
            "interviews": interviews,
            "debriefs": debriefs,
            "employer_feedback": feedback,
            "follow_ups": follow_ups,
            "debrief_links": links,
            "employer_links": client_links,
            "events": await rows(
                select(Event.id, Event.type, Event.occurred_at, Event.data)
                .where(Event.candidate_id == candidate_id)
                .order_by(Event.seq)
            ),
            "webhook_deliveries": [
                {**d, "attempt_log": attempts.get(d["id"], [])} for d in deliveries
            ],
            "audit_entries": await rows(
                select(AuditEntry.__table__)
                .where(AuditEntry.object_id.in_([str(i) for i in objects]))
                .order_by(AuditEntry.occurred_at, AuditEntry.id)
            ),
            "idempotent_answers": await idempotency.answers_about(db, candidate_id),
            "notifications": [
                {**m, "attempt_log": message_attempts.get(m["id"], [])} for m in messages
            ],
        }
    )
