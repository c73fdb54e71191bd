"""The notifications outbox: each message to a candidate or staff member, as rendered, with
every attempt to send it; addresses that must not be mailed; the staff digests considered."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base
from app.ids import uuid7

PENDING = "status = 'pending'"


class Notification(Base):
    """One message to one recipient on one channel. Written in the transaction that causes
    it; the delivery worker sends it when `send_after` has come (or previews it)."""

    __tablename__ = "notifications"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid7)
    # The template it was rendered from: candidate_debrief_link, staff_digest ...
    kind: Mapped[str] = mapped_column(String(40))
    channel: Mapped[str] = mapped_column(String(8))  # email | chat
    # An email address; for chat, the target's host (the URL itself is a credential).
    recipient: Mapped[str] = mapped_column(String(320))
    recipient_name: Mapped[str | None] = mapped_column(String(200))
    candidate_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("candidates.id"), index=True)
    staff_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("staff.id"), index=True)
    interview_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("interviews.id"))
    subject: Mapped[str] = mapped_column(String(500))
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str | None] = mapped_column(Text)
    # The same on every attempt (and in the headers), so a receiver can drop a duplicate.
    message_id: Mapped[str] = mapped_column(String(255), unique=True)
    # pending, sent, preview, cancelled, suppressed, bounced, failed
    status: Mapped[str] = mapped_column(String(16), default="pending")
    status_reason: Mapped[str | None] = mapped_column(String(500))
    send_after: Mapped[datetime]
    # While pending: when it may next be claimed (a retry's time, or a claim's lease end).
    next_attempt_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(default=0)
    sent_at: Mapped[datetime | None]
    # What makes it one of a kind (one link email per interview ...): never written twice.
    dedupe_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    resent_from: Mapped[uuid.UUID | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    __table_args__ = (
        Index(
            "ix_notifications_due",
            "next_attempt_at",
            postgresql_where=text(PENDING),
            sqlite_where=text(PENDING),
        ),
        Index("ix_notifications_interview_kind", "interview_id", "kind"),
    )


class NotificationAttempt(Base):
    """One try at sending a notification, and what the server answered."""

    __tablename__ = "notification_attempts"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid7)
    notification_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("notifications.id", ondelete="CASCADE"), index=True
    )
    # When it was claimed to be sent (the sending cap counts these).
    attempted_at: Mapped[datetime] = mapped_column(index=True)
    finished_at: Mapped[datetime | None]
    # sent, retry, failed, bounced; null while in flight (or if the sender died).
    outcome: Mapped[str | None] = mapped_column(String(16))
    # The SMTP reply code or HTTP status, and the server's words.
    code: Mapped[int | None]
    answer: Mapped[str | None] = mapped_column(String(1000))
    duration_ms: Mapped[int | None]


class NotificationSubject(Base):
    """A candidate a notification is about (a digest names several), so erasure removes it
    and the export shows it."""

    __tablename__ = "notification_subjects"

    notification_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("notifications.id", ondelete="CASCADE"), primary_key=True
    )
    candidate_id: Mapped[uuid.UUID] = mapped_column(primary_key=True, index=True)


class Suppression(Base):
    """An address never mailed again (unsubscribed, or hard-bounced), kept as a keyed hash
    so it outlives the person's erasure without naming them."""

    __tablename__ = "notification_suppressions"

    address_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    reason: Mapped[str] = mapped_column(String(16))  # unsubscribed | bounced
    created_at: Mapped[datetime]


class DigestDay(Base):
    """The last local day a staff member's morning digest was considered (sent or empty)."""

    __tablename__ = "staff_digest_days"

    staff_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("staff.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[date]
