"""The outbox: one row per event, in commit order, for the feed and the webhooks."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base
from app.ids import uuid7


class Event(Base):
    __tablename__ = "events"

    # Assigned under a lock taken just before commit, so `seq` order is commit order.
    seq: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    id: Mapped[uuid.UUID] = mapped_column(unique=True, default=uuid7)
    type: Mapped[str] = mapped_column(String(64))
    occurred_at: Mapped[datetime]
    data: Mapped[dict[str, Any]]
    # The candidate the event is about, so erasing them can scrub their events.
    candidate_id: Mapped[uuid.UUID | None] = mapped_column(index=True)

    __table_args__ = (Index("ix_events_type_seq", "type", "seq"),)
