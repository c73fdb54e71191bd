"""Candidates: create and change them; their owner must be a staff member."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pydantic import TypeAdapter
from sqlalchemy.ext.asyncio import AsyncSession

from app.bulk import service as bulk
from app.bulk.schemas import BulkOut
from app.candidates import repository
from app.candidates.erasure import erased_external_ids, refuse_if_erased
from app.candidates.schemas import (
    CandidateCreate,
    CandidatePatch,
    CandidateUpsert,
    candidate_payload,
)
from app.config import Settings
from app.db.engine import Database
from app.db.patch import apply_changes, patch_values
from app.db.queries import external_id_taken
from app.db.slices import batched
from app.db.versions import require_if_match
from app.debrief_queue import service as debrief_queue
from app.errors import Conflict, NotFound, ValidationFailed
from app.events import service as events
from app.followups import service as followups
from app.models import Candidate
from app.staff.service import existing_staff_ids, staff_exists


async def _check_references(
    session: AsyncSession,
    settings: Settings,
    values: dict[str, Any],
    *,
    candidate_id: uuid.UUID | None,
) -> None:
    external_id = values.get("external_id")
    await refuse_if_erased(session, settings, external_id)
    if external_id and await external_id_taken(
        session, Candidate, external_id, excluding=candidate_id
    ):
        raise Conflict(f"A candidate with external_id {external_id!r} already exists.")
    owner_id = values.get("owner_id")
    if owner_id is not None and not await staff_exists(session, owner_id):
        raise ValidationFailed.field("owner_id", "no staff member has this id")


async def live_candidate(session: AsyncSession, candidate_id: uuid.UUID) -> Candidate:
    """A candidate to change: 404 if there is none, or they were erased."""
    # FOR NO KEY UPDATE (as an erasure): a write holding one of their interviews that inserts
    # a follow-up still passes the foreign-key check while this waits for that interview's
    # follow-ups.
    candidate = await session.get(Candidate, candidate_id, with_for_update={"key_share": True})
    if candidate is None or candidate.erased_at is not None:
        raise NotFound.of("candidate", candidate_id)
    return candidate


async def create_candidate(
    *, session: AsyncSession, settings: Settings, data: CandidateCreate, now: datetime
) -> Candidate:
    """Add a candidate (not one whose external_id was erased)."""
    values = data.model_dump()
    await _check_references(session, settings, values, candidate_id=None)
    candidate = Candidate(**values, created_at=now, updated_at=now)
    session.add(candidate)
    await session.flush()
    events.record(session, "candidate.created", candidate_payload(candidate), now=now)
    return candidate


async def update_candidate(
    *,
    session: AsyncSession,
    settings: Settings,
    candidate_id: uuid.UUID,
    patch: CandidatePatch,
    if_match: str | None,
    now: datetime,
) -> tuple[Candidate, list[str]]:
    """Change a candidate (If-Match required); returns it with the fields that changed."""
    candidate = await live_candidate(session, candidate_id)
    require_if_match(if_match, candidate.version)
    values = patch_values(patch, not_null=("full_name", "status", "job_search_active"))
    await _check_references(session, settings, values, candidate_id=candidate.id)
    if values.get("status", candidate.status) != candidate.status:
        # Their interviews before their own fields, as an erasure does (app/candidates/erased.py).
        await followups.hold_for_candidate_change(session, candidate.id)
    changed = apply_changes(candidate, values, now=now)
    await session.flush()
    await debrief_queue.candidates_changed(session, [candidate.id], changed)
    if changed:
        events.record(
            session,
            "candidate.updated",
            {**candidate_payload(candidate), "changed": changed},
            now=now,
        )
    await _status_changed(session, candidate, changed, now=now)
    return candidate, changed


async def _status_changed(
    session: AsyncSession, candidate: Candidate, changed: list[str], *, now: datetime
) -> None:
    """A candidate who withdrew, was placed or archived (or came back) has their open follow-ups
    waived (or opened again) by the follow-up rules."""
    if "status" in changed:
        await followups.candidate_changed(session, candidate.id, now=now)


_UPSERT = TypeAdapter(CandidateUpsert)


@batched  # its ticks wait for the reads in flight (app/db/slices.py)
async def upsert_candidates(
    *,
    session: AsyncSession,
    settings: Settings,
    items: list[dict[str, Any]],
    atomic: bool,
    now: datetime,
) -> BulkOut:
    """Create or update up to 1,000 candidates by external_id, in one transaction. An
    external_id whose candidate was erased is refused, item by item."""
    given = [item for item in items if isinstance(item, dict)]
    owners = {item.get("owner_id") for item in given if item.get("owner_id")}
    known = {str(i) for i in await existing_staff_ids(session, _uuids(owners))}
    erased = await erased_external_ids(
        session, settings, [str(i["external_id"]) for i in given if i.get("external_id")]
    )
    # A status change waives or reopens follow-ups: the candidate, then their interviews, before
    # the rows change (the order of a single change and of an erasure).
    statuses = {
        str(i["external_id"]): i["status"]
        for i in given
        if i.get("external_id") and isinstance(i.get("status"), str)
    }
    for candidate_id in await repository.lock_if_status_changes(session, statuses):
        await followups.hold_for_candidate_change(session, candidate_id)

    def refuse(item: CandidateUpsert) -> tuple[str, str] | None:
        if item.external_id in erased:
            return (
                "external_id",
                f"belonged to a candidate erased on {erased[item.external_id]:%Y-%m-%d}",
            )
        if item.owner_id is not None and str(item.owner_id) not in known:
            return "owner_id", "no staff member has this id"
        return None

    out = await bulk.upsert(
        session=session,
        model=Candidate,
        items=items,
        adapter=_UPSERT,
        atomic=atomic,
        now=now,
        refuse=refuse,
        events_as=("candidate", candidate_payload),
        after_update=lambda row, changed: _status_changed(session, row, changed, now=now),
    )
    await debrief_queue.candidates_changed(session, bulk.updated_ids(out))
    return out


def _uuids(values: set[Any]) -> set[uuid.UUID]:
    ids = set()
    for value in values:
        try:
            ids.add(uuid.UUID(str(value)))
        except ValueError:
            continue  # the schema reports it
    return ids


async def read_candidate(db: Database, candidate_id: uuid.UUID) -> Mapping[str, Any] | None:
    """One candidate with its overdue flags, outside a transaction (the hot read)."""
    return await repository.BY_ID.one(db, candidate_id=candidate_id)
