from __future__ import annotations

import uuid

from fastapi import Query
from starlette.responses import Response

from app.api.dependencies import DB, Now, Session
from app.api.problems import problem_responses
from app.api.responses import Cursor, IfMatch, Limit, Page, json_response, object_response
from app.api.routing import APIRouter
from app.auth.dependencies import AdminOrIntegration, AnyKey
from app.bulk.schemas import Atomic, BulkIn, BulkOut
from app.clients import repository, service
from app.clients.schemas import ClientCreate, ClientOut, ClientPatch
from app.db.queries import found, read_page
from app.models import Client
from app.schemas.fields import ExternalId

router = APIRouter(
    prefix="/v1/clients", tags=["clients"], responses=problem_responses(401, 403, 422, 429)
)


@router.post("", status_code=201, response_model=ClientOut, responses=problem_responses(409, 413))
async def create_client(body: ClientCreate, session: Session, now: Now, _: AnyKey) -> Response:
    client = await service.create_client(session=session, data=body, now=now)
    return object_response(
        ClientOut.model_validate(client),
        version=client.version,
        status=201,
        location=f"/v1/clients/{client.id}",
    )


@router.get("", response_model=Page[ClientOut])
async def list_clients(
    db: DB,
    _: AnyKey,
    external_id: ExternalId | None = None,
    name: str | None = Query(default=None, max_length=200, description="Exact name."),
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Response:
    stmt = repository.select_clients(external_id=external_id, name=name)
    rows, next_cursor = await read_page(db, stmt, key=Client.id, limit=limit, cursor=cursor)
    return Page.response(ClientOut, rows, next_cursor)


@router.get("/{client_id:uuid}", response_model=ClientOut, responses=problem_responses(404))
async def get_client(client_id: uuid.UUID, db: DB, _: AnyKey) -> Response:
    row = found(await repository.read_client(db, client_id), "client", client_id)
    return object_response(ClientOut.model_validate(row), version=row["version"])


@router.patch(
    "/{client_id:uuid}",
    response_model=ClientOut,
    responses=problem_responses(404, 409, 412, 413, 428),
)
async def update_client(
    client_id: uuid.UUID,
    body: ClientPatch,
    session: Session,
    now: Now,
    _: AnyKey,
    if_match: IfMatch = None,
) -> Response:
    client = await service.update_client(
        session=session, client_id=client_id, patch=body, if_match=if_match, now=now
    )
    return object_response(ClientOut.model_validate(client), version=client.version)


@router.post(
    "/bulk",
    response_model=BulkOut,
    responses=problem_responses(413),
    summary="Create or update up to 1,000 clients by external_id",
)
async def bulk_upsert_clients(
    body: BulkIn, session: Session, now: Now, _: AdminOrIntegration, atomic: bool = Atomic
) -> Response:
    """One result per item (`created`, `updated`, `unchanged` or `error`), in one transaction.
    Sending the same items again changes nothing. With `atomic=false` good items are stored
    even if others are refused."""
    out = await service.upsert_clients(session=session, items=body.items, atomic=atomic, now=now)
    return json_response(out)
