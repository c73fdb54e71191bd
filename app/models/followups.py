"""The playbook follow-ups opened for each interview, and the agency's settings."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base
from app.models.base import Versioned


class FollowUp(Versioned):
    __tablename__ = "follow_ups"

    interview_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("interviews.id"))
    candidate_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("candidates.id"))
    kind: Mapped[str] = mapped_column(String(32))
    # Which one of its kind for the interview: employer chases after a missed decision date
    # count on (2, 3 …); every other follow-up is 1.
    sequence: Mapped[int] = mapped_column(default=1, server_default=text("1"))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    due_at: Mapped[datetime]
    # The thank-you note's ideal time (policy `thank_you_note_ideal_hours`); null for the others.
    ideal_by: Mapped[datetime | None]
    opened_at: Mapped[datetime]
    overdue_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    completed_by: Mapped[str | None] = mapped_column(String(80))
    late: Mapped[bool] = mapped_column(default=False)
    reminders_sent: Mapped[int] = mapped_column(default=0)
    escalated_at: Mapped[datetime | None]
    # The staff member the escalation went to (the owner's manager or the policy's fallback
    # contact). No foreign key: SQLite could not drop the column again without copying the
    # table and its queue triggers; staff are deactivated, never deleted.
    escalated_to: Mapped[uuid.UUID | None]
    # While overdue: when the next reminder (or the escalation) is due. On a done employer
    # chase: when to escalate if the employer has still not decided (the last chase's).
    next_notice_at: Mapped[datetime | None]
    waived_reason: Mapped[str | None] = mapped_column(String(500))
    # The policy in force when the follow-up opened: a later change does not move it.
    reminder_interval_days: Mapped[int]  # working days
    max_reminders: Mapped[int]

    __table_args__ = (
        UniqueConstraint("interview_id", "kind", "sequence"),
        Index("ix_follow_ups_candidate_status", "candidate_id", "status"),
        Index(
            "ix_follow_ups_pending_due",
            "due_at",
            postgresql_where=text("status = 'pending'"),
            sqlite_where=text("status = 'pending'"),
        ),
        Index(
            "ix_follow_ups_overdue_queue",
            "kind",
            "due_at",
            "id",
            postgresql_where=text("status = 'overdue'"),
            sqlite_where=text("status = 'overdue'"),
        ),
        Index(
            "ix_follow_ups_next_notice",
            "next_notice_at",
            postgresql_where=text("next_notice_at IS NOT NULL"),
            sqlite_where=text("next_notice_at IS NOT NULL"),
        ),
        # The sweep's client chase emails: the employer chases flagged overdue lately.
        Index(
            "ix_follow_ups_employer_chases",
            "overdue_at",
            postgresql_where=text("kind = 'employer_follow_up' AND status = 'overdue'"),
            sqlite_where=text("kind = 'employer_follow_up' AND status = 'overdue'"),
        ),
        # The sweep's nudges: the debrief calls flagged late lately.
        Index(
            "ix_follow_ups_late_calls",
            "overdue_at",
            postgresql_where=text("kind = 'debrief_call' AND status = 'overdue'"),
            sqlite_where=text("kind = 'debrief_call' AND status = 'overdue'"),
        ),
        # A manager's board: the open follow-ups escalated to them.
        Index(
            "ix_follow_ups_escalated_to",
            "escalated_to",
            postgresql_where=text("status IN ('pending', 'overdue')"),
            sqlite_where=text("status IN ('pending', 'overdue')"),
        ),
        # Reports: each interview's debrief call (deadline, whether and how far it went
        # overdue), read from the index alone.
        Index(
            "ix_follow_ups_debrief_call",
            "interview_id",
            "due_at",
            "status",
            "overdue_at",
            "escalated_at",
            postgresql_where=text("kind = 'debrief_call'"),
            sqlite_where=text("kind = 'debrief_call'"),
        ),
    )


class Setting(Base):
    """A named settings document, such as the follow-up policy."""

    __tablename__ = "settings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[dict[str, Any]]
    version: Mapped[int] = mapped_column(default=1)
    updated_at: Mapped[datetime]


class DebriefQueueEntry(Base):
    """The recruiters' queue (`GET /v1/debriefs/overdue`) kept ready: one row per overdue
    debrief call with who to call and about what, so a page is one index range scan.
    Written only through `app/debrief_queue`, which states its rules."""

    __tablename__ = "debrief_queue"

    follow_up_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    due_at: Mapped[datetime]
    reminders_sent: Mapped[int]
    # With these two, when the next reminder goes (`rules.next_reminder_at`).
    max_reminders: Mapped[int]
    next_notice_at: Mapped[datetime | None]
    candidate_id: Mapped[uuid.UUID]
    full_name: Mapped[str] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(20))
    owner_id: Mapped[uuid.UUID | None]
    interview_id: Mapped[uuid.UUID]
    job_title: Mapped[str] = mapped_column(String(200))
    ends_at: Mapped[datetime]
    client_id: Mapped[uuid.UUID]
    client_name: Mapped[str] = mapped_column(String(200))

    __table_args__ = (
        Index("ix_debrief_queue_due", "due_at", "follow_up_id"),
        Index("ix_debrief_queue_owner", "owner_id", "due_at", "follow_up_id"),
        Index("ix_debrief_queue_client", "client_id", "due_at", "follow_up_id"),
        Index("ix_debrief_queue_candidate", "candidate_id"),
        Index("ix_debrief_queue_interview", "interview_id"),
    )
