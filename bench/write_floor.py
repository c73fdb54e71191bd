"""The write floors: the thinnest code that stores what the service's writes store.

Served by `bench/floor.py` beside the read floor, at the service's own paths, so the same
wrk script drives the floor and the service:

`POST /v1/interviews/{id}/debrief` records a debrief as `POST /v1/interviews/{id}/debrief`
does, in one transaction, with the same rows in the same tables: the debrief inserted (or,
if the interview has one, the fields sent written over it, its version bumped), the
interview's open `debrief_call` follow-up completed, one audit entry for each row written, and a
`debrief.received` event (and `follow_up.completed` for the follow-up) appended to the feed
under the feed's order lock, as every event writer must. What it leaves out is everything
that is not a write: authentication, validation, the checks on the interview (started, not
cancelled, candidate not erased), the owner's alert for a cooling candidate, the response
model.

`POST /v1/candidates/bulk` stores the candidates of the request with one `INSERT` per row
(`executemany`, PostgreSQL pipelines it), in one transaction: no validation, no matching,
no events, no audit. This is the raw batch insert the bulk upsert is compared with.

PostgreSQL: asyncpg, a pool of the service's size. SQLite: the stdlib module on the read
floor's one connection, called from the event loop, `BEGIN IMMEDIATE` for each write (one
writer at a time, never a lock upgrade that can fail), the service's pragmas.
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import asyncpg
import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from app.ids import uuid7

# app.events.service.EVENT_ORDER_LOCK (not imported: that module loads the whole app).
EVENT_ORDER_LOCK = 0x44_45_42_52
ACTOR = "key:floor"
# The columns a request may write (DebriefIn's fields, salary split in two as stored).
WRITABLE = (
    "channel",
    "overall_rating",
    "went_well",
    "went_badly",
    "challenging_questions",
    "strengths",
    "weaknesses",
    "still_interested",
    "company_fit",
    "salary_amount",
    "salary_currency",
    "other_applications_active",
    "thank_you_sent_at",
    "linkedin_connected",
    "notes",
    "called_at",
)
DEBRIEF_COLUMNS = (
    "id, interview_id, channel, overall_rating, went_well, went_badly, challenging_questions, "
    "strengths, weaknesses, still_interested, company_fit, salary_amount, salary_currency, "
    "other_applications_active, thank_you_sent_at, linkedin_connected, notes, received_at, "
    "received_via, called_at, created_at, updated_at, version"
)
FOLLOW_UP_COLUMNS = (
    "id, interview_id, candidate_id, kind, sequence, status, due_at, ideal_by, opened_at, "
    "overdue_at, completed_at, completed_by, late, reminders_sent, escalated_at, escalated_to, "
    "next_notice_at, waived_reason, reminder_interval_days, max_reminders, created_at, "
    "updated_at, version"
)
# Written on insert when the request leaves them out (the service's defaults).
INSERT_DEFAULTS = ("called_at", "challenging_questions")
BOOKKEEPING = {"id", "created_at", "updated_at", "version"}
# The fields a completion changes, as the service's audit lists them.
FOLLOW_UP_FIELDS = '["completed_at","completed_by","status"]'
CANDIDATE_COLUMNS = (
    "id, external_id, full_name, email, phone, linkedin_url, owner_id, timezone, status, "
    "job_search_active, created_at, updated_at, version"
)
NOT_FOUND = Response(b'{"status":404}', status_code=404, media_type="application/json")
BAD = Response(b'{"status":400}', status_code=400, media_type="application/json")

Handler = Callable[[Request], Awaitable[Response]]


def _values(body: dict[str, Any]) -> dict[str, Any]:
    """The request's fields as columns; anything else is ignored (no validation here)."""
    values = {k: body[k] for k in WRITABLE if k in body}
    salary = body.get("salary_expectation")
    if isinstance(salary, dict):
        values["salary_amount"] = Decimal(str(salary["amount"]))
        values["salary_currency"] = str(salary["currency"]).upper()
    for name in ("thank_you_sent_at", "called_at"):
        if isinstance(values.get(name), str):
            values[name] = datetime.fromisoformat(values[name]).astimezone(UTC)
    values.setdefault("channel", "phone")
    return values


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    return str(value)  # asyncpg's UUID and anything else orjson does not know


