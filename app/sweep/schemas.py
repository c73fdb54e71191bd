from __future__ import annotations

from pydantic import Field

from app.schemas.base import OutputModel


class SweepResult(OutputModel):
    opened: int = Field(description="Interviews whose after-interview follow-ups were opened.")
    overdue: int = Field(description="Follow-ups newly flagged overdue.")
    reminders: int
    escalated: int
    erased: int = Field(description="Candidates erased by the retention policy (off by default).")
    expired_answers: int = Field(
        description="Stored Idempotency-Key answers past their 24 hours, deleted."
    )
    failed_imports: int = Field(
        description="CSV imports failed because the process running them stopped."
    )
    swept: bool = Field(description="False if another replica held the sweep lock.")
    duration_ms: float
