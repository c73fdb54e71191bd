from __future__ import annotations

import uuid
from typing import Literal

from fastapi import Query
from starlette.responses import HTMLResponse, PlainTextResponse, Response

from app.api.dependencies import DB, AppSettings, Now, Session
from app.api.problems import problem_responses
from app.api.responses import Cursor, Limit, Page, json_response
from app.api.routing import APIRouter
from app.auth.dependencies import StaffKey
from app.db.queries import read_all, read_one, read_page
from app.debriefs.schemas import EmployerFeedbackOut
from app.errors import NotFound
from app.models import Notification
from app.notifications import repository, service
from app.notifications.schemas import (
    Channel,
    Kind,
    NotificationAttemptOut,
    NotificationOut,
    RelayOut,
    Status,
    TemplatePreview,
)
from app.schemas.fields import Email

router = APIRouter(
    prefix="/v1/notifications",
    tags=["notifications"],
    responses=problem_responses(401, 403, 422, 429),
)


async def _with_attempts(db: DB, rows: list[dict[str, object]]) -> list[NotificationOut]:
    ids = [r["id"] for r in rows]
    attempts: dict[object, list[NotificationAttemptOut]] = {}
    if ids:
        for attempt in await read_all(db, repository.select_attempts(ids)):  # type: ignore[arg-type]
            attempts.setdefault(attempt["notification_id"], []).append(
                NotificationAttemptOut.model_validate(attempt)
            )
    return [
        NotificationOut.model_validate({**r, "attempt_log": attempts.get(r["id"], [])})
        for r in rows
    ]


@router.get("", response_model=Page[NotificationOut])
async def list_notifications(
    db: DB,
    _: StaffKey,
    recipient: Email | None = Query(default=None, description="Sent to this email address."),
    candidate_id: uuid.UUID | None = Query(
        default=None, description="Sent to this candidate, or about them."
    ),
    staff_id: uuid.UUID | None = Query(default=None, description="Sent to this staff member."),
    status: Status | None = None,
    kind: Kind | None = None,
    channel: Channel | None = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Response:
    """Every message, oldest first, each with its attempts and the server's answers."""
    stmt = repository.select_notifications(
        recipient=recipient, candidate_id=candidate_id, staff_id=staff_id, status=status, kind=kind
    )
    if channel is not None:
        stmt = stmt.where(Notification.__table__.c.channel == channel)
    rows, next_cursor = await read_page(db, stmt, key=Notification.id, limit=limit, cursor=cursor)
    items = await _with_attempts(db, [dict(r) for r in rows])
    return json_response(Page[NotificationOut](items=items, next_cursor=next_cursor))


@router.get(
    "/templates/{name}/preview",
    response_model=TemplatePreview,
    responses={
        200: {"content": {"text/html": {}, "text/plain": {}}},
        **problem_responses(404),
    },
)
async def preview_template(
    name: Kind,
    settings: AppSettings,
    _: StaffKey,
    format: Literal["json", "html", "text"] = Query(
        default="json", description="`html` or `text` answers that part alone, to look at."
    ),
) -> Response:
    """A template rendered with made-up data: what the message looks like."""
    rendered = service.preview(name, settings)
    if format == "html":
        return HTMLResponse(rendered.html)
    if format == "text":
        return PlainTextResponse(f"Subject: {rendered.subject}\n\n{rendered.text}")
    return json_response(
        TemplatePreview(
            name=name, subject=rendered.subject, body_text=rendered.text, body_html=rendered.html
        )
    )


@router.get(
    "/{notification_id:uuid}", response_model=NotificationOut, responses=problem_responses(404)
)
async def get_notification(notification_id: uuid.UUID, db: DB, _: StaffKey) -> Response:
    """One message with its attempts and the server's answers."""
    row = await read_one(
        db,
        repository.select_notifications(
            recipient=None, candidate_id=None, staff_id=None, status=None, kind=None
        ).where(Notification.__table__.c.id == notification_id),
    )
    if row is None:
        raise NotFound(f"There is no notification with id {notification_id}.")
    (item,) = await _with_attempts(db, [dict(row)])
    return json_response(item)


@router.post(
    "/{notification_id:uuid}/resend",
    status_code=202,
    response_model=NotificationOut,
    responses=problem_responses(404, 409),
)
async def resend_notification(
    notification_id: uuid.UUID, session: Session, settings: AppSettings, now: Now, _: StaffKey
) -> Response:
    """Send the message again, now, as a new message (with its own Message-ID; a candidate's
    link in it is a fresh one). Refused (409) for an address that unsubscribed or bounced,
    and while the message is still waiting to be sent."""
    again = await service.resend(
        session=session, notification_id=notification_id, settings=settings, now=now
    )
    return json_response(
        NotificationOut.model_validate(again),
        status=202,
        location=f"/v1/notifications/{again.id}",
    )


# The relay sends a message, so it lives with the messages; its path is the feedback's.
relay_router = APIRouter(
    prefix="/v1/interviews/{interview_id:uuid}/employer-feedback",
    tags=["debriefs"],
    responses=problem_responses(401, 403, 404, 409, 422, 429),
)


@relay_router.post("/{feedback_id:uuid}/relay", response_model=RelayOut)
async def relay_employer_feedback(
    interview_id: uuid.UUID,
    feedback_id: uuid.UUID,
    session: Session,
    settings: AppSettings,
    now: Now,
    principal: StaffKey,
) -> Response:
    """Send the employer's feedback to the candidate, word for word, by email, and set its
    `relayed_to_candidate_at` (completing the `employer_feedback` follow-up). A staff member's
    confirmation: nothing is ever relayed on its own. Refused (409) unless the employer
    allowed it (`relay_allowed`), once relayed, or with no address to send to."""
    feedback, notification = await service.relay_feedback(
        session=session,
        settings=settings,
        interview_id=interview_id,
        feedback_id=feedback_id,
        actor=principal.actor,
        now=now,
    )
    return json_response(
        RelayOut(
            employer_feedback=EmployerFeedbackOut.model_validate(feedback),
            notification=NotificationOut.model_validate(notification),
        )
    )
