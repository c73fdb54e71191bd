from __future__ import annotations

from fastapi import Request
from starlette.responses import Response

from app.api.problems import problem_responses
from app.api.responses import json_response
from app.api.routing import APIRouter
from app.auth.dependencies import AdminKey
from app.errors import Conflict
from app.sweep import jobs
from app.sweep.schemas import SweepResult

router = APIRouter(prefix="/v1/admin", tags=["admin"], responses=problem_responses(401, 403, 429))


@router.post("/sweeps", response_model=SweepResult, responses=problem_responses(409))
async def run_sweep(request: Request, _: AdminKey) -> Response:
    """Run a sweep now (the scheduler's work) and answer its counts."""
    state = request.app.state
    counts = await jobs.sweep(state.db, state.clock.now, wait_seconds=30, settings=state.settings)
    if not counts.swept:
        raise Conflict("Another sweep has been running for 30 seconds; try again shortly.")
    return json_response(SweepResult.model_validate(counts))
