"""The bulk upserts' work, shared by every domain that offers one: each item validated on
its own, matched by external_id, created or changed in one statement, audited and evented."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any, TypeVar

from pydantic import BaseModel, TypeAdapter, ValidationError
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit import service as audit
from app.bulk.schemas import BulkOut, ItemError, ItemResult, Status
from app.db.patch import apply_changes, changed_fields
from app.db.queries import by_external_ids
from app.db.slices import tick
from app.errors import FieldError, ValidationFailed, validation_errors
from app.events import service as events
from app.ids import uuid7

M = TypeVar("M", bound=BaseModel)
# New rows a multi-row INSERT: SQLAlchemy processes an INSERT's parameters without handing
# the event loop back, 5 to 20 ms for 1,000 rows (a fast core and a slow one); so a hundred
# at a time, a tick between (app/db/slices.py).
INSERT_ROWS = 100
# Changed rows a flush: a flush (its UPDATEs, the audit listener) cannot hand the loop back,
# and for 1,000 changed rows it held it for 15-30 ms.
FLUSH_ROWS = 100


class Outcome:
    """The results of one bulk call, filled in item by item."""

    def __init__(self, count: int) -> None:
        self.results: dict[int, ItemResult] = {}
        self.count = count

    def fail(self, index: int, detail: str, errors: Sequence[FieldError] = ()) -> None:
        self.results[index] = ItemResult(
            index=index, status="error", error=ItemError(detail=detail, errors=list(errors))
        )

    def fail_field(self, index: int, field: str, message: str) -> None:
        error = FieldError(field=field, location="body", message=message, type="value_error")
        self.fail(index, f"{field}: {message}", [error])

    def done(self, index: int, status: Status, object_id: uuid.UUID) -> None:
        self.results[index] = ItemResult(index=index, status=status, id=object_id)

    def failed(self, index: int) -> bool:
        return index in self.results and self.results[index].status == "error"

    def raise_if_any_failed(self) -> None:
        """For atomic calls: one bad item and nothing is stored."""
        bad = sorted((i, r) for i, r in self.results.items() if r.status == "error")
        if not bad:
            return
        errors = []
        for index, result in bad:
            assert result.error is not None
            for error in result.error.errors or [
                FieldError(
                    field="", location="body", message=result.error.detail, type="value_error"
                )
            ]:
                field = f"items.{index}.{error.field}".rstrip(".")
                errors.append(error.model_copy(update={"field": field}))
        raise ValidationFailed(
            f"{len(bad)} of {self.count} items are not valid; nothing was stored.", errors=errors
        )

    def out(self) -> BulkOut:
        return BulkOut(results=[self.results[i] for i in range(self.count)])


async def _store_changes(
    session: AsyncSession, changes: list[tuple[Any, dict[str, Any]]], *, now: datetime
) -> None:
    """The changed rows, set and flushed `FLUSH_ROWS` at a time with a tick between. They go
    in the order of their primary key, the order one flush of them all would update (and so
    lock) them in: two calls changing the same rows still lock them in the same order."""
    changes.sort(key=lambda change: change[0].id)
    for start in range(0, len(changes), FLUSH_ROWS):
        await tick()
        for row, values in changes[start : start + FLUSH_ROWS]:
            apply_changes(row, values, now=now)
        await session.flush()
    await session.flush()  # whatever else the call changed, as before


def updated_ids(out: BulkOut) -> list[uuid.UUID]:
    """The ids of the objects a bulk call changed (not those it created)."""
    return [r.id for r in out.results if r.status == "updated" and r.id is not None]


def validate_items(
    items: list[dict[str, Any]], adapter: TypeAdapter[M], outcome: Outcome
) -> list[tuple[int, M]]:
    """Each item through its schema; the bad ones are recorded in `outcome`. Items repeating
    an external_id already in this call are refused too."""
    valid: list[tuple[int, M]] = []
    first_index: dict[str, int] = {}
    for index, raw in enumerate(items):
        _validate_one(index, raw, adapter, outcome, first_index, valid)
    return valid


async def validated(
    items: list[dict[str, Any]], adapter: TypeAdapter[M], outcome: Outcome
) -> list[tuple[int, M]]:
    """`validate_items`, handing the event loop back between items (app/db/slices.py)."""
    valid: list[tuple[int, M]] = []
    first_index: dict[str, int] = {}
    for index, raw in enumerate(items):
        await tick()
        _validate_one(index, raw, adapter, outcome, first_index, valid)
    return valid


def _validate_one(
    index: int,
    raw: dict[str, Any],
    adapter: TypeAdapter[M],
    outcome: Outcome,
    first_index: dict[str, int],
    valid: list[tuple[int, M]],
) -> None:
    try:
        model = adapter.validate_python(raw)
    except ValidationError as exc:
        errors = validation_errors(exc.errors(), location="body")
        outcome.fail(index, "; ".join(f"{e.field}: {e.message}" for e in errors), errors)
        return
    external_id = getattr(model, "external_id", None)
    if external_id in first_index:
        outcome.fail_field(
            index, "external_id", f"repeats item {first_index[external_id]} of this call"
        )
        return
    if external_id is not None:
        first_index[external_id] = index
    valid.append((index, model))


async def upsert(
    *,
    session: AsyncSession,
    model: type[Any],
    items: list[dict[str, Any]],
    adapter: TypeAdapter[M],
    atomic: bool,
    now: datetime,
    refuse: Callable[[M], tuple[str, str] | None] = lambda _: None,
    events_as: tuple[str, Callable[[Any], dict[str, Any]]] | None = None,
    after_update: Callable[[Any, list[str]], Awaitable[None]] | None = None,
) -> BulkOut:
    """Create or update rows of `model` by external_id. `refuse` names a field at fault and
    why (after the schema passed); `events_as` is (the event prefix, the payload builder);
    `after_update` is told of each row changed, with the fields that changed."""
    outcome = Outcome(len(items))
    valid = await validated(items, adapter, outcome)
    wanted = [getattr(m, "external_id") for _, m in valid]  # noqa: B009 - M is any schema with it
    existing = await by_external_ids(session, model, wanted)
    created: list[dict[str, Any]] = []
    updated: list[tuple[Any, list[str]]] = []
    changes: list[tuple[Any, dict[str, Any]]] = []
    for index, item in valid:
        await tick()
        refused = refuse(item)
        if refused is not None:
            outcome.fail_field(index, *refused)
            continue
        row = existing.get(getattr(item, "external_id"))  # noqa: B009
        if row is None:
            values = {
                "id": uuid7(),
                **item.model_dump(),
                "created_at": now,
                "updated_at": now,
                "version": 1,
            }
            created.append(values)
            outcome.done(index, "created", values["id"])
            continue
        values = item.model_dump(include=item.model_fields_set)
        changed = changed_fields(row, values)
        if changed:
            updated.append((row, changed))
            changes.append((row, values))
        outcome.done(index, "updated" if changed else "unchanged", row.id)
    if atomic:
        outcome.raise_if_any_failed()
    for start in range(0, len(created), INSERT_ROWS):  # multi-row INSERTs, no ORM objects
        await tick()
        await session.execute(insert(model.__table__), created[start : start + INSERT_ROWS])
    if created:
        await audit.record_many(session, model, "create", ((v["id"], v) for v in created))
    await _store_changes(session, changes, now=now)
    if events_as is not None:
        prefix, payload = events_as
        for values in created:
            await tick()
            events.record(session, f"{prefix}.created", payload(values), now=now)
        for row, changed in updated:
            await tick()
            events.record(
                session, f"{prefix}.updated", {**payload(row), "changed": changed}, now=now
            )
    if after_update is not None:
        for row, changed in updated:
            await tick()
            await after_update(row, changed)
    return outcome.out()
