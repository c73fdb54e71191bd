"""Report endpoints (issue 8): what the debriefs teach the agency.

Reports are for agency staff, admin and recruiter keys. The CRM's integration key does not
get them: it keeps objects in sync and has no use for the agency's own performance figures,
so it is refused (403) as it is for the board.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Query
from starlette.responses import Response

from app.api.dependencies import DB, Now
from app.api.problems import problem_responses
from app.api.responses import json_response
from app.api.routing import APIRouter
from app.auth.dependencies import StaffKey
from app.reports import service
from app.reports.params import Bucket, OptionalRange, ReportRange
from app.reports.schemas import (
    EmployerDecisionsReport,
    InterviewQuestions,
    PipelineReport,
    TimelinessReport,
)

router = APIRouter(tags=["reports"], responses=problem_responses(401, 403, 422, 429))

ReportLimit = Annotated[
    int, Query(ge=1, le=200, description="How many rows to show: default 50, at most 200.")
]


@router.get("/v1/reports/debrief-timeliness", response_model=TimelinessReport)
async def debrief_timeliness(_: StaffKey, db: DB, now: Now, period: ReportRange) -> Response:
    """Per recruiter (the candidates' owner) and overall, for the interviews that started in
    the period and have been held: debriefs received, the share on time (by the
    `debrief_call` follow-up's due time), the median and 90th percentile time from the end of the
    interview to the debrief, and the follow-ups that went overdue or were escalated."""
    return json_response(await service.debrief_timeliness(db, period, now=now))


@router.get("/v1/reports/employer-decisions", response_model=EmployerDecisionsReport)
async def employer_decisions(
    _: StaffKey, db: DB, now: Now, period: ReportRange, limit: ReportLimit = 50
) -> Response:
    """Per client (most interviews first) and overall: interviews held in the period, their
    outcomes, the median and 90th percentile days from the interview's end to the employer's
    decision, and how that compares with the date the employer said it would decide by."""
    return json_response(await service.employer_decisions(db, period, now=now, limit=limit))


@router.get(
    "/v1/clients/{client_id:uuid}/interview-questions",
    response_model=InterviewQuestions,
    responses=problem_responses(404),
)
async def interview_questions(
    client_id: uuid.UUID,
    _: StaffKey,
    db: DB,
    period: OptionalRange,
    job_title: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=200,
            pattern=r"^[^\x00-\x1f\x7f]+$",
            description="Only interviews for this job title (any case; no control characters).",
        ),
    ] = None,
    limit: ReportLimit = 50,
) -> Response:
    """The challenging questions candidates reported after interviews with this client, so a
    recruiter can prepare the next candidate: near-identical wordings counted together, the
    questions most candidates met first, with how many candidates reported each and when last.
    Never who reported them. Filtered by the debriefs' dates when `from` or `to` is given."""
    title = job_title.strip() if job_title else None
    return json_response(
        await service.interview_questions(
            db, client_id, job_title=title or None, period=period, limit=limit
        )
    )


@router.get("/v1/reports/pipeline", response_model=PipelineReport)
async def pipeline(
    _: StaffKey,
    db: DB,
    now: Now,
    period: ReportRange,
    bucket: Annotated[Bucket, Query(description="Count per ISO week or calendar month.")] = "month",
) -> Response:
    """Interviews that start in the period, per week or month (UTC) and stage, with their
    outcomes; and how many thank-you notes went out within the policy's ideal and deadline
    after the end, and whether those go with more offers (offer rates of each, and of the
    others)."""
    return json_response(await service.pipeline(db, period, bucket=bucket, now=now))
