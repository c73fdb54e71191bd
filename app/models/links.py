"""Personal links: a candidate gives their debrief, a client's contact their decision,
without an account."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base
from app.ids import uuid7


class DebriefLink(Base):
    __tablename__ = "debrief_links"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid7)
    interview_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("interviews.id"), index=True)
    # Only an HMAC of the token is kept: a database leak opens no form.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    purpose: Mapped[str] = mapped_column(String(32), default="debrief")
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(80))
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class EmployerLink(Base):
    """A client contact's link to answer for one interview: a decision, or a new date."""

    __tablename__ = "employer_links"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid7)
    interview_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("interviews.id"), index=True)
    # Only an HMAC of the token is kept, as for the candidate's links.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # Who it was made for: the interview's point of contact, else the client's default.
    contact_name: Mapped[str | None] = mapped_column(String(200))
    contact_email: Mapped[str | None] = mapped_column(String(320))
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(80))
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    # The last "still deciding" answer (the link stays open), and the decision (it closes).
    deferred_at: Mapped[datetime | None]
    answered_at: Mapped[datetime | None]
    # still_deciding, next_round, offer, rejected: the last answer given.
    answer: Mapped[str | None] = mapped_column(String(16))
    feedback_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("employer_feedback.id"))