def _payload(row: dict[str, Any]) -> dict[str, Any]:
    """The debrief as the API shows it (salary gathered back into one object)."""
    amount, currency = row.pop("salary_amount"), row.pop("salary_currency")
    row["salary_expectation"] = (
        None if amount is None else {"amount": str(amount), "currency": currency}
    )
    return row


def _upsert_sql(columns: tuple[str, ...], sqlite: bool) -> str:
    """Insert the debrief; on an interview that has one, write the sent fields over it."""
    names = ("id", "interview_id", *columns, "received_at", "received_via")
    names += ("created_at", "updated_at", "version")
    names += tuple(c for c in INSERT_DEFAULTS if c not in columns)
    marks = ["?"] * len(names) if sqlite else [f"${i}" for i in range(1, len(names) + 1)]
    sets = [f"{c} = excluded.{c}" for c in columns]
    sets += ["updated_at = excluded.updated_at", "version = debriefs.version + 1"]
    return (
        f"INSERT INTO debriefs ({', '.join(names)}) VALUES ({', '.join(marks)}) "
        f"ON CONFLICT (interview_id) DO UPDATE SET {', '.join(sets)} "
        f"RETURNING {DEBRIEF_COLUMNS}"
    )


def _upsert_args(
    interview_id: Any, values: dict[str, Any], now: Any, columns: tuple[str, ...]
) -> list[Any]:
    args = [uuid7(), interview_id, *(values[c] for c in columns), now, "staff", now, now, 1]
    defaults = {"called_at": now, "challenging_questions": "[]"}  # as the service's
    return args + [defaults[c] for c in INSERT_DEFAULTS if c not in columns]


# ------------------------------------------------------------------------ PostgreSQL

PG_INTERVIEW = "SELECT candidate_id FROM interviews WHERE id = $1"
PG_COMPLETE_FOLLOW_UP = (
    "UPDATE follow_ups SET status = 'done', completed_at = $2, completed_by = $3, "
    "late = $2 > due_at, next_notice_at = NULL, updated_at = $2, version = version + 1 "
    "WHERE interview_id = $1 AND kind = 'debrief_call' AND status IN ('pending', 'overdue') "
    f"RETURNING {FOLLOW_UP_COLUMNS}"
)
PG_AUDIT = (
    "INSERT INTO audit_entries (id, occurred_at, actor, action, object_type, object_id, "
    "fields, request_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
)
PG_EVENT = (
    "INSERT INTO events (id, type, occurred_at, data, candidate_id) VALUES ($1, $2, $3, $4, $5)"
)
PG_CANDIDATE = (
    f"INSERT INTO candidates ({CANDIDATE_COLUMNS}) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'active', true, $9, $9, 1)"
)


