"""The audit log: every create, change and delete of the objects people manage, with who did
it and which fields. Never the values.

Its rows are taken as the ORM flushes and queued on the transaction's unit of work; the
outbox writes them with the transaction's events just before COMMIT
(`app.events.service.write_pending`). Rows written in bulk without the ORM (bulk upserts)
are recorded with `record`. The sweep's automatic changes are not audited: each of them
writes an event instead.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import event, inspect
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, UOWTransaction

from app.db.engine import Database
from app.db.slices import tick
from app.db.transaction import add_pre_commit_hook
from app.db.unit_of_work import UnitOfWork, unit_of_work
from app.events.service import write_pending
from app.ids import request_id, uuid7
from app.models import (
    ApiKey,
    Candidate,
    Client,
    Debrief,
    DebriefLink,
    EmployerFeedback,
    FollowUp,
    ImportJob,
    Interview,
    Setting,
    Staff,
    WebhookEndpoint,
)

AUDITED: dict[type[Any], str] = {
    Candidate: "candidate",
    Client: "client",
    Interview: "interview",
    Debrief: "debrief",
    EmployerFeedback: "employer_feedback",
    FollowUp: "follow_up",
    Staff: "staff",
    ApiKey: "api_key",
    WebhookEndpoint: "webhook",
    Setting: "setting",
    DebriefLink: "debrief_link",
    ImportJob: "import",
}
_BOOKKEEPING = {"updated_at", "version", "created_at"}


def _when(work: UnitOfWork) -> datetime:
    if work.now is None:  # the clock is the only source of "now": a unit of work carries it
        raise RuntimeError("an audited change needs its transaction's time (transaction(now=))")
    if work.now.tzinfo is None:  # as `UTCDateTime` refuses it: the rows skip its check
        raise ValueError("naive datetimes are not stored; give a time zone")
    return work.now


def _row(
    session: Session, action: str, object_type: str, object_id: Any, fields: Iterable[str]
) -> dict[str, Any]:
    work = unit_of_work(session)
    return {
        "id": uuid7(),
        "occurred_at": _when(work),
        "actor": work.actor,
        "action": action,
        "object_type": object_type,
        "object_id": str(object_id),
        "fields": sorted(set(fields) - _BOOKKEEPING),
        "request_id": request_id.get(),
    }


def _identity(obj: Any) -> Any:
    return getattr(obj, "id", None) or getattr(obj, "key", None)


def _changed_fields(obj: Any) -> list[str]:
    """The attributes whose value changed: only those set since the load have a history
    (`committed_state`), so only they are compared (the models have columns only)."""
    state = inspect(obj)
    return [key for key in state.committed_state if state.attrs[key].history.has_changes()]


def _after_flush(session: Session, _flush: UOWTransaction) -> None:
    rows = []
    for obj in session.new:
        kind = AUDITED.get(type(obj))
        if kind is not None:
            fields = [a.key for a in inspect(obj).attrs if a.value is not None]
            rows.append(_row(session, "create", kind, _identity(obj), fields))
    for obj in session.dirty:
        kind = AUDITED.get(type(obj))
        if kind is not None and set(fields := _changed_fields(obj)) - _BOOKKEEPING:
            rows.append(_row(session, "update", kind, _identity(obj), fields))
    for obj in session.deleted:
        kind = AUDITED.get(type(obj))
        if kind is not None:
            rows.append(_row(session, "delete", kind, _identity(obj), []))
    _queue(session, rows)


def _queue(session: Session, rows: list[dict[str, Any]]) -> None:
    if rows:
        unit_of_work(session).audit.extend(rows)
        add_pre_commit_hook(session, write_pending)


def record(
    session: AsyncSession,
    model: type[Any],
    action: str,
    changes: Iterable[tuple[Any, Iterable[str]]],
) -> None:
    """Audit rows for objects written without the ORM (the bulk upserts' new rows)."""
    sync = session.sync_session
    _queue(sync, [_row(sync, action, AUDITED[model], oid, fields) for oid, fields in changes])


async def record_many(
    session: AsyncSession,
    model: type[Any],
    action: str,
    changes: Iterable[tuple[Any, Iterable[str]]],
) -> None:
    """`record` for many objects, handing the event loop back between them
    (app/db/slices.py)."""
    sync = session.sync_session
    rows = []
    for oid, fields in changes:
        await tick()
        rows.append(_row(sync, action, AUDITED[model], oid, fields))
    _queue(sync, rows)


def install(db: Database) -> None:
    """Listen to the flushes of `db`'s sessions."""
    if not event.contains(db.session_class, "after_flush", _after_flush):
        event.listen(db.session_class, "after_flush", _after_flush)
