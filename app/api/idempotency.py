"""Idempotency-Key on POST: the first answer is stored with the change and replayed for 24 h.

The record is written in the same transaction as the change it answers, so a stored reply
always means a stored change. A second request with the same key while the first is still
running is refused with 409 (an in-process set, and on PostgreSQL a transaction-level
advisory lock that every replica sees); the same key with a different request is 422.

What is stored is not a second key store, nor a second copy of a person:
- the caller is authenticated first, and an answer is replayed only to the live API key
  (by id) that got it; a revoked key gets 401 like any other request;
- an answer that carries a secret shown once (a new API key, a webhook secret, a debrief
  link's token) is not kept: its route declares `NOT_REPLAYABLE`, and a retry is answered
  409 `idempotency-not-replayable`;
- each answer names the candidates it is about (`idempotency_subjects`, from every id in
  the request and the answer), so erasure deletes it and the subject access export shows it;
- the sweep deletes answers older than 24 hours (`purge_expired`).
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

import orjson
from fastapi import Depends, Request
from sqlalchemy import RowMapping, delete, insert, select, text, union
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.engine import Database
from app.db.queries import read_all, read_one
from app.db.transaction import transaction
from app.db.unit_of_work import unit_of_work
from app.errors import Conflict
from app.ids import uuid7
from app.models import (
    Candidate,
    Debrief,
    DebriefLink,
    EmployerFeedback,
    Event,
    FollowUp,
    IdempotencyRecord,
    IdempotencySubject,
    Interview,
    WebhookDelivery,
)

HEADER = "idempotency-key"
KEEP_FOR = timedelta(hours=24)
MAX_KEY_LENGTH = 255
# Printable ASCII, no leading or trailing space (HTTP strips those anyway), 1 to 255 long.
KEY_PATTERN = r"^[!-~]([ -~]{0,253}[!-~])?$"
_KEY = re.compile(KEY_PATTERN)


def valid_key(key: str) -> bool:
    return _KEY.fullmatch(key) is not None


REPLAYED_HEADERS = ("content-type", "location", "etag")


_BOUNDARY = re.compile(r"boundary=(\"?)([^\";]{1,200})\1", re.IGNORECASE)


def fingerprint(
    method: str, path: str, query: bytes, body: bytes, *, content_type: str | None = None
) -> str:
    """What makes two requests the same. A multipart body is compared without its boundary,
    which a client draws at random each time it builds the request (a retry of the same
    upload would otherwise differ)."""
    found = _BOUNDARY.search(content_type or "")
    if found is not None and (content_type or "").lower().startswith("multipart/"):
        body = body.replace(b"--" + found.group(2).encode("latin-1"), b"--boundary")
    digest = hashlib.sha256()
    for part in (method.encode(), path.encode(), query, body):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


async def lock(session: AsyncSession, key_id: uuid.UUID, key: str) -> bool:
    """PostgreSQL: hold the key for this transaction; False if another replica holds it."""
    if session.get_bind().dialect.name != "postgresql":
        return True
    result = await session.execute(
        text("SELECT pg_try_advisory_xact_lock(hashtextextended(:name, 0))"),
        {"name": f"idempotency:{key_id}:{key}"},
    )
    return bool(result.scalar())


async def find(db: Database, key_id: uuid.UUID, key: str, *, now: datetime) -> RowMapping | None:
    """The stored answer, read through the autocommit read engine: the lookup takes no
    lock, so a handler that runs its own transactions (sweeps) cannot wait on it."""
    return await read_one(
        db,
        select(IdempotencyRecord.__table__).where(
            IdempotencyRecord.key_id == key_id,
            IdempotencyRecord.key == key,
            IdempotencyRecord.created_at > now - KEEP_FOR,
        ),
    )


async def forget_expired(
    session: AsyncSession, *, now: datetime, key_id: uuid.UUID | None = None, key: str | None = None
) -> int:
    """Delete records past 24 h (all of them, or the one for this key); their subjects go
    with them (ON DELETE CASCADE)."""
    stmt = delete(IdempotencyRecord).where(IdempotencyRecord.created_at <= now - KEEP_FOR)
    if key_id is not None and key is not None:
        stmt = stmt.where(IdempotencyRecord.key_id == key_id, IdempotencyRecord.key == key)
    result = await session.execute(stmt)
    return int(result.rowcount)  # type: ignore[attr-defined]


async def purge_expired(db: Database, *, now: datetime) -> int:
    """The sweep's part: delete every stored answer older than 24 hours."""
    async with transaction(db, now=now) as session:
        return await forget_expired(session, now=now)


async def remember(
    session: AsyncSession,
    *,
    key_id: uuid.UUID,
    key: str,
    path: str,
    request_hash: str,
    status: int,
    headers: dict[str, str],
    body: str | None,
    subjects: Iterable[uuid.UUID],
    now: datetime,
) -> None:
    """Store the answer (`body` None: not kept) in the change's own transaction, after
    removing an expired record of the same key, which would otherwise block the insert."""
    await forget_expired(session, now=now, key_id=key_id, key=key)
    answer_id = uuid7()
    await session.execute(
        insert(IdempotencyRecord).values(
            id=answer_id,
            key_id=key_id,
            key=key,
            path=path[:2000],
            request_hash=request_hash,
            status_code=status,
            headers=headers,
            body=body,
            created_at=now,
        )
    )
    rows = [{"answer_id": answer_id, "candidate_id": c} for c in sorted(set(subjects))]
    if rows:
        await session.execute(insert(IdempotencySubject), rows)


