"""Interviews: schedule, reschedule, cancel, record the outcome."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import TypeAdapter, ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.bulk.schemas import BulkOut
from app.bulk.service import Outcome, validated
from app.candidates.erased import refuse_if_candidate_erased
from app.candidates.erasure import erased_external_ids
from app.config import Settings
from app.db.patch import apply_changes, patch_values
from app.db.queries import by_external_ids, external_id_taken, get_for_update, ids_by_external_id
from app.db.slices import batched
from app.db.unit_of_work import unit_of_work
from app.db.versions import require_if_match
from app.debrief_queue import service as debrief_queue
from app.errors import (
    AppError,
    CandidateErased,
    Conflict,
    FieldError,
    ValidationFailed,
    validation_errors,
)
from app.events import service as events
from app.followups import service as followups
from app.interviews.schemas import (
    InterviewCreate,
    InterviewPatch,
    InterviewUpsert,
    interview_payload,
)
from app.models import Candidate, Client, Interview

DEFAULT_DURATION_MINUTES = 60


def resolve_end(
    starts_at: datetime, ends_at: datetime | None, duration_minutes: int | None
) -> tuple[datetime, int]:
    """The interview's end and length: ends_at if given, else starts_at + duration (60)."""
    if ends_at is None:
        minutes = duration_minutes or DEFAULT_DURATION_MINUTES
        return starts_at + timedelta(minutes=minutes), minutes
    if ends_at <= starts_at:
        raise ValidationFailed.field("ends_at", "must be after starts_at")
    span = round((ends_at - starts_at).total_seconds() / 60)
    if duration_minutes is not None and duration_minutes != span:
        raise ValidationFailed.field(
            "duration_minutes", f"disagrees with ends_at ({span} minutes after starts_at)"
        )
    if span > 1440:
        raise ValidationFailed.field("ends_at", "an interview lasts at most 24 hours")
    return ends_at, max(span, 1)


async def _check_parties(
    session: AsyncSession, candidate_id: uuid.UUID, client_id: uuid.UUID
) -> None:
    errors = []
    # Share-locked: an erasure under way finishes first, and is then seen.
    if not await refuse_if_candidate_erased(session, candidate_id, wait=True):
        errors.append(
            FieldError(
                field="candidate_id",
                location="body",
                message="no candidate has this id",
                type="value_error",
            )
        )
    # Share-locked too: a rename of the client under way (which locks its interviews to
    # write the overdue queue's rows, app/debrief_queue) finishes first.
    if await session.get(Client, client_id, with_for_update={"read": True}) is None:
        errors.append(
            FieldError(
                field="client_id",
                location="body",
                message="no client has this id",
                type="value_error",
            )
        )
    if errors:
        raise ValidationFailed("The interview refers to objects that do not exist.", errors=errors)


def _check_next_stage(outcome: str, next_stage: str | None) -> None:
    if next_stage is not None and outcome != "next_round":
        raise ValidationFailed.field("next_stage", "is only for an outcome of next_round")


async def create_interview(
    *, session: AsyncSession, data: InterviewCreate, actor: str, now: datetime
) -> Interview:
    """Schedule (or record) an interview; one that has already ended gets its follow-ups at once,
    unless it is history (or sent with `track_follow_ups: false`)."""
    _check_next_stage(data.outcome, data.next_stage)
    if data.external_id and await external_id_taken(session, Interview, data.external_id):
        raise Conflict(f"An interview with external_id {data.external_id!r} already exists.")
    await _check_parties(session, data.candidate_id, data.client_id)
    values = data.model_dump(
        exclude={"ends_at", "duration_minutes", "track_follow_ups"}, mode="python"
    )
    values["interviewers"] = [p.model_dump(exclude_none=True) for p in data.interviewers]
    values["point_of_contact"] = (
        data.point_of_contact.model_dump(exclude_none=True) if data.point_of_contact else None
    )
    ends_at, minutes = resolve_end(data.starts_at, data.ends_at, data.duration_minutes)
    tracked = await followups.tracks_follow_ups(
        session, ends_at=ends_at, requested=data.track_follow_ups, now=now
    )
    interview = Interview(
        **values,
        ends_at=ends_at,
        duration_minutes=minutes,
        follow_ups_tracked=tracked,
        outcome_recorded_at=now if data.outcome != "pending" else None,
        created_at=now,
        updated_at=now,
    )
    session.add(interview)
    await session.flush()
    events.record(session, "interview.scheduled", interview_payload(interview), now=now)
    if interview.outcome != "pending":
        events.record(session, "interview.outcome_recorded", interview_payload(interview), now=now)
    await followups.interview_changed(
        session, interview, [], actor=actor, now=now, mark_completed=mark_completed, created=True
    )
    return interview


