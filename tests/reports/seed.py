"""Hand-made agency history for the reports, written straight to the database so that every
time (debrief received, outcome recorded, follow-up flagged) is exactly what the test says, then
the overdue queue's rows written again from it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import insert

from app.db.engine import Database
from app.db.transaction import transaction
from app.debrief_queue import service as debrief_queue
from app.ids import uuid7
from app.models import Candidate, Client, Debrief, FollowUp, Interview, Staff
from tests.conftest import T0


@dataclass
class Agency:
    staff: list[dict[str, Any]] = field(default_factory=list)
    clients: list[dict[str, Any]] = field(default_factory=list)
    candidates: list[dict[str, Any]] = field(default_factory=list)
    interviews: list[dict[str, Any]] = field(default_factory=list)
    debriefs: list[dict[str, Any]] = field(default_factory=list)
    follow_ups: list[dict[str, Any]] = field(default_factory=list)
    _candidate_of: dict[uuid.UUID, uuid.UUID] = field(default_factory=dict)
    _ends: dict[uuid.UUID, datetime] = field(default_factory=dict)

    @staticmethod
    def _stamp() -> dict[str, Any]:
        return {"created_at": T0, "updated_at": T0, "version": 1}

    def recruiter(self, full_name: str) -> uuid.UUID:
        staff_id = uuid7()
        email = f"{full_name.split()[0].lower()}-{staff_id.hex[-6:]}@agency.co.uk"
        self.staff.append(
            {"id": staff_id, "full_name": full_name, "email": email, "active": True} | self._stamp()
        )
        return staff_id

    def client(self, name: str) -> uuid.UUID:
        client_id = uuid7()
        self.clients.append({"id": client_id, "name": name} | self._stamp())
        return client_id

    def candidate(self, owner_id: uuid.UUID | None = None, name: str | None = None) -> uuid.UUID:
        candidate_id = uuid7()
        self.candidates.append(
            {
                "id": candidate_id,
                "full_name": name or f"Candidate {len(self.candidates) + 1}",
                "owner_id": owner_id,
                "status": "active",
                "job_search_active": True,
            }
            | self._stamp()
        )
        return candidate_id

    def interview(
        self,
        candidate_id: uuid.UUID,
        client_id: uuid.UUID,
        *,
        ends_at: datetime,
        minutes: int = 60,
        stage: str = "first",
        status: str = "completed",
        outcome: str = "pending",
        outcome_recorded_at: datetime | None = None,
        decision_expected_by: date | None = None,
        job_title: str = "Senior Accountant",
    ) -> uuid.UUID:
        interview_id = uuid7()
        self.interviews.append(
            {
                "id": interview_id,
                "candidate_id": candidate_id,
                "client_id": client_id,
                "job_title": job_title,
                "stage": stage,
                "format": "video",
                "starts_at": ends_at - timedelta(minutes=minutes),
                "ends_at": ends_at,
                "duration_minutes": minutes,
                "interviewers": [],
                "status": status,
                "outcome": outcome,
                "outcome_recorded_at": outcome_recorded_at,
                "decision_expected_by": decision_expected_by,
                "follow_ups_opened_at": ends_at if status == "completed" else None,
            }
            | self._stamp()
        )
        self._candidate_of[interview_id] = candidate_id
        self._ends[interview_id] = ends_at
        return interview_id

    def debrief(
        self,
        interview_id: uuid.UUID,
        *,
        after: timedelta,
        questions: list[str] | None = None,
        thank_you_after: timedelta | None = None,
        logged_after: timedelta | None = None,
    ) -> None:
        """A debrief whose call took place `after` the end (logged then too, unless
        `logged_after` says when the recruiter logged it)."""
        ends = self._ends[interview_id]
        self.debriefs.append(
            {
                "id": uuid7(),
                "interview_id": interview_id,
                "channel": "phone",
                "challenging_questions": questions or [],
                "called_at": ends + after,
                "received_at": ends + (logged_after or after),
                "received_via": "staff",
                "thank_you_sent_at": ends + thank_you_after if thank_you_after else None,
            }
            | self._stamp()
        )

    def follow_up(
        self,
        interview_id: uuid.UUID,
        kind: str = "debrief_call",
        *,
        due_after: timedelta = timedelta(hours=8),
        status: str = "done",
        overdue_after: timedelta | None = None,
        escalated_after: timedelta | None = None,
    ) -> None:
        ends = self._ends[interview_id]
        self.follow_ups.append(
            {
                "id": uuid7(),
                "interview_id": interview_id,
                "candidate_id": self._candidate_of[interview_id],
                "kind": kind,
                "status": status,
                "due_at": ends + due_after,
                "opened_at": ends,
                "overdue_at": ends + overdue_after if overdue_after else None,
                "escalated_at": ends + escalated_after if escalated_after else None,
                "late": False,
                "reminders_sent": 0,
                "reminder_interval_days": 2,
                "max_reminders": 3,
            }
            | self._stamp()
        )

    async def save(self, db: Database, *, rebuild_queue: bool = True) -> None:
        """Insert every row; then the queue's rows written again (not at a revision before
        the queue's present shape: `rebuild_queue=False`; 0007's triggers kept it then)."""
        async with db.engine.begin() as conn:
            for model, rows in (
                (Staff, self.staff),
                (Client, self.clients),
                (Candidate, self.candidates),
                (Interview, self.interviews),
                (Debrief, self.debriefs),
                (FollowUp, self.follow_ups),
            ):
                if rows:
                    await conn.execute(insert(model.__table__), rows)
        # Written past the service, as a change made in SQL: the queue's rows written again
        # as `debrief rebuild-queue` does.
        if not rebuild_queue:
            return
        async with transaction(db) as session:
            await debrief_queue.rebuild(session)
