from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Form, Request, UploadFile
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response

from app.api.dependencies import DB, AppSettings, Now, Session
from app.api.problems import problem_responses
from app.api.responses import Cursor, Limit, Page, json_response
from app.api.routing import APIRouter
from app.auth.dependencies import AdminKey
from app.db.queries import read_page
from app.errors import NotFound, UnsupportedMediaType
from app.imports import repository, service
from app.imports.csv_file import ImportKind
from app.imports.jobs import ImportRunner
from app.imports.schemas import ImportJobOut, ImportStatus
from app.models import ImportJob

router = APIRouter(
    prefix="/v1/imports", tags=["imports"], responses=problem_responses(401, 403, 422, 429)
)

# What browsers and spreadsheet programs call a CSV file (Windows says Excel), or nothing.
_CSV_TYPES = frozenset(
    {
        "text/csv",
        "text/plain",
        "text/comma-separated-values",
        "application/csv",
        "application/vnd.ms-excel",
        "application/octet-stream",
    }
)


class ImportForm(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"kind": "clients", "file": "external_id,name\nemp-1,Acme Ltd\n"}]
        },
    )

    kind: ImportKind = Field(description="What the file holds: clients, candidates or interviews.")
    file: UploadFile = Field(
        description="A CSV file in UTF-8, headings in the first row (the bulk upsert's field "
        "names; see docs/api.md)."
    )


async def _multipart(request: Request) -> None:
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != "multipart/form-data":
        raise UnsupportedMediaType(
            "Send the file as multipart/form-data, with the fields `kind` and `file`."
        )


def _runner(request: Request) -> ImportRunner:
    runner: ImportRunner = request.app.state.imports
    return runner


@router.post(
    "",
    status_code=202,
    response_model=ImportJobOut,
    responses=problem_responses(409, 413, 415),
    summary="Import a CSV file of clients, candidates or interviews",
)
async def start_import(
    session: Session,
    settings: AppSettings,
    now: Now,
    principal: AdminKey,
    _: Annotated[None, Depends(_multipart)],
    runner: Annotated[ImportRunner, Depends(_runner)],
    form: Annotated[ImportForm, Form(media_type="multipart/form-data")],
) -> Response:
    """The whole file is checked first: a file that cannot be read, has unknown columns, more
    rows than allowed or any row its schema refuses is answered 422 with every row at fault
    (`file.<row>.<column>`), and nothing is created. Otherwise the answer is 202 with a queued
    job, which runs in the background: `GET /v1/imports/{id}` shows its progress and the rows
    the database refuses (a candidate_external_id that names nobody, ...). It ends
    `succeeded` with every row written, or `failed` with none. One import runs at a time
    (409 meanwhile)."""
    upload = form.file
    if upload.content_type and upload.content_type.split(";")[0].lower() not in _CSV_TYPES:
        raise UnsupportedMediaType(f"`file` is {upload.content_type}; send a CSV file (text/csv).")
    try:
        content = await upload.read()
    finally:
        await upload.close()
    file = await service.read_file(form.kind, content, settings=settings)
    job = await service.queue_import(
        session=session,
        file=file,
        actor=principal.actor,
        now=now,
        start=runner.starter(file, principal.actor),
    )
    return json_response(
        ImportJobOut.model_validate(job),
        status=202,
        location=f"/v1/imports/{job.id}",
    )


@router.get("", response_model=Page[ImportJobOut])
async def list_imports(
    db: DB,
    _: AdminKey,
    status: ImportStatus | None = None,
    kind: ImportKind | None = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Response:
    """Every import job, oldest first."""
    stmt = repository.select_jobs(status=status, kind=kind)
    rows, next_cursor = await read_page(db, stmt, key=ImportJob.id, limit=limit, cursor=cursor)
    return json_response(
        Page[ImportJobOut](
            items=[ImportJobOut.model_validate(r) for r in rows], next_cursor=next_cursor
        )
    )


@router.get("/{job_id:uuid}", response_model=ImportJobOut, responses=problem_responses(404))
async def get_import(job_id: uuid.UUID, db: DB, _: AdminKey) -> Response:
    """The job now: its status, rows checked, created, updated, and the rows refused."""
    job = await service.get_job(db, job_id)
    if job is None:
        raise NotFound(f"There is no import with id {job_id}.")
    return json_response(job)
