from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal

from pydantic import Field, model_validator

from app.imports.csv_file import ImportKind
from app.schemas.base import OutputModel

_COUNTS = ("total", "processed", "created", "updated", "unchanged")
_COLUMNS = (
    "id",
    "kind",
    "status",
    *(f"rows_{count}" for count in _COUNTS),
    "errors",
    "error_count",
    "detail",
    "created_by",
    "created_at",
    "started_at",
    "finished_at",
)

ImportStatus = Literal["queued", "running", "succeeded", "failed"]


class RowErrorOut(OutputModel):
    row: int = Field(description="The row in the file as a spreadsheet numbers it (headings: 1).")
    field: str = Field(description="The column at fault; empty when it is the row as a whole.")
    message: str = Field(description="What is wrong; never the cell's value.")


class ImportRowsOut(OutputModel):
    total: int = Field(description="Rows in the file (empty rows left out).")
    processed: int = Field(description="Rows checked against the database so far.")
    created: int = Field(description="Written when the job succeeds; 0 until then.")
    updated: int
    unchanged: int


class ImportJobOut(OutputModel):
    id: uuid.UUID
    kind: ImportKind
    status: ImportStatus = Field(
        description="`queued`, `running`, then `succeeded` (every row written) or `failed` "
        "(nothing written)."
    )
    rows: ImportRowsOut
    errors: list[RowErrorOut] = Field(
        description="The rows refused, in file order (the first 100); nothing is written if any."
    )
    error_count: int = Field(description="How many errors there are in all.")
    detail: str | None = Field(description="Why the job failed, in words; null otherwise.")
    created_by: str = Field(description="Who started it: `key:<id>`, or `system:import` (CLI).")
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    @model_validator(mode="before")
    @classmethod
    def _from_row(cls, source: Any) -> Any:
        """A row or an object of `import_jobs` (its `rows_*` columns become `rows`)."""
        if not isinstance(source, Mapping) and hasattr(source, "rows_total"):
            source = {name: getattr(source, name) for name in _COLUMNS}
        if isinstance(source, Mapping) and "rows_total" in source:
            return {
                **source,
                "rows": {count: source[f"rows_{count}"] for count in _COUNTS},
            }
        return source
