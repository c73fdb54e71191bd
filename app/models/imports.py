"""CSV imports run as jobs: what was asked, how far it got, and the rows refused.

A job holds no personal data: its errors name a row, a column and what is wrong, never the
value; the file itself is never stored (the process that received it holds its rows in
memory while the job runs)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base
from app.ids import uuid7


class ImportJob(Base):
    __tablename__ = "import_jobs"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid7)
    kind: Mapped[str] = mapped_column(String(16))
    # queued, running, succeeded, failed
    status: Mapped[str] = mapped_column(String(16))
    # True while queued or running, NULL once finished: the unique constraint lets one
    # import run at a time, across replicas.
    active: Mapped[bool | None]
    rows_total: Mapped[int]
    rows_processed: Mapped[int] = mapped_column(default=0)
    rows_created: Mapped[int] = mapped_column(default=0)
    rows_updated: Mapped[int] = mapped_column(default=0)
    rows_unchanged: Mapped[int] = mapped_column(default=0)
    # [{row, field, message}], the first ones only; error_count counts them all.
    errors: Mapped[list[dict[str, Any]]] = mapped_column(default=list)
    error_count: Mapped[int] = mapped_column(default=0)
    detail: Mapped[str | None] = mapped_column(String(500))
    created_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime]
    started_at: Mapped[datetime | None]
    # Written with every step of progress: a job whose process died stops being touched,
    # and the sweep fails it once this is old.
    heartbeat_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]

    __table_args__ = (UniqueConstraint("active"),)