def postgres_routes(pools: dict[str, asyncpg.Pool]) -> list[Route]:
    upserts: dict[tuple[str, ...], str] = {}

    async def debrief(request: Request) -> Response:
        try:
            interview_id = uuid.UUID(request.path_params["id"])
            values = _values(orjson.loads(await request.body()))
        except (ValueError, KeyError, TypeError):
            return BAD
        if "challenging_questions" in values:
            values["challenging_questions"] = orjson.dumps(values["challenging_questions"]).decode()
        columns = tuple(values)
        sql = upserts.get(columns) or upserts.setdefault(columns, _upsert_sql(columns, False))
        now, rid = datetime.now(UTC), uuid.uuid4().hex
        async with pools["pool"].acquire() as conn, conn.transaction():
            candidate_id = await conn.fetchval(PG_INTERVIEW, interview_id)
            if candidate_id is None:
                return NOT_FOUND
            row = dict(await conn.fetchrow(sql, *_upsert_args(interview_id, values, now, columns)))
            follow_up = await conn.fetchrow(PG_COMPLETE_FOLLOW_UP, interview_id, now, ACTOR)
            created = row["version"] == 1
            fields = sorted(set(WRITABLE if created else columns) - BOOKKEEPING)
            audit = [
                (
                    uuid7(),
                    now,
                    ACTOR,
                    "create" if created else "update",
                    "debrief",
                    str(row["id"]),
                    orjson.dumps(fields).decode(),
                    rid,
                )
            ]
            data = {"debrief": _payload(dict(row)), "candidate_id": str(candidate_id)}
            data["amended"] = not created
            events = [(uuid7(), "debrief.received", now, data, candidate_id)]
            if follow_up is not None:
                audit.append(
                    (
                        uuid7(),
                        now,
                        ACTOR,
                        "update",
                        "follow_up",
                        str(follow_up["id"]),
                        FOLLOW_UP_FIELDS,
                        rid,
                    )
                )
                events.append(
                    (
                        uuid7(),
                        "follow_up.completed",
                        now,
                        {"follow_up": dict(follow_up)},
                        candidate_id,
                    )
                )
            await conn.executemany(PG_AUDIT, audit)
            await conn.execute("SELECT pg_advisory_xact_lock($1)", EVENT_ORDER_LOCK)
            await conn.executemany(
                PG_EVENT,
                [(*e[:3], orjson.dumps(e[3], default=_default).decode(), e[4]) for e in events],
            )
        body = orjson.dumps(_payload(row), default=_default)
        return Response(body, status_code=201 if created else 200, media_type="application/json")

    async def bulk(request: Request) -> Response:
        items = orjson.loads(await request.body())["items"]
        now = datetime.now(UTC)
        rows = [
            (
                uuid7(),
                i["external_id"],
                i["full_name"],
                i.get("email"),
                i.get("phone"),
                i.get("linkedin_url"),
                uuid.UUID(i["owner_id"]),
                i.get("timezone"),
                now,
            )
            for i in items
        ]
        async with pools["pool"].acquire() as conn, conn.transaction():
            await conn.executemany(PG_CANDIDATE, rows)
        return Response(orjson.dumps({"stored": len(rows)}), media_type="application/json")

    return [
        Route("/v1/interviews/{id}/debrief", debrief, methods=["POST"]),
        Route("/v1/candidates/bulk", bulk, methods=["POST"]),
    ]


# ---------------------------------------------------------------------------- SQLite

