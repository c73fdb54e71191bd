from __future__ import annotations

import contextlib
import uuid
from datetime import datetime

from fastapi import Query
from pydantic import Field
from starlette.responses import Response

from app.api.dependencies import DB
from app.api.problems import problem_responses
from app.api.responses import Cursor, Limit, Page, json_response
from app.api.routing import APIRouter
from app.audit import repository
from app.auth.dependencies import AdminKey
from app.db.engine import Database
from app.db.queries import read_page
from app.models import AuditEntry
from app.schemas.base import OutputModel
from app.schemas.fields import Timestamp

router = APIRouter(
    prefix="/v1/audit", tags=["audit"], responses=problem_responses(401, 403, 422, 429)
)


class AuditOut(OutputModel):
    id: uuid.UUID
    occurred_at: datetime
    actor: str = Field(
        description="`key:<id>`, `candidate_link:<id>`, `system`, `system:retention` or "
        "`system:import` (`debrief import`)."
    )
    role: str | None = Field(
        description="The role of the API key when the actor is a key (`admin`, `recruiter`, "
        "`integration`); `candidate` for a candidate's link; null for the system."
    )
    action: str = Field(description="`create`, `update`, `delete` or `erase`.")
    object_type: str
    object_id: str
    fields: list[str] = Field(description="The fields written; never their values.")
    request_id: str | None


@router.get("", response_model=Page[AuditOut])
async def list_audit(
    db: DB,
    _: AdminKey,
    object_type: str | None = Query(default=None, max_length=40),
    object_id: str | None = Query(default=None, max_length=64),
    actor: str | None = Query(default=None, max_length=80),
    since: Timestamp | None = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Response:
    """Who changed which object, when, and which fields, oldest first."""
    stmt = repository.select_entries(
        object_type=object_type, object_id=object_id, actor=actor, since=since
    )
    rows, next_cursor = await read_page(db, stmt, key=AuditEntry.id, limit=limit, cursor=cursor)
    roles = await _roles_of_keys(db, {r["actor"] for r in rows})
    items = [AuditOut(**r, role=_role(r["actor"], roles)) for r in rows]
    return json_response(Page[AuditOut](items=items, next_cursor=next_cursor))


async def _roles_of_keys(db: Database, actors: set[str]) -> dict[str, str]:
    """The role of each `key:<id>` actor on the page, in one query (keys are revoked, never
    deleted, so every key that ever acted is still there)."""
    ids = set()
    for actor in actors:
        kind, _, value = actor.partition(":")
        if kind == "key":
            with contextlib.suppress(ValueError):
                ids.add(uuid.UUID(value))
    if not ids:
        return {}
    rows = await repository.key_roles(db, ids)
    return {f"key:{row['id']}": row["role"] for row in rows}


def _role(actor: str, roles: dict[str, str]) -> str | None:
    if actor.startswith("candidate_link:"):
        return "candidate"
    return roles.get(actor)
