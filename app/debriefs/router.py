from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from starlette.responses import Response

from app.api.dependencies import DB, AppSettings, Now, Session
from app.api.idempotency import NOT_REPLAYABLE
from app.api.problems import problem_responses
from app.api.responses import Cursor, IfMatch, Limit, Page, json_response, object_response
from app.api.routing import APIRouter
from app.auth.dependencies import AnyKey
from app.db.queries import read_page
from app.debriefs import employer_links, links, repository, service
from app.debriefs.schemas import (
    DebriefIn,
    DebriefLinkOut,
    DebriefOut,
    EmployerFeedbackIn,
    EmployerFeedbackOut,
    EmployerFeedbackPatch,
    EmployerLinkIn,
    EmployerLinkOut,
)
from app.errors import NotFound
from app.models import EmployerFeedback, EmployerLink

router = APIRouter(
    prefix="/v1/interviews/{interview_id:uuid}",
    tags=["debriefs"],
    responses=problem_responses(401, 403, 404, 422, 429),
)


@router.post(
    "/debrief",
    response_model=DebriefOut,
    status_code=201,
    responses={
        200: {"description": "An existing debrief was amended", "model": DebriefOut},
        **problem_responses(409, 413),
    },
)
async def record_debrief(
    interview_id: uuid.UUID, body: DebriefIn, session: Session, now: Now, principal: AnyKey
) -> Response:
    """Record how the interview went (201); calling again amends the fields you send (200)."""
    via: service.ReceivedVia = "integration" if principal.role == "integration" else "staff"
    debrief, created, _changed = await service.record_debrief(
        session=session,
        interview_id=interview_id,
        data=body,
        via=via,
        actor=principal.actor,
        now=now,
    )
    return object_response(
        debrief,
        version=debrief.version,
        status=201 if created else 200,
        location=f"/v1/interviews/{interview_id}/debrief",
    )


@router.get("/debrief", response_model=DebriefOut)
async def get_debrief(interview_id: uuid.UUID, db: DB, _: AnyKey) -> Response:
    row = await repository.read_debrief(db, interview_id)
    if row is None:
        raise NotFound(f"Interview {interview_id} has no debrief yet (or does not exist).")
    return object_response(DebriefOut.model_validate(row), version=row["version"])


@router.post(
    "/employer-feedback",
    response_model=EmployerFeedbackOut,
    status_code=201,
    responses=problem_responses(409, 413),
)
async def record_employer_feedback(
    interview_id: uuid.UUID,
    body: EmployerFeedbackIn,
    session: Session,
    now: Now,
    principal: AnyKey,
) -> Response:
    """Record what the employer said. An `outcome` here is recorded on the interview too."""
    feedback, _changes = await service.record_employer_feedback(
        session=session, interview_id=interview_id, data=body, actor=principal.actor, now=now
    )
    return object_response(
        EmployerFeedbackOut.model_validate(feedback),
        version=feedback.version,
        status=201,
        location=f"/v1/interviews/{interview_id}/employer-feedback/{feedback.id}",
    )


@router.get("/employer-feedback", response_model=Page[EmployerFeedbackOut])
async def list_employer_feedback(
    interview_id: uuid.UUID, db: DB, _: AnyKey, limit: Limit = 50, cursor: Cursor = None
) -> Response:
    if not await repository.interview_exists(db, interview_id):
        raise NotFound.of("interview", interview_id)
    stmt = repository.select_employer_feedback(interview_id)
    rows, next_cursor = await read_page(
        db, stmt, key=EmployerFeedback.id, limit=limit, cursor=cursor
    )
    return Page.response(EmployerFeedbackOut, rows, next_cursor)


@router.get("/employer-feedback/{feedback_id:uuid}", response_model=EmployerFeedbackOut)
async def get_employer_feedback(
    interview_id: uuid.UUID, feedback_id: uuid.UUID, db: DB, _: AnyKey
) -> Response:
    row = await repository.read_employer_feedback(db, interview_id, feedback_id)
    if row is None:
        raise NotFound(f"There is no employer feedback {feedback_id} on interview {interview_id}.")
    return object_response(EmployerFeedbackOut.model_validate(row), version=row["version"])