def _timing(interview: Interview, values: dict[str, Any]) -> dict[str, Any]:
    """Re-derive ends_at/duration from what the PATCH sent (a moved start keeps the length)."""
    if not {"starts_at", "ends_at", "duration_minutes"} & values.keys():
        return {}
    starts_at = values.get("starts_at", interview.starts_at)
    if "ends_at" in values and values["ends_at"] is not None:
        ends_at, minutes = resolve_end(starts_at, values["ends_at"], values.get("duration_minutes"))
    else:
        minutes = values.get("duration_minutes", interview.duration_minutes)
        ends_at, minutes = resolve_end(starts_at, None, minutes)
    return {"starts_at": starts_at, "ends_at": ends_at, "duration_minutes": minutes}


async def update_interview(
    *,
    session: AsyncSession,
    interview_id: uuid.UUID,
    patch: InterviewPatch,
    if_match: str | None,
    actor: str,
    now: datetime,
) -> tuple[Interview, list[str]]:
    """Change an interview (If-Match required); returns it with the fields that changed."""
    interview = await get_for_update(session, Interview, interview_id, "interview")
    require_if_match(if_match, interview.version)
    changed = await apply_patch(session, interview, patch, actor=actor, now=now)
    return interview, changed


async def apply_patch(
    session: AsyncSession, interview: Interview, patch: InterviewPatch, *, actor: str, now: datetime
) -> list[str]:
    """Apply the fields a PATCH (or a bulk upsert) sent, with their events and follow-ups."""
    # Locked before the check (a bulk upsert loads its interviews unlocked): an erasure under
    # way holds the interview, so this waits for it and then sees it.
    await session.execute(
        select(Interview.id).where(Interview.id == interview.id).with_for_update()
    )
    await refuse_if_candidate_erased(session, interview.candidate_id)
    values = patch_values(
        patch,
        not_null=("job_title", "stage", "format", "starts_at", "interviewers", "status", "outcome"),
    )
    if values.get("external_id") and await external_id_taken(
        session, Interview, values["external_id"], excluding=interview.id
    ):
        raise Conflict(f"An interview with external_id {values['external_id']!r} already exists.")
    if "interviewers" in values:
        values["interviewers"] = [p.model_dump(exclude_none=True) for p in patch.interviewers or []]
    if "point_of_contact" in values and patch.point_of_contact is not None:
        values["point_of_contact"] = patch.point_of_contact.model_dump(exclude_none=True)
    values.update(_timing(interview, values))
    # Null asks for the decision by age, made once when the interview was recorded.
    track = values.pop("track_follow_ups", None)
    if track is not None:
        values["follow_ups_tracked"] = track
    outcome = values.get("outcome", interview.outcome)
    if "outcome" in values and outcome != "next_round" and "next_stage" not in values:
        values["next_stage"] = None
    _check_next_stage(outcome, values.get("next_stage", interview.next_stage))
    if values.get("outcome", interview.outcome) != interview.outcome:
        values["outcome_recorded_at"] = now if outcome != "pending" else None
    changed = apply_changes(interview, values, now=now)
    await session.flush()
    await record_interview_change(session, interview, changed, actor=actor, now=now)
    return changed


async def record_interview_change(
    session: AsyncSession, interview: Interview, changed: list[str], *, actor: str, now: datetime
) -> None:
    """The events of a change to an interview, and its follow-ups brought in line."""
    if not changed:
        return
    payload = interview_payload(interview)
    events.record(session, "interview.updated", {**payload, "changed": changed}, now=now)
    if "status" in changed and interview.status == "cancelled":
        events.record(session, "interview.cancelled", payload, now=now)
    if "outcome" in changed and interview.outcome != "pending":
        events.record(session, "interview.outcome_recorded", payload, now=now)
    await followups.interview_changed(
        session, interview, changed, actor=actor, now=now, mark_completed=mark_completed
    )
    await debrief_queue.interviews_changed(session, [interview.id], changed)


