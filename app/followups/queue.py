"""The recruiters' queue page (`GET /v1/debriefs/overdue`): overdue debrief calls, most
overdue first, read from the queue's table (`app/debrief_queue`). The route's endpoint calls
`overdue_queue`, whether FastAPI or the hot read (`app/hot_reads.py`) calls the endpoint."""

from __future__ import annotations

import uuid
from datetime import datetime

import orjson
from starlette.responses import Response

from app.api.responses import JSON_MEDIA_TYPE
from app.db.engine import Database
from app.debrief_queue import service as debrief_queue
from app.followups import rules


async def overdue_queue(
    db: Database,
    now: datetime,
    *,
    owner_id: uuid.UUID | None,
    client_id: uuid.UUID | None,
    limit: int,
    cursor: str | None,
) -> Response:
    rows, next_cursor = await debrief_queue.overdue_page(
        db, owner_id=owner_id, client_id=client_id, limit=limit, cursor=cursor
    )
    # Plain JSON (`OverdueDebrief` documents it): a recruiter's queue is refreshed all day,
    # and 50 validated models per page cost more than the query. Times come from the
    # database as UTC datetimes, which orjson writes as `iso()` does (2026-03-04T10:00:00Z).
    # Ids come as text on PostgreSQL (`uuid_text`), where `str()` returns them unchanged.
    items = [
        {
            "follow_up_id": str(r["follow_up_id"]),
            "candidate": {
                "id": str(r["candidate_id"]),
                "full_name": r["full_name"],
                "phone": r["phone"],
            },
            "owner_id": None if r["owner_id"] is None else str(r["owner_id"]),
            "interview_id": str(r["interview_id"]),
            "client": {"id": str(r["client_id"]), "name": r["client_name"]},
            "job_title": r["job_title"],
            "ends_at": r["ends_at"],
            "due_at": r["due_at"],
            "overdue_seconds": max(int((now - r["due_at"]).total_seconds()), 0),
            "reminders_sent": r["reminders_sent"],
            "next_reminder_at": rules.next_reminder_at(
                status="overdue",
                reminders_sent=r["reminders_sent"],
                max_reminders=r["max_reminders"],
                next_notice_at=r["next_notice_at"],
            ),
        }
        for r in rows
    ]
    body = orjson.dumps({"items": items, "next_cursor": next_cursor}, option=orjson.OPT_UTC_Z)
    return Response(body, media_type=JSON_MEDIA_TYPE)
