"""Agency staff and the API keys that act for them."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base
from app.db.columns import SealedText
from app.ids import uuid7
from app.models.base import Versioned


class Staff(Versioned):
    __tablename__ = "staff"

    full_name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(320), unique=True)
    active: Mapped[bool] = mapped_column(default=True)
    # Who their escalations go to: always an active staff member (deactivating a manager
    # clears it on their reports), never in a loop.
    manager_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("staff.id"), index=True)
    # IANA name; None means the follow-up policy's time zone.
    timezone: Mapped[str | None] = mapped_column(String(64))
    # How they want to hear from us: email, chat, both or none; chat through this URL, which
    # carries the chat service's token, so it is kept sealed (app/db/sealed.py); its host,
    # which is no secret, is kept beside it to show where chat messages go.
    notify_via: Mapped[str] = mapped_column(String(8), default="email", server_default="email")
    chat_url: Mapped[str | None] = mapped_column(SealedText)
    chat_host: Mapped[str | None] = mapped_column(String(255))


class ApiKey(Base):
    __tablename__ = "api_keys"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid7)
    name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(20))
    staff_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("staff.id"), index=True)
    prefix: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class BoardSession(Base):
    """A signed-in board browser. The cookie holds a random id; only its keyed hash is here."""

    __tablename__ = "board_sessions"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    api_key_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("api_keys.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)
