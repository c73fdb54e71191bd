from __future__ import annotations

import uuid

from starlette.responses import Response

from app.api.dependencies import DB, AppSettings, Now, Session
from app.api.problems import problem_responses
from app.api.responses import Cursor, IfMatch, Limit, Page, json_response, object_response
from app.api.routing import APIRouter
from app.auth.dependencies import AdminKey, AdminOrIntegration, AnyKey
from app.bulk.schemas import Atomic, BulkIn, BulkOut
from app.candidates import erasure, repository, service
from app.candidates.schemas import (
    CandidateCreate,
    CandidateOut,
    CandidatePatch,
    flags_from,
)
from app.db.queries import found, read_page
from app.models import Candidate
from app.schemas.fields import CandidateStatus, Email, ExternalId

router = APIRouter(
    prefix="/v1/candidates", tags=["candidates"], responses=problem_responses(401, 403, 422, 429)
)


@router.post(
    "", status_code=201, response_model=CandidateOut, responses=problem_responses(409, 413)
)
async def create_candidate(
    body: CandidateCreate, session: Session, settings: AppSettings, now: Now, _: AnyKey
) -> Response:
    candidate = await service.create_candidate(
        session=session, settings=settings, data=body, now=now
    )
    return object_response(
        CandidateOut.model_validate(candidate),
        version=candidate.version,
        status=201,
        location=f"/v1/candidates/{candidate.id}",
    )


@router.get("", response_model=Page[CandidateOut])
async def list_candidates(
    db: DB,
    _: AnyKey,
    status: CandidateStatus | None = None,
    owner_id: uuid.UUID | None = None,
    external_id: ExternalId | None = None,
    email: Email | None = None,
    job_search_active: bool | None = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Response:
    stmt = repository.select_candidates(
        status=status,
        owner_id=owner_id,
        external_id=external_id,
        email=email,
        job_search_active=job_search_active,
    )
    rows, next_cursor = await read_page(db, stmt, key=Candidate.id, limit=limit, cursor=cursor)
    return Page.response(CandidateOut, rows, next_cursor)


@router.get("/{candidate_id:uuid}", response_model=CandidateOut, responses=problem_responses(404))
async def get_candidate(candidate_id: uuid.UUID, db: DB, _: AnyKey) -> Response:
    row = found(await service.read_candidate(db, candidate_id), "candidate", candidate_id)
    return object_response(CandidateOut.model_validate(row), version=row["version"])


@router.patch(
    "/{candidate_id:uuid}",
    response_model=CandidateOut,
    responses=problem_responses(404, 409, 412, 413, 428),
)
async def update_candidate(
    candidate_id: uuid.UUID,
    body: CandidatePatch,
    session: Session,
    settings: AppSettings,
    now: Now,
    _: AnyKey,
    if_match: IfMatch = None,
) -> Response:
    candidate, _changed = await service.update_candidate(
        session=session,
        settings=settings,
        candidate_id=candidate_id,
        patch=body,
        if_match=if_match,
        now=now,
    )
    out = CandidateOut.model_validate(candidate)
    out.flags = flags_from(await repository.overdue_kinds(session, candidate.id))
    return object_response(out, version=candidate.version)


@router.post(
    "/bulk",
    response_model=BulkOut,
    responses=problem_responses(413),
    summary="Create or update up to 1,000 candidates by external_id",
)
async def bulk_upsert_candidates(
    body: BulkIn,
    session: Session,
    settings: AppSettings,
    now: Now,
    _: AdminOrIntegration,
    atomic: bool = Atomic,
) -> Response:
    """One result per item (`created`, `updated`, `unchanged` or `error`), in one transaction.
    Sending the same items again changes nothing. With `atomic=false` good items are stored
    even if others are refused."""
    out = await service.upsert_candidates(
        session=session, settings=settings, items=body.items, atomic=atomic, now=now
    )
    return json_response(out)


@router.delete(
    "/{candidate_id:uuid}",
    status_code=204,
    responses=problem_responses(404),
    summary="Erase a candidate's personal data, everywhere, irreversibly",
)
async def erase_candidate(
    candidate_id: uuid.UUID, session: Session, db: DB, settings: AppSettings, now: Now, _: AdminKey
) -> Response:
    """Removes every personal field of this person wherever it is held (the candidate, their
    interviews' free text, debriefs, employer feedback, waiver reasons, event and webhook
    payloads, delivery logs, idempotency records), closes their debrief links, keeps
    anonymous counts for reports, emits an id-only `candidate.erased`, and refuses their
    external_id from now on. Every later write about them (debrief, feedback, link, form,
    interview, waiver, bulk item) is refused with a `candidate-erased` problem."""
    await erasure.erase(
        session=session, db=db, settings=settings, candidate_id=candidate_id, now=now
    )
    return Response(status_code=204)
