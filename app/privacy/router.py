from __future__ import annotations

import uuid

from starlette.responses import Response

from app.api.dependencies import DB, Now
from app.api.problems import problem_responses
from app.api.responses import json_response
from app.api.routing import APIRouter
from app.auth.dependencies import AdminKey
from app.privacy import export
from app.privacy.schemas import CandidateExport

# Beside the candidates' own routes, under their prefix: the export reads every domain.
router = APIRouter(
    prefix="/v1/candidates", tags=["candidates"], responses=problem_responses(401, 403, 422, 429)
)


@router.get(
    "/{candidate_id:uuid}/export",
    response_model=CandidateExport,
    responses=problem_responses(404),
    summary="Everything held on one person",
)
async def export_candidate(candidate_id: uuid.UUID, db: DB, now: Now, _: AdminKey) -> Response:
    """For a subject access request: the candidate, their interviews, debriefs, employer
    feedback, follow-ups, debrief links, the events about them with their webhook
    deliveries and attempts, the messages to them or about them, and the audit entries of
    all of these, as JSON."""
    return json_response(await export.gather(db, candidate_id, now=now))
