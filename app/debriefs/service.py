"""Debriefs (the candidate's account) and employer feedback, both attached to an interview."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncSession

from app.audit import service as audit
from app.candidates.erased import refuse_if_candidate_erased
from app.db.patch import apply_changes, patch_values
from app.db.queries import found, get_for_update
from app.db.versions import require_if_match
from app.debriefs import repository
from app.debriefs.schemas import (
    DebriefIn,
    DebriefOut,
    EmployerFeedbackIn,
    EmployerFeedbackOut,
    EmployerFeedbackPatch,
)
from app.errors import Conflict, NotFound, ValidationFailed
from app.events import service as events
from app.followups import rules
from app.followups import service as followups
from app.followups.rules import Kind
from app.ids import uuid7
from app.interviews.service import record_interview_change
from app.models import Debrief, EmployerFeedback, Interview

ReceivedVia = Literal["staff", "integration", "candidate_link"]


def _not_in_future(field: str, value: datetime | None, now: datetime) -> None:
    if value is not None and value > now:
        raise ValidationFailed.field(field, "cannot be in the future")


def _plausible(field: str, value: datetime | None, started_at: datetime, now: datetime) -> None:
    """A time reported for the interview lies between its start and now."""
    if value is None:
        return
    problem = rules.reported_time_problem(value, started_at=started_at, now=now)
    if problem is not None:
        raise ValidationFailed.field(field, problem)


# The debrief's reported times and the follow-ups they complete.
_FOLLOW_UP_TIMES: dict[str, Kind] = {
    "called_at": "debrief_call",
    "thank_you_sent_at": "thank_you_note",
}


def _debrief_values(data: DebriefIn) -> dict[str, Any]:
    values = patch_values(data, not_null=("channel",))
    if "salary_expectation" in values:
        salary = data.salary_expectation
        values.pop("salary_expectation")
        values["salary_amount"] = salary.amount if salary else None
        values["salary_currency"] = salary.currency if salary else None
    if "challenging_questions" in values and values["challenging_questions"] is None:
        values["challenging_questions"] = []
    return values


async def record_debrief(
    *,
    session: AsyncSession,
    interview_id: uuid.UUID,
    data: DebriefIn,
    via: ReceivedVia,
    actor: str,
    now: datetime,
    fill_only_empty: bool = False,
) -> tuple[DebriefOut, bool, list[str]]:
    """Record the debrief, or amend it if one exists. Returns (the debrief as stored,
    created, changed).

    The first debrief completes the `debrief_call` follow-up at `called_at` (default now; late or
    not); a thank-you note it reports completes `thank_you_note` when it was sent. An
    amendment that corrects either time re-times the follow-up it completed. With
    `fill_only_empty` (the candidate's form), an existing debrief keeps every answer it
    holds: only its empty fields are filled in."""
    row = await repository.interview_for_debrief(session, interview_id)
    interview = followups.DebriefedInterview(**found(row, "interview", interview_id))
    # The debrief, read with the candidate's erasure (refused), in one statement.
    debrief = await repository.debrief_of(session, interview_id, interview.candidate_id)
    if interview.status == "cancelled":
        raise Conflict("This interview was cancelled; there is nothing to debrief.")
    if interview.starts_at > now:
        raise Conflict("This interview has not started yet; record the debrief after it.")
    for field in _FOLLOW_UP_TIMES:
        _plausible(field, getattr(data, field), interview.starts_at, now)
    values = _debrief_values(data)
    if values.get("called_at", now) is None:
        values.pop("called_at")  # null: the default, as if left out
    earlier: dict[str, datetime] = {}  # the times an amendment may correct
    if debrief is None:
        if "channel" not in values:
            raise ValidationFailed.field("channel", "say how the debrief was given")
        values.setdefault("called_at", now)
        debrief = await _add_debrief(session, interview_id, values, via=via, now=now)
        changed, created = sorted(values), True
    else:
        if fill_only_empty:
            values = {k: v for k, v in values.items() if debrief[k] in (None, [])}
        earlier = {f: was for f in _FOLLOW_UP_TIMES if (was := debrief[f]) is not None}
        changed, created = await _amend_debrief(session, debrief, values, now=now), False
    out = DebriefOut.model_validate(debrief)
    if not changed:
        return out, False, changed
    events.record(session, "debrief.received", _debrief_event(out, interview, created), now=now)
    await followups.debrief_recorded(
        session,
        interview,
        first=created,
        called_at=out.called_at,
        thank_you_sent_at=out.thank_you_sent_at if "thank_you_sent_at" in changed else None,
        corrected={_FOLLOW_UP_TIMES[f]: was for f, was in earlier.items() if f in changed},
        actor=actor,
        now=now,
        still_interested=out.still_interested if "still_interested" in changed else None,
    )
    return out, created, changed


async def _add_debrief(
    session: AsyncSession,
    interview_id: uuid.UUID,
    values: dict[str, Any],
    *,
    via: ReceivedVia,
    now: datetime,
) -> dict[str, Any]:
    """A first debrief, written with one statement and audited as the ORM would audit it
    (the fields it holds); returns the row stored (the ORM loads the debrief itself should
    the transaction ask for it again)."""
    row: dict[str, Any] = dict.fromkeys(repository.DEBRIEF_COLUMNS)
    row.update(
        id=uuid7(),
        interview_id=interview_id,
        challenging_questions=[],
        received_at=now,
        received_via=via,
        created_at=now,
        updated_at=now,
        version=1,
    )
    row.update(values)
    await repository.insert_debrief(session, row)
    audit.record(
        session, Debrief, "create", [(row["id"], [k for k, v in row.items() if v is not None])]
    )
    return row


async def _amend_debrief(
    session: AsyncSession, debrief: dict[str, Any], values: dict[str, Any], *, now: datetime
) -> list[str]:
    """Change the debrief's fields that differ from `values`, with one statement, audited as
    the ORM would audit it; the fields changed (none: nothing written)."""
    changed = sorted(name for name, value in values.items() if debrief[name] != value)
    if changed:
        debrief.update({name: values[name] for name in changed})
        debrief.update(updated_at=now, version=debrief["version"] + 1)
        await repository.update_debrief(session, debrief)
        audit.record(session, Debrief, "update", [(debrief["id"], changed)])
    return changed


def _debrief_event(
    debrief: DebriefOut, interview: followups.DebriefedInterview, created: bool
) -> dict[str, Any]:
    return {
        "debrief": debrief.model_dump(mode="json"),
        "candidate_id": str(interview.candidate_id),
        "amended": not created,
    }


def _feedback_event(feedback: EmployerFeedback, interview: Interview) -> dict[str, Any]:
    return {
        "employer_feedback": EmployerFeedbackOut.model_validate(feedback).model_dump(mode="json"),
        "candidate_id": str(interview.candidate_id),
    }


def record_outcome(
    interview: Interview, outcome: str, *, next_stage: str | None = None, now: datetime
) -> list[str]:
    """Set an interview's outcome (and, for a next round, its stage) as the employer decided."""
    values: dict[str, Any] = {"outcome": outcome}
    if outcome != "next_round":
        values["next_stage"] = None
    elif next_stage is not None:
        values["next_stage"] = next_stage
    if outcome != interview.outcome:
        values["outcome_recorded_at"] = now if outcome != "pending" else None
    return apply_changes(interview, values, now=now)


async def record_employer_feedback(
    *,
    session: AsyncSession,
    interview_id: uuid.UUID,
    data: EmployerFeedbackIn,
    actor: str,
    now: datetime,
) -> tuple[EmployerFeedback, list[str]]:
    """Store what the employer said; an outcome in it is recorded on the interview too."""
    interview = await get_for_update(session, Interview, interview_id, "interview")
    await refuse_if_candidate_erased(session, interview.candidate_id)
    if data.next_stage is not None and data.outcome != "next_round":
        raise ValidationFailed.field("next_stage", "is only for an outcome of next_round")
    received_at = data.received_at or now
    _not_in_future("received_at", received_at, now)
    _not_in_future("relayed_to_candidate_at", data.relayed_to_candidate_at, now)
    feedback = EmployerFeedback(
        interview_id=interview_id,
        outcome=data.outcome,
        strengths=data.strengths,
        improvements=data.improvements,
        relay_allowed=data.relay_allowed,
        received_at=received_at,
        relayed_to_candidate_at=data.relayed_to_candidate_at,
        created_at=now,
        updated_at=now,
    )
    session.add(feedback)
    interview_changes = []
    if data.outcome is not None and data.outcome != "pending":
        interview_changes = record_outcome(
            interview, data.outcome, next_stage=data.next_stage, now=now
        )
    await session.flush()
    events.record(
        session, "employer_feedback.received", _feedback_event(feedback, interview), now=now
    )
    await record_interview_change(session, interview, interview_changes, actor=actor, now=now)
    if feedback.relayed_to_candidate_at is not None:
        await followups.feedback_relayed(
            session, interview_id, relayed_at=feedback.relayed_to_candidate_at, actor=actor, now=now
        )
    return feedback, interview_changes


async def update_employer_feedback(
    *,
    session: AsyncSession,
    interview_id: uuid.UUID,
    feedback_id: uuid.UUID,
    patch: EmployerFeedbackPatch,
    if_match: str | None,
    actor: str,
    now: datetime,
) -> EmployerFeedback:
    """Amend feedback, typically to record when it was relayed to the candidate."""
    interview = await session.get(Interview, interview_id, with_for_update=True)
    if interview is not None:
        await refuse_if_candidate_erased(session, interview.candidate_id)
    feedback = await session.get(EmployerFeedback, feedback_id)
    if feedback is None or feedback.interview_id != interview_id:
        raise NotFound(f"There is no employer feedback {feedback_id} on interview {interview_id}.")
    require_if_match(if_match, feedback.version)
    values = patch_values(patch, not_null=())
    _not_in_future("relayed_to_candidate_at", values.get("relayed_to_candidate_at"), now)
    changed = apply_changes(feedback, values, now=now)
    await session.flush()
    if "relayed_to_candidate_at" in changed and feedback.relayed_to_candidate_at is not None:
        await followups.feedback_relayed(
            session, interview_id, relayed_at=feedback.relayed_to_candidate_at, actor=actor, now=now
        )
    return feedback


async def relay_employer_feedback(
    *,
    session: AsyncSession,
    interview_id: uuid.UUID,
    feedback_id: uuid.UUID,
    actor: str,
    now: datetime,
) -> tuple[EmployerFeedback, Interview]:
    """Mark feedback as passed on to the candidate now, as a PATCH of
    `relayed_to_candidate_at` would; only feedback the employer allowed to be relayed
    verbatim, and only once. The caller sends it."""
    interview = await get_for_update(session, Interview, interview_id, "interview")
    await refuse_if_candidate_erased(session, interview.candidate_id)
    feedback = await session.get(EmployerFeedback, feedback_id, with_for_update=True)
    if feedback is None or feedback.interview_id != interview_id:
        raise NotFound(f"There is no employer feedback {feedback_id} on interview {interview_id}.")
    if feedback.relay_allowed is not True:
        raise Conflict(
            "The employer did not allow this feedback to be passed on verbatim; "
            "tell the candidate in your own words instead."
        )
    if feedback.relayed_to_candidate_at is not None:
        raise Conflict(
            "This feedback was already passed on, at "
            f"{feedback.relayed_to_candidate_at:%Y-%m-%d %H:%M} UTC."
        )
    if not (feedback.strengths or feedback.improvements):
        raise Conflict("This feedback holds no words to pass on.")
    apply_changes(feedback, {"relayed_to_candidate_at": now}, now=now)
    await session.flush()
    await followups.feedback_relayed(session, interview_id, relayed_at=now, actor=actor, now=now)
    return feedback, interview
