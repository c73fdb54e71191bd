from __future__ import annotations

import uuid

from starlette.responses import Response

from app.api.dependencies import DB, AppSettings, Now, Session
from app.api.problems import problem_responses
from app.api.responses import Cursor, IfMatch, Limit, Page, json_response, object_response
from app.api.routing import APIRouter
from app.auth.dependencies import AdminOrIntegration, AnyKey
from app.bulk.schemas import Atomic, BulkIn, BulkOut
from app.db.queries import found, read_one, read_page
from app.interviews import repository, service
from app.interviews.schemas import InterviewCreate, InterviewOut, InterviewPatch
from app.models import Interview
from app.schemas.fields import ExternalId, InterviewStatus, Outcome, Stage, Timestamp

router = APIRouter(
    prefix="/v1/interviews", tags=["interviews"], responses=problem_responses(401, 403, 422, 429)
)


@router.post(
    "", status_code=201, response_model=InterviewOut, responses=problem_responses(409, 413)
)
async def create_interview(
    body: InterviewCreate, session: Session, now: Now, principal: AnyKey
) -> Response:
    interview = await service.create_interview(
        session=session, data=body, actor=principal.actor, now=now
    )
    return object_response(
        InterviewOut.model_validate(interview),
        version=interview.version,
        status=201,
        location=f"/v1/interviews/{interview.id}",
    )


@router.get("", response_model=Page[InterviewOut])
async def list_interviews(
    db: DB,
    _: AnyKey,
    candidate_id: uuid.UUID | None = None,
    client_id: uuid.UUID | None = None,
    status: InterviewStatus | None = None,
    outcome: Outcome | None = None,
    stage: Stage | None = None,
    external_id: ExternalId | None = None,
    starts_after: Timestamp | None = None,
    starts_before: Timestamp | None = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Response:
    stmt = repository.select_interviews(
        candidate_id=candidate_id,
        client_id=client_id,
        status=status,
        outcome=outcome,
        stage=stage,
        external_id=external_id,
        starts_after=starts_after,
        starts_before=starts_before,
    )
    rows, next_cursor = await read_page(db, stmt, key=Interview.id, limit=limit, cursor=cursor)
    return Page.response(InterviewOut, rows, next_cursor)


@router.get("/{interview_id:uuid}", response_model=InterviewOut, responses=problem_responses(404))
async def get_interview(interview_id: uuid.UUID, db: DB, _: AnyKey) -> Response:
    stmt = repository.select_interviews().where(Interview.id == interview_id)
    row = found(await read_one(db, stmt), "interview", interview_id)
    return object_response(InterviewOut.model_validate(row), version=row["version"])


@router.patch(
    "/{interview_id:uuid}",
    response_model=InterviewOut,
    responses=problem_responses(404, 409, 412, 413, 428),
)
async def update_interview(
    interview_id: uuid.UUID,
    body: InterviewPatch,
    session: Session,
    now: Now,
    principal: AnyKey,
    if_match: IfMatch = None,
) -> Response:
    """Reschedule (starts_at/ends_at), cancel (status), or record the outcome."""
    interview, _changed = await service.update_interview(
        session=session,
        interview_id=interview_id,
        patch=body,
        if_match=if_match,
        actor=principal.actor,
        now=now,
    )
    return object_response(InterviewOut.model_validate(interview), version=interview.version)


@router.post(
    "/bulk",
    response_model=BulkOut,
    responses=problem_responses(413),
    summary="Create or update up to 1,000 interviews by external_id",
)
async def bulk_upsert_interviews(
    body: BulkIn,
    session: Session,
    settings: AppSettings,
    now: Now,
    principal: AdminOrIntegration,
    atomic: bool = Atomic,
) -> Response:
    """One result per item (`created`, `updated`, `unchanged` or `error`), in one transaction.
    Sending the same items again changes nothing. With `atomic=false` good items are stored
    even if others are refused."""
    out = await service.upsert_interviews(
        session=session,
        settings=settings,
        items=body.items,
        atomic=atomic,
        now=now,
        actor=principal.actor,
    )
    return json_response(out)