async def mark_completed(session: AsyncSession, interview: Interview, now: datetime) -> None:
    """A scheduled interview whose end has passed is completed (its follow-ups are opening)."""
    if interview.status == "scheduled":
        interview.status = "completed"
        interview.updated_at = now
        await session.flush()
        events.record(session, "interview.completed", interview_payload(interview), now=now)


_UPSERT = TypeAdapter(InterviewUpsert)
_REFERENCES = {
    "external_id",
    "candidate_id",
    "candidate_external_id",
    "client_id",
    "client_external_id",
}


@batched  # its ticks wait for the reads in flight (app/db/slices.py)
async def upsert_interviews(
    *,
    session: AsyncSession,
    settings: Settings,
    items: list[dict[str, Any]],
    atomic: bool,
    actor: str,
    now: datetime,
) -> BulkOut:
    """Create or update up to 1,000 interviews by external_id, each with its events and
    follow-ups exactly as the single-object endpoints would."""
    outcome = Outcome(len(items))
    valid = await validated(items, _UPSERT, outcome)
    existing = await by_external_ids(session, Interview, [i.external_id for _, i in valid])
    candidates = await ids_by_external_id(
        session, Candidate, [i.candidate_external_id for _, i in valid if i.candidate_external_id]
    )
    clients = await ids_by_external_id(
        session, Client, [i.client_external_id for _, i in valid if i.client_external_id]
    )
    unknown = [
        i.candidate_external_id
        for _, i in valid
        if i.candidate_external_id and i.candidate_external_id not in candidates
    ]
    erased = set(await erased_external_ids(session, settings, unknown))
    work = unit_of_work(session)
    for index, item in valid:
        mark = work.mark()
        try:
            async with session.begin_nested():
                status, interview = await _upsert_one(
                    session,
                    item,
                    existing.get(item.external_id),
                    candidates,
                    clients,
                    erased,
                    actor=actor,
                    now=now,
                )
        except AppError as exc:
            work.rewind(mark)  # the savepoint's events and audit rows are undone with it
            outcome.fail(index, exc.detail, exc.errors or [])
            continue
        outcome.done(index, status, interview.id)
    if atomic:
        outcome.raise_if_any_failed()
    return outcome.out()


def _reference(
    item: InterviewUpsert, kind: str, external_ids: dict[str, uuid.UUID]
) -> uuid.UUID | None:
    given_id: uuid.UUID | None = getattr(item, f"{kind}_id")
    external: str | None = getattr(item, f"{kind}_external_id")
    if external is None:
        return given_id
    found = external_ids.get(external)
    if found is None:
        raise ValidationFailed.field(f"{kind}_external_id", f"no {kind} has this external_id")
    if given_id is not None and given_id != found:
        raise ValidationFailed.field(f"{kind}_id", f"names another {kind} than {kind}_external_id")
    return found


async def _upsert_one(
    session: AsyncSession,
    item: InterviewUpsert,
    interview: Interview | None,
    candidates: dict[str, uuid.UUID],
    clients: dict[str, uuid.UUID],
    erased: set[str],
    *,
    actor: str,
    now: datetime,
) -> tuple[Literal["created", "updated", "unchanged"], Interview]:
    if item.candidate_external_id in erased:
        raise CandidateErased(
            "candidate_external_id belonged to a candidate who was erased; "
            "nothing is recorded about an erased person."
        )
    candidate_id = _reference(item, "candidate", candidates)
    client_id = _reference(item, "client", clients)
    fields = item.model_dump(include=item.model_fields_set - _REFERENCES, exclude_none=False)
    if interview is None:
        try:
            data = InterviewCreate.model_validate(
                {
                    **fields,
                    "external_id": item.external_id,
                    "candidate_id": candidate_id,
                    "client_id": client_id,
                }
            )
        except ValidationError as exc:
            errors = validation_errors(exc.errors(), location="body")
            raise ValidationFailed("The new interview is incomplete.", errors=errors) from exc
        return "created", await create_interview(session=session, data=data, actor=actor, now=now)
    for kind, given, current in (
        ("candidate", candidate_id, interview.candidate_id),
        ("client", client_id, interview.client_id),
    ):
        if given is not None and given != current:
            raise ValidationFailed.field(
                f"{kind}_id", "an interview cannot move to another " + kind
            )
    changed = await apply_patch(
        session, interview, InterviewPatch.model_validate(fields), actor=actor, now=now
    )
    return ("updated" if changed else "unchanged"), interview
