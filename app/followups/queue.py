"""The recruiters' queue page (`GET /v1/debriefs/overdue`): overdue debrief calls, most
overdue first, read from the queue's table (`app/debrief_queue`). The route's endpoint calls
`overdue_queue`, whether FastAPI or the hot read (`app/hot_reads.py`) calls the endpoint."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import orjson
from starlette.responses import Response

from app.api.responses import JSON_MEDIA_TYPE
from app.db.engine import Database
from app.debrief_queue import service as debrief_queue
from app.followups import rules


def _values(row: Any) -> Any:
    return row.values()  # an asyncpg record's or a dict's, in the query's column order


def _dump(value: Any) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_UTC_Z)


class _Page:
    """A page's JSON written once, less each row's `overdue_seconds`, which is written into it
    from the time of each answer (a kept page is answered again while the queue is unchanged)."""

    __slots__ = ("items", "next_cursor")

    def __init__(self, items: list[tuple[datetime, bytes, bytes]], next_cursor: bytes) -> None:
        self.items = items  # each row's due time, its JSON up to and after `overdue_seconds`
        self.next_cursor = next_cursor

    def size(self) -> int:
        return sum(len(head) + len(tail) for _, head, tail in self.items) + len(self.next_cursor)

    def body(self, now: datetime) -> bytes:
        items = b",".join(
            [
                b"%b%d%b" % (head, max(int((now - due_at).total_seconds()), 0), tail)
                for due_at, head, tail in self.items
            ]
        )
        return b'{"items":[%b],"next_cursor":%b}' % (items, self.next_cursor)


def _page(rows: Sequence[Any], next_cursor: str | None) -> _Page:
    # Plain JSON (`OverdueDebrief` documents it): a recruiter's queue is refreshed all day,
    # and 50 validated models per page cost more than the query. Each row is unpacked in the
    # page query's column order (`select_overdue_debriefs`) rather than read name by name.
    # Times come from the database as UTC datetimes, which orjson writes as `iso()` does
    # (2026-03-04T10:00:00Z); ids come as text on PostgreSQL (`uuid_text`) and as UUIDs on
    # SQLite, which orjson writes in the same form.
    items = []
    for (
        follow_up_id,
        due_at,
        reminders_sent,
        max_reminders,
        next_notice_at,
        candidate_id,
        full_name,
        phone,
        owner_id,
        interview_id,
        job_title,
        ends_at,
        client_id,
        client_name,
    ) in map(_values, rows):
        head = _dump(
            {
                "follow_up_id": follow_up_id,
                "candidate": {"id": candidate_id, "full_name": full_name, "phone": phone},
                "owner_id": owner_id,
                "interview_id": interview_id,
                "client": {"id": client_id, "name": client_name},
                "job_title": job_title,
                "ends_at": ends_at,
                "due_at": due_at,
            }
        )
        tail = _dump(
            {
                "reminders_sent": reminders_sent,
                "next_reminder_at": rules.next_reminder_at(
                    status="overdue",
                    reminders_sent=reminders_sent,
                    max_reminders=max_reminders,
                    next_notice_at=next_notice_at,
                ),
            }
        )
        items.append((due_at, head[:-1] + b',"overdue_seconds":', b"," + tail[1:]))
    return _Page(items, _dump(next_cursor))


async def overdue_queue(
    db: Database,
    now: datetime,
    *,
    owner_id: uuid.UUID | None,
    client_id: uuid.UUID | None,
    limit: int,
    cursor: str | None,
) -> Response:
    """The page as JSON. A page is kept in the process (`Database.pages`) and answered again
    while the queue's stamp is the one read before its rows: a refresh with nothing changed
    reads one row, not fifty (app/db/stamps.py)."""
    stamp = await debrief_queue.stamp(db)
    key = (owner_id, client_id, limit, cursor)
    page: _Page | None = db.pages.get(debrief_queue.STAMP, key, stamp)
    if page is None:
        rows, next_cursor = await debrief_queue.overdue_page(
            db, owner_id=owner_id, client_id=client_id, limit=limit, cursor=cursor
        )
        page = _page(rows, next_cursor)
        db.pages.put(debrief_queue.STAMP, key, stamp, page, page.size())
    return Response(page.body(now), media_type=JSON_MEDIA_TYPE)
