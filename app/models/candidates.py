"""Candidates the agency represents, and the clients (employers) they interview with."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, false, text
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base
from app.models.base import Versioned


class Candidate(Versioned):
    __tablename__ = "candidates"

    external_id: Mapped[str | None] = mapped_column(String(100), unique=True)
    full_name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320), index=True)
    phone: Mapped[str | None] = mapped_column(String(20))
    linkedin_url: Mapped[str | None] = mapped_column(String(500))
    owner_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("staff.id"), index=True)
    timezone: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="active")
    job_search_active: Mapped[bool] = mapped_column(default=True)
    # Set when the person was erased: the row stays, without anything personal, for counts.
    erased_at: Mapped[datetime | None]

    __table_args__ = (
        # The sweep's retention policy: candidates not yet erased, by their last change.
        Index(
            "ix_candidates_retention",
            "updated_at",
            postgresql_where=text("erased_at IS NULL"),
            sqlite_where=text("erased_at IS NULL"),
        ),
    )


class ErasedIdentity(Base):
    """A CRM id whose candidate was erased, kept as a keyed hash so the CRM cannot
    silently bring the person back."""

    __tablename__ = "erased_identities"

    external_id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    erased_at: Mapped[datetime]


class Client(Versioned):
    __tablename__ = "clients"

    external_id: Mapped[str | None] = mapped_column(String(100), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    # Whom the agency asks for decisions, unless an interview names its own point of contact.
    contact_name: Mapped[str | None] = mapped_column(String(200))
    contact_email: Mapped[str | None] = mapped_column(String(320))
    # Email the contact their decision link when an employer chase falls due (opt-in: some
    # agencies chase clients only by phone).
    auto_chase: Mapped[bool] = mapped_column(server_default=false())
    # The contact's time zone (IANA; null: the policy's): chase emails go in their working hours.
    timezone: Mapped[str | None] = mapped_column(String(64))