@router.patch(
    "/employer-feedback/{feedback_id:uuid}",
    response_model=EmployerFeedbackOut,
    responses=problem_responses(409, 412, 413, 428),
)
async def update_employer_feedback(
    interview_id: uuid.UUID,
    feedback_id: uuid.UUID,
    body: EmployerFeedbackPatch,
    session: Session,
    now: Now,
    principal: AnyKey,
    if_match: IfMatch = None,
) -> Response:
    """Amend feedback, e.g. set `relayed_to_candidate_at` once you have passed it on."""
    feedback = await service.update_employer_feedback(
        session=session,
        interview_id=interview_id,
        feedback_id=feedback_id,
        patch=body,
        actor=principal.actor,
        if_match=if_match,
        now=now,
    )
    return object_response(EmployerFeedbackOut.model_validate(feedback), version=feedback.version)


@router.post(
    "/debrief-links",
    status_code=201,
    response_model=DebriefLinkOut,
    responses=problem_responses(409, 413),
    dependencies=[NOT_REPLAYABLE],
)
async def create_debrief_link(
    interview_id: uuid.UUID, session: Session, settings: AppSettings, now: Now, principal: AnyKey
) -> Response:
    """A personal link for the candidate to give their debrief without an account. Send the
    `url` to the candidate; it works once and expires (policy `debrief_link_days`, default 7).
    Issuing a new link closes the interview's older unused ones (they answer 410)."""
    link, url = await links.create_link(
        session=session,
        interview_id=interview_id,
        settings=settings,
        actor=principal.actor,
        now=now,
    )
    out = DebriefLinkOut(
        id=link.id,
        interview_id=link.interview_id,
        url=url,
        expires_at=link.expires_at,
        created_at=link.created_at,
    )
    return json_response(out, status=201)


def _link_out(link: Any, now: datetime, url: str | None = None) -> EmployerLinkOut:
    row = (
        link
        if isinstance(link, Mapping)
        else {c.name: getattr(link, c.name) for c in EmployerLink.__table__.c}
    )
    state = employer_links.state_of(
        revoked_at=row["revoked_at"],
        answered_at=row["answered_at"],
        expires_at=row["expires_at"],
        now=now,
    )
    return EmployerLinkOut.model_validate({**row, "state": state, "url": url})


@router.post(
    "/employer-links",
    status_code=201,
    response_model=EmployerLinkOut,
    responses=problem_responses(409, 413),
    dependencies=[NOT_REPLAYABLE],
)
async def create_employer_link(
    interview_id: uuid.UUID,
    session: Session,
    settings: AppSettings,
    now: Now,
    principal: AnyKey,
    body: EmployerLinkIn | None = None,
) -> Response:
    """A personal link for the client's contact (the interview's `point_of_contact`, else the
    client's `contact_name`/`contact_email`) to give their decision without an account. Send
    the `url`; it opens this interview only, until a decision is given, it is revoked, or it
    expires (`expires_in_days`, default 14). A new link closes the interview's older ones."""
    link, url = await employer_links.create_link(
        session=session,
        interview_id=interview_id,
        settings=settings,
        actor=principal.actor,
        now=now,
        days=(body or EmployerLinkIn()).expires_in_days,
    )
    return json_response(_link_out(link, now, url), status=201)


@router.get("/employer-links", response_model=Page[EmployerLinkOut])
async def list_employer_links(
    interview_id: uuid.UUID, db: DB, now: Now, _: AnyKey, limit: Limit = 50, cursor: Cursor = None
) -> Response:
    """The interview's decision links, oldest first, with their state and answer (never the
    token)."""
    if not await repository.interview_exists(db, interview_id):
        raise NotFound.of("interview", interview_id)
    stmt = repository.select_employer_links(interview_id)
    rows, next_cursor = await read_page(db, stmt, key=EmployerLink.id, limit=limit, cursor=cursor)
    return json_response(
        Page[EmployerLinkOut](items=[_link_out(r, now) for r in rows], next_cursor=next_cursor)
    )


@router.post(
    "/employer-links/{link_id:uuid}/revoke",
    response_model=EmployerLinkOut,
    responses=problem_responses(409, 413),
)
async def revoke_employer_link(
    interview_id: uuid.UUID, link_id: uuid.UUID, session: Session, now: Now, _: AnyKey
) -> Response:
    """Close a link now (sent to the wrong person, say): it answers 410 from then on."""
    link = await employer_links.revoke(
        session=session, interview_id=interview_id, link_id=link_id, now=now
    )
    return json_response(_link_out(link, now))
