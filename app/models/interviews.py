"""Interviews, the candidate's debrief of one, and what the employer said about it."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ForeignKey, Index, Numeric, String, Text, text, true
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Versioned

AWAITING_FOLLOW_UPS = "follow_ups_opened_at IS NULL AND status IN ('scheduled', 'completed')"


class Interview(Versioned):
    __tablename__ = "interviews"

    external_id: Mapped[str | None] = mapped_column(String(100), unique=True)
    candidate_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("candidates.id"), index=True)
    client_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("clients.id"), index=True)
    job_title: Mapped[str] = mapped_column(String(200))
    stage: Mapped[str] = mapped_column(String(16))
    format: Mapped[str] = mapped_column(String(16))
    starts_at: Mapped[datetime]
    # Always set: given, or starts_at + duration_minutes (default 60).
    ends_at: Mapped[datetime]
    duration_minutes: Mapped[int]
    interviewers: Mapped[list[dict[str, Any]]] = mapped_column(default=list)
    point_of_contact: Mapped[dict[str, Any] | None]
    decision_expected_by: Mapped[date | None]
    next_step: Mapped[str | None] = mapped_column(String(1000))
    status: Mapped[str] = mapped_column(String(16), default="scheduled")
    outcome: Mapped[str] = mapped_column(String(16), default="pending")
    next_stage: Mapped[str | None] = mapped_column(String(16))
    outcome_recorded_at: Mapped[datetime | None]
    # Set when the after-interview follow-ups were opened (the interview had ended).
    follow_ups_opened_at: Mapped[datetime | None]
    # False: no follow-ups are opened for it (history when recorded, or the sender said so).
    follow_ups_tracked: Mapped[bool] = mapped_column(default=True, server_default=true())

    __table_args__ = (
        Index("ix_interviews_starts_at", "starts_at"),
        # The sweep's "ended but not yet opened" scan touches only these rows.
        Index(
            "ix_interviews_awaiting_follow_ups",
            "ends_at",
            postgresql_where=text(AWAITING_FOLLOW_UPS),
            sqlite_where=text(AWAITING_FOLLOW_UPS),
        ),
    )


class Debrief(Versioned):
    __tablename__ = "debriefs"

    interview_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("interviews.id"), unique=True)
    channel: Mapped[str] = mapped_column(String(16))
    overall_rating: Mapped[int | None]
    went_well: Mapped[str | None] = mapped_column(Text)
    went_badly: Mapped[str | None] = mapped_column(Text)
    challenging_questions: Mapped[list[str]] = mapped_column(default=list)
    strengths: Mapped[str | None] = mapped_column(Text)
    weaknesses: Mapped[str | None] = mapped_column(Text)
    still_interested: Mapped[str | None] = mapped_column(String(8))
    company_fit: Mapped[int | None]
    salary_amount: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    salary_currency: Mapped[str | None] = mapped_column(String(3))
    other_applications_active: Mapped[bool | None]
    thank_you_sent_at: Mapped[datetime | None]
    linkedin_connected: Mapped[bool | None]
    notes: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime]
    # Who gave it: "staff", "integration" or "candidate_link".
    received_via: Mapped[str] = mapped_column(String(20))
    # When the candidate's call took place (by default when the debrief was received): the
    # debrief call's completion, and what its lateness is judged by.
    called_at: Mapped[datetime]

    # Reports: when each interview's debrief and thank-you note came, from the index alone.
    __table_args__ = (
        Index("ix_debriefs_interview_times", "interview_id", "called_at", "thank_you_sent_at"),
    )


class EmployerFeedback(Versioned):
    __tablename__ = "employer_feedback"

    interview_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("interviews.id"), index=True)
    outcome: Mapped[str | None] = mapped_column(String(16))
    strengths: Mapped[str | None] = mapped_column(Text)
    improvements: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime]
    relayed_to_candidate_at: Mapped[datetime | None]
    # Whether the employer lets the agency pass their words on verbatim (null: not asked).
    relay_allowed: Mapped[bool | None]
