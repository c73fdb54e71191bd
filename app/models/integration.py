"""What the CRM integration stores: idempotent replies, webhook endpoints and deliveries."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base
from app.db.columns import SealedText
from app.ids import uuid7
from app.models.base import Versioned


class IdempotencyRecord(Base):
    """The first answer to a POST sent with an Idempotency-Key, replayed for 24 hours to the
    API key that sent it (and to no other, nor to it once revoked)."""

    __tablename__ = "idempotency_keys"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid7)
    # The API key that sent it: Idempotency-Keys are scoped to their sender.
    key_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("api_keys.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(255))
    # The request's path (ids only), for the subject access export; None if stored before 0008.
    path: Mapped[str | None] = mapped_column(String(2000))
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int]
    headers: Mapped[dict[str, Any]]
    # The JSON answer, as text; None when it was not kept (it carried a secret shown once):
    # a retry is then told so instead of getting the answer again.
    body: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(index=True)

    __table_args__ = (UniqueConstraint("key_id", "key"),)


class IdempotencySubject(Base):
    """A candidate a stored answer is about (one row per person it names), so erasure can
    delete it and the export can show it."""

    __tablename__ = "idempotency_subjects"

    answer_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("idempotency_keys.id", ondelete="CASCADE"), primary_key=True
    )
    candidate_id: Mapped[uuid.UUID] = mapped_column(primary_key=True, index=True)


class WebhookEndpoint(Versioned):
    __tablename__ = "webhook_endpoints"

    url: Mapped[str] = mapped_column(String(2000))
    description: Mapped[str | None] = mapped_column(String(500))
    # Event types to send; empty means every type.
    event_types: Mapped[list[str]] = mapped_column(default=list)
    # The signing secret, sealed (app/db/sealed.py): it must be read again to sign.
    secret: Mapped[str] = mapped_column(SealedText)
    # The secret before the last rotation, still signed with until it expires; sealed too.
    previous_secret: Mapped[str | None] = mapped_column(SealedText)
    previous_secret_expires_at: Mapped[datetime | None]
    enabled: Mapped[bool] = mapped_column(default=True)
    disabled_reason: Mapped[str | None] = mapped_column(String(500))
    # Events up to this seq have been turned into deliveries for this endpoint.
    last_event_seq: Mapped[int] = mapped_column(default=0)


class WebhookDelivery(Base):
    """One event to one endpoint; retried until delivered or out of attempts."""

    __tablename__ = "webhook_deliveries"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid7)
    endpoint_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("webhook_endpoints.id", ondelete="CASCADE")
    )
    event_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("events.id"))
    event_type: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None]
    last_status_code: Mapped[int | None]
    last_error: Mapped[str | None] = mapped_column(String(500))
    delivered_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    __table_args__ = (
        Index("ix_webhook_deliveries_endpoint", "endpoint_id", "id"),
        Index(
            "ix_webhook_deliveries_due",
            "next_attempt_at",
            postgresql_where=text("status = 'pending'"),
            sqlite_where=text("status = 'pending'"),
        ),
    )


class WebhookAttempt(Base):
    """One HTTP request of a delivery, as the receiver answered it."""

    __tablename__ = "webhook_attempts"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid7)
    delivery_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("webhook_deliveries.id", ondelete="CASCADE"), index=True
    )
    attempted_at: Mapped[datetime]
    status_code: Mapped[int | None]
    error: Mapped[str | None] = mapped_column(String(500))
    duration_ms: Mapped[int]
    response_excerpt: Mapped[str | None] = mapped_column(Text)
