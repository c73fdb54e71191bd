"""Bulk upserts by external_id: up to 1,000 items, a result per item, one transaction.

Each item is validated on its own, so one bad item is reported at its index instead of
failing the parse of the whole call. With `?atomic=true` (the default) any bad item means
nothing is stored (422, naming `items.<index>.<field>`); with `?atomic=false` the good items
are stored and the bad ones reported.
"""

from __future__ import annotations

import uuid
from typing import Any, Literal

from fastapi import Query
from pydantic import Field

from app.errors import FieldError
from app.schemas.base import InputModel, OutputModel

MAX_ITEMS = 1000
Status = Literal["created", "updated", "unchanged", "error"]


class BulkIn(InputModel):
    items: list[dict[str, Any]] = Field(
        min_length=1,
        max_length=MAX_ITEMS,
        description="Up to 1,000 objects, each with its `external_id`.",
    )


class ItemError(OutputModel):
    detail: str
    errors: list[FieldError] = Field(default_factory=list)


class ItemResult(OutputModel):
    index: int
    status: Status
    id: uuid.UUID | None = None
    error: ItemError | None = None


class BulkOut(OutputModel):
    results: list[ItemResult]


Atomic = Query(
    default=True,
    description="true: all or nothing (422 if any item is bad). false: store the good ones.",
)
