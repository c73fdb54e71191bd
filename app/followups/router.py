from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Query
from starlette.responses import Response

from app.api.dependencies import DB, Now, Session
from app.api.problems import problem_responses
from app.api.responses import IfMatch, Limit, Page, TimeCursor, json_response, object_response
from app.api.routing import APIRouter
from app.auth.dependencies import AdminKey, AnyKey
from app.db.queries import found, read_one, read_page_by_time
from app.db.versions import etag_for
from app.followups import queue, repository, service
from app.followups.policy import FollowUpPolicy
from app.followups.rules import Kind
from app.followups.schemas import (
    FollowUpOut,
    OverdueDebrief,
    OverdueQuery,
    PolicyOut,
    Status,
    WaiveIn,
)
from app.models import FollowUp
from app.schemas.fields import Timestamp

router = APIRouter(
    prefix="/v1/follow-ups", tags=["follow-ups"], responses=problem_responses(401, 403, 422, 429)
)
queue_router = APIRouter(tags=["follow-ups"], responses=problem_responses(401, 403, 422, 429))
settings_router = APIRouter(
    prefix="/v1/settings", tags=["settings"], responses=problem_responses(401, 403, 422, 429)
)

_follow_ups = FollowUp.__table__


@router.get("", response_model=Page[FollowUpOut])
async def list_follow_ups(
    db: DB,
    _: AnyKey,
    status: Status | None = None,
    kind: Kind | None = None,
    owner_id: uuid.UUID | None = None,
    candidate_id: uuid.UUID | None = None,
    interview_id: uuid.UUID | None = None,
    due_before: Timestamp | None = None,
    escalated_to: uuid.UUID | None = None,
    limit: Limit = 50,
    cursor: TimeCursor = None,
) -> Response:
    """Follow-ups in due order (earliest first), filtered as you ask."""
    stmt = repository.select_follow_ups(
        status=status,
        kind=kind,
        owner_id=owner_id,
        candidate_id=candidate_id,
        interview_id=interview_id,
        due_before=due_before,
        escalated_to=escalated_to,
    )
    rows, next_cursor = await read_page_by_time(
        db,
        stmt,
        at=_follow_ups.c.due_at,
        at_key="due_at",
        tiebreak=_follow_ups.c.id,
        tiebreak_key="id",
        limit=limit,
        cursor=cursor,
    )
    return Page.response(FollowUpOut, rows, next_cursor)


@router.get("/{follow_up_id:uuid}", response_model=FollowUpOut, responses=problem_responses(404))
async def get_follow_up(follow_up_id: uuid.UUID, db: DB, _: AnyKey) -> Response:
    stmt = repository.select_follow_ups().where(_follow_ups.c.id == follow_up_id)
    row = found(await read_one(db, stmt), "follow-up", follow_up_id)
    return object_response(FollowUpOut.model_validate(row), version=row["version"])


@router.post(
    "/{follow_up_id:uuid}/complete",
    response_model=FollowUpOut,
    responses=problem_responses(404, 409),
)
async def complete_follow_up(
    follow_up_id: uuid.UUID, session: Session, now: Now, principal: AnyKey
) -> Response:
    """Mark a pending or overdue follow-up done now (`late` if past its due time)."""
    follow_up = await service.complete(
        session=session, follow_up_id=follow_up_id, actor=principal.actor, now=now
    )
    return object_response(FollowUpOut.model_validate(follow_up), version=follow_up.version)


@router.post(
    "/{follow_up_id:uuid}/waive",
    response_model=FollowUpOut,
    responses=problem_responses(404, 409, 413),
)
async def waive_follow_up(
    follow_up_id: uuid.UUID, body: WaiveIn, session: Session, now: Now, principal: AnyKey
) -> Response:
    """Waive a follow-up that does not apply, saying why."""
    follow_up = await service.waive(
        session=session,
        follow_up_id=follow_up_id,
        reason=body.reason,
        actor=principal.actor,
        now=now,
    )
    return object_response(FollowUpOut.model_validate(follow_up), version=follow_up.version)


@queue_router.get("/v1/debriefs/overdue", response_model=Page[OverdueDebrief])
async def overdue_debriefs(
    db: DB,
    now: Now,
    _: AnyKey,
    query: Annotated[OverdueQuery, Query()],
) -> Response:
    """Who has not called in after their interview: most overdue first."""
    return await queue.overdue_queue(
        db,
        now,
        owner_id=query.owner_id,
        client_id=query.client_id,
        limit=query.limit,
        cursor=query.cursor,
    )


@settings_router.get("/follow-up-policy", response_model=PolicyOut)
async def get_follow_up_policy(db: DB, _: AdminKey) -> Response:
    """The policy in force: every number of the playbook."""
    policy, version, updated_at = await repository.read_policy(db)
    out = PolicyOut(**policy.model_dump(), version=version, updated_at=updated_at)
    return json_response(out, etag=etag_for(version))


@settings_router.put(
    "/follow-up-policy", response_model=PolicyOut, responses=problem_responses(412, 413, 428)
)
async def put_follow_up_policy(
    body: FollowUpPolicy, session: Session, now: Now, _: AdminKey, if_match: IfMatch = None
) -> Response:
    """Replace the policy; fields left out take their defaults. Applies to follow-ups opened
    from now."""
    policy, row = await service.replace_policy(
        session=session, policy=body, if_match=if_match, now=now
    )
    out = PolicyOut(**policy.model_dump(), version=row.version, updated_at=row.updated_at)
    return json_response(out, etag=etag_for(row.version))
