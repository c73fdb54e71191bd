"""Personal links a candidate uses to give their debrief without an account."""

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
