from __future__ import annotations

import uuid

from fastapi import Query, Request
from starlette.responses import Response

from app.api.dependencies import DB, Now, Session
from app.api.idempotency import NOT_REPLAYABLE
from app.api.problems import problem_responses
from app.api.responses import Cursor, Limit, Page, json_response
from app.api.routing import APIRouter
from app.auth import repository, revocations, service
from app.auth.dependencies import AdminKey
from app.auth.schemas import ApiKeyCreate, ApiKeyCreated, ApiKeyOut
from app.db.queries import found, read_one, read_page
from app.models import ApiKey
from app.schemas.fields import Role

router = APIRouter(
    prefix="/v1/api-keys", tags=["api-keys"], responses=problem_responses(401, 403, 422, 429)
)


@router.post(
    "",
    status_code=201,
    response_model=ApiKeyCreated,
    responses=problem_responses(409, 413),
    dependencies=[NOT_REPLAYABLE],
)
async def create_api_key(body: ApiKeyCreate, session: Session, now: Now, _: AdminKey) -> Response:
    """Issue a key. The secret is in this response only; store it now."""
    key, secret = await service.issue_key(
        session=session, name=body.name, role=body.role, staff_id=body.staff_id, now=now
    )
    out = ApiKeyCreated.model_validate(
        {**ApiKeyOut.model_validate(key).model_dump(), "key": secret}
    )
    return json_response(out, status=201, location=f"/v1/api-keys/{key.id}")


@router.get("", response_model=Page[ApiKeyOut])
async def list_api_keys(
    db: DB,
    _: AdminKey,
    role: Role | None = None,
    revoked: bool | None = Query(default=None, description="true: only revoked; false: only live"),
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Response:
    stmt = repository.select_keys()
    if role is not None:
        stmt = stmt.where(ApiKey.role == role)
    if revoked is not None:
        stmt = stmt.where(
            ApiKey.revoked_at.is_not(None) if revoked else ApiKey.revoked_at.is_(None)
        )
    rows, next_cursor = await read_page(db, stmt, key=ApiKey.id, limit=limit, cursor=cursor)
    return Page.response(ApiKeyOut, rows, next_cursor)


@router.get("/{key_id:uuid}", response_model=ApiKeyOut, responses=problem_responses(404))
async def get_api_key(key_id: uuid.UUID, db: DB, _: AdminKey) -> Response:
    stmt = repository.select_keys().where(ApiKey.id == key_id)
    row = found(await read_one(db, stmt), "API key", key_id)
    return json_response(ApiKeyOut.model_validate(row))


@router.delete("/{key_id:uuid}", response_model=ApiKeyOut, responses=problem_responses(404, 409))
async def revoke_api_key(
    key_id: uuid.UUID, request: Request, session: Session, now: Now, _: AdminKey
) -> Response:
    """Revoke a key at once. It stays listed, with `revoked_at` set."""
    key = await service.revoke_key(session=session, key_id=key_id, now=now)
    await revocations.announce(session, request.app.state.key_cache, [key.id])
    return json_response(ApiKeyOut.model_validate(key))