SQLITE_PRAGMAS = (
    # The service's connection settings (app/db/engine.py).
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA foreign_keys=ON",
    "PRAGMA busy_timeout=30000",
    "PRAGMA secure_delete=ON",
)
SQLITE_COMPLETE_FOLLOW_UP = (
    "UPDATE follow_ups SET status = 'done', completed_at = ?2, completed_by = ?3, "
    "late = ?2 > due_at, next_notice_at = NULL, updated_at = ?2, version = version + 1 "
    "WHERE interview_id = ?1 AND kind = 'debrief_call' AND status IN ('pending', 'overdue') "
    f"RETURNING {FOLLOW_UP_COLUMNS}"
)
SQLITE_AUDIT = (
    "INSERT INTO audit_entries (id, occurred_at, actor, action, object_type, object_id, "
    "fields, request_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)
SQLITE_EVENT = (
    "INSERT INTO events (id, type, occurred_at, data, candidate_id) VALUES (?, ?, ?, ?, ?)"
)
SQLITE_CANDIDATE = (
    f"INSERT INTO candidates ({CANDIDATE_COLUMNS}) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'active', 1, ?, ?, 1)"
)


def _stamp(moment: datetime) -> str:
    """A time as the service stores it on SQLite (UTC, no offset)."""
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f")


def _uuid_out(value: str | None) -> str | None:
    return None if value is None else str(uuid.UUID(value))


def sqlite_routes(state: dict[str, Any]) -> list[Route]:
    upserts: dict[tuple[str, ...], str] = {}

    async def debrief(request: Request) -> Response:
        try:
            interview = uuid.UUID(request.path_params["id"])
            values = _values(orjson.loads(await request.body()))
        except (ValueError, KeyError, TypeError):
            return BAD
        if "challenging_questions" in values:
            values["challenging_questions"] = orjson.dumps(values["challenging_questions"]).decode()
        if "salary_amount" in values:
            values["salary_amount"] = str(values["salary_amount"])
        for name in ("thank_you_sent_at", "called_at"):
            if name in values:
                values[name] = _stamp(values[name])
        columns = tuple(values)
        sql = upserts.get(columns) or upserts.setdefault(columns, _upsert_sql(columns, True))
        now, rid = _stamp(datetime.now(UTC)), uuid.uuid4().hex
        conn: sqlite3.Connection = state["conn"]
        key = interview.hex
        # No await between BEGIN and COMMIT: the transaction runs whole, one at a time.
        conn.execute("BEGIN IMMEDIATE")
        try:
            found = conn.execute("SELECT candidate_id FROM interviews WHERE id = ?", (key,))
            candidate = found.fetchone()
            if candidate is None:
                conn.execute("ROLLBACK")
                return NOT_FOUND
            candidate_id = candidate[0]
            args = _upsert_args(key, values, now, columns)
            args[0] = args[0].hex
            row = dict(conn.execute(sql, args).fetchone())
            follow_up = conn.execute(SQLITE_COMPLETE_FOLLOW_UP, (key, now, ACTOR)).fetchone()
            created = row["version"] == 1
            fields = sorted(set(WRITABLE if created else columns) - BOOKKEEPING)
            audit = [
                (
                    uuid7().hex,
                    now,
                    ACTOR,
                    "create" if created else "update",
                    "debrief",
                    str(uuid.UUID(row["id"])),
                    orjson.dumps(fields).decode(),
                    rid,
                )
            ]
            for name in ("id", "interview_id"):
                row[name] = _uuid_out(row[name])
            row["challenging_questions"] = orjson.loads(row["challenging_questions"] or "[]")
            data = {"debrief": _payload(dict(row)), "candidate_id": _uuid_out(candidate_id)}
            data["amended"] = not created
            events = [(uuid7().hex, "debrief.received", now, data, candidate_id)]
            if follow_up is not None:
                follow_up = dict(follow_up)
                for name in ("id", "interview_id", "candidate_id"):
                    follow_up[name] = _uuid_out(follow_up[name])
                audit.append(
                    (
                        uuid7().hex,
                        now,
                        ACTOR,
                        "update",
                        "follow_up",
                        follow_up["id"],
                        FOLLOW_UP_FIELDS,
                        rid,
                    )
                )
                events.append(
                    (
                        uuid7().hex,
                        "follow_up.completed",
                        now,
                        {"follow_up": follow_up},
                        candidate_id,
                    )
                )
            conn.executemany(SQLITE_AUDIT, audit)
            conn.executemany(
                SQLITE_EVENT,
                [(*e[:3], orjson.dumps(e[3], default=_default).decode(), e[4]) for e in events],
            )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        body = orjson.dumps(_payload(row), default=_default)
        return Response(body, status_code=201 if created else 200, media_type="application/json")

    async def bulk(request: Request) -> Response:
        items = orjson.loads(await request.body())["items"]
        now = _stamp(datetime.now(UTC))
        rows = [
            (
                uuid7().hex,
                i["external_id"],
                i["full_name"],
                i.get("email"),
                i.get("phone"),
                i.get("linkedin_url"),
                uuid.UUID(i["owner_id"]).hex,
                i.get("timezone"),
                now,
                now,
            )
            for i in items
        ]
        conn: sqlite3.Connection = state["conn"]
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.executemany(SQLITE_CANDIDATE, rows)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return Response(orjson.dumps({"stored": len(rows)}), media_type="application/json")

    return [
        Route("/v1/interviews/{id}/debrief", debrief, methods=["POST"]),
        Route("/v1/candidates/bulk", bulk, methods=["POST"]),
    ]
