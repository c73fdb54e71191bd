"""Columns every stored object shares: a time-ordered id, timestamps and a version for ETags."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from app.db.base import Base
from app.ids import uuid7


class Versioned(Base):
    """An object with an id, created/updated times and an optimistic-locking version."""

    __abstract__ = True

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid7, sort_order=-100)
    created_at: Mapped[datetime] = mapped_column(sort_order=100)
    updated_at: Mapped[datetime] = mapped_column(sort_order=100)
    version: Mapped[int] = mapped_column(default=1, sort_order=100)

    @declared_attr.directive
    def __mapper_args__(cls) -> dict[str, Any]:
        return {"version_id_col": cls.__table__.c.version}
