from __future__ import annotations

import uuid

from fastapi import Request
from starlette.responses import Response

from app.api.dependencies import DB, AppSettings, Now, Session
from app.api.problems import problem_responses
from app.api.responses import Cursor, IfMatch, Limit, Page, object_response
from app.api.routing import APIRouter
from app.auth import revocations
from app.auth.dependencies import AdminKey, AnyKey
from app.db.queries import found, read_one, read_page
from app.models import Staff
from app.schemas.fields import Email
from app.staff import repository, service
from app.staff.schemas import StaffCreate, StaffOut, StaffPatch

router = APIRouter(
    prefix="/v1/staff", tags=["staff"], responses=problem_responses(401, 403, 422, 429)
)


@router.post("", status_code=201, response_model=StaffOut, responses=problem_responses(409, 413))
async def create_staff(
    body: StaffCreate, session: Session, settings: AppSettings, now: Now, _: AdminKey
) -> Response:
    staff = await service.create_staff(session=session, data=body, settings=settings, now=now)
    return object_response(
        StaffOut.model_validate(staff),
        version=staff.version,
        status=201,
        location=f"/v1/staff/{staff.id}",
    )


@router.get("", response_model=Page[StaffOut])
async def list_staff(
    db: DB,
    _: AnyKey,
    active: bool | None = None,
    email: Email | None = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Response:
    """Every key may list staff, to show and pick a candidate's owner."""
    stmt = repository.select_staff(active=active, email=email)
    rows, next_cursor = await read_page(db, stmt, key=Staff.id, limit=limit, cursor=cursor)
    return Page.response(StaffOut, rows, next_cursor)


@router.get("/{staff_id:uuid}", response_model=StaffOut, responses=problem_responses(404))
async def get_staff(staff_id: uuid.UUID, db: DB, _: AnyKey) -> Response:
    stmt = repository.select_staff().where(Staff.id == staff_id)
    row = found(await read_one(db, stmt), "staff member", staff_id)
    return object_response(StaffOut.model_validate(row), version=row["version"])


@router.patch(
    "/{staff_id:uuid}",
    response_model=StaffOut,
    responses=problem_responses(404, 409, 412, 413, 428),
)
async def update_staff(
    staff_id: uuid.UUID,
    body: StaffPatch,
    request: Request,
    session: Session,
    settings: AppSettings,
    now: Now,
    _: AdminKey,
    if_match: IfMatch = None,
) -> Response:
    """Deactivating a staff member (`active: false`) stops their keys working.
    `notify_via` and `chat_url` say how they hear from Debrief (docs/notifications.md)."""
    staff = await service.update_staff(
        session=session,
        staff_id=staff_id,
        patch=body,
        if_match=if_match,
        settings=settings,
        now=now,
    )
    if not staff.active:
        await revocations.announce_staff_keys(session, request.app.state.key_cache, staff.id)
    return object_response(StaffOut.model_validate(staff), version=staff.version)