# --- Which answers carry a secret ---------------------------------------------------------

_NOT_REPLAYABLE = "idempotency_not_replayable"


def _answer_carries_a_secret(request: Request) -> None:
    request.scope.setdefault("state", {})[_NOT_REPLAYABLE] = True


# On a route (`dependencies=[NOT_REPLAYABLE]`) whose answer carries a secret shown once.
NOT_REPLAYABLE = Depends(_answer_carries_a_secret)


def answer_carries_a_secret(scope: Any) -> bool:
    """Whether the route that answered this request declared `NOT_REPLAYABLE`."""
    return bool(scope.get("state", {}).get(_NOT_REPLAYABLE))


class NotReplayable(Conflict):
    slug = "idempotency-not-replayable"
    title = "The first answer cannot be replayed"


def not_replayable(stored: RowMapping) -> NotReplayable:
    where = stored["headers"].get("location")
    found = f" What it created is at {where}." if where else ""
    return NotReplayable(
        "A request with this Idempotency-Key already succeeded, but its answer carried a "
        "secret shown only once, so it was not kept and cannot be sent again. Nothing was "
        f"changed now.{found} If you lost the secret, issue a new one."
    )


# --- Whom an answer is about ---------------------------------------------------------------

_UUID = re.compile(
    r"[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}"
)
_CHUNK = 500


def ids_in(*texts: str | bytes) -> set[uuid.UUID]:
    found: set[uuid.UUID] = set()
    for part in texts:
        value = part.decode("utf-8", "replace") if isinstance(part, bytes) else part
        found.update(uuid.UUID(m) for m in _UUID.findall(value))
    return found


def _owners(ids: list[uuid.UUID]) -> Any:
    """The candidates any of these ids is, or belongs to (an interview, a follow-up, a debrief,
    employer feedback, a link, an event, a webhook delivery)."""

    def through_interview(model: Any) -> Any:
        return (
            select(Interview.candidate_id)
            .join(model, model.interview_id == Interview.id)
            .where(model.id.in_(ids))
        )

    return union(
        select(Candidate.id).where(Candidate.id.in_(ids)),
        select(Interview.candidate_id).where(Interview.id.in_(ids)),
        select(FollowUp.candidate_id).where(FollowUp.id.in_(ids)),
        through_interview(Debrief),
        through_interview(EmployerFeedback),
        through_interview(DebriefLink),
        select(Event.candidate_id).where(Event.id.in_(ids), Event.candidate_id.is_not(None)),
        select(Event.candidate_id)
        .join(WebhookDelivery, WebhookDelivery.event_id == Event.id)
        .where(WebhookDelivery.id.in_(ids), Event.candidate_id.is_not(None)),
    )


async def subjects(session: AsyncSession, *texts: str | bytes) -> set[uuid.UUID]:
    """The candidates a request and its answer are about: every id in them (path, body,
    answer, Location) that is a candidate or one of theirs, and the candidates of the events
    the transaction records. Read in the change's own transaction, so what it created counts.
    """
    found: set[uuid.UUID] = {
        e["candidate_id"] for e in unit_of_work(session).events if e.get("candidate_id")
    }
    ids = sorted(ids_in(*texts))
    for start in range(0, len(ids), _CHUNK):
        result = await session.execute(_owners(ids[start : start + _CHUNK]))
        found.update(result.scalars())
    return found


# --- Erasure and export --------------------------------------------------------------------


async def forget_about(session: AsyncSession, candidate_id: uuid.UUID) -> int:
    """Erasure's part: delete every stored answer about this candidate."""
    about = select(IdempotencySubject.answer_id).where(
        IdempotencySubject.candidate_id == candidate_id
    )
    result = await session.execute(
        delete(IdempotencyRecord).where(IdempotencyRecord.id.in_(about)),
        execution_options={"synchronize_session": False},
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


async def answers_about(db: Database, candidate_id: uuid.UUID) -> list[dict[str, Any]]:
    """The export's part: every stored answer about this candidate, metadata and body."""
    about = select(IdempotencySubject.answer_id).where(
        IdempotencySubject.candidate_id == candidate_id
    )
    rows = await read_all(
        db,
        select(
            IdempotencyRecord.id,
            IdempotencyRecord.key,
            IdempotencyRecord.key_id,
            IdempotencyRecord.path,
            IdempotencyRecord.status_code,
            IdempotencyRecord.created_at,
            IdempotencyRecord.body,
        )
        .where(IdempotencyRecord.id.in_(about))
        .order_by(IdempotencyRecord.created_at, IdempotencyRecord.id),
    )
    return [
        {
            "id": row["id"],
            "idempotency_key": row["key"],
            "api_key_id": row["key_id"],
            "method": "POST",
            "path": row["path"],
            "status": row["status_code"],
            "stored_at": row["created_at"],
            "expires_at": row["created_at"] + KEEP_FOR,
            "body": _parsed(row["body"]),
        }
        for row in rows
    ]


def _parsed(body: str | None) -> Any:
    if body is None:
        return None
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        return body
