"""The recruiters' board: overdue debriefs and what else is due, actionable in two clicks."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import Depends, Query, Request
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import HTMLResponse, RedirectResponse, Response

from app.api.dependencies import DB, AppSettings, Now, Session
from app.api.html_pages import html_responses, message, page
from app.api.ratelimit import RateLimiter, connection_bucket
from app.api.routing import APIRouter
from app.auth import service as keys
from app.auth.keys import hash_key
from app.board import repository, session
from app.board.session import BoardUser
from app.db.unit_of_work import unit_of_work
from app.debriefs import service as debriefs
from app.debriefs.schemas import DebriefIn
from app.errors import AppError
from app.followups import rules
from app.followups import service as followups
from app.followups.service import read_policy
from app.notifications import service as notifications
from app.schemas.fields import local_zone

router = APIRouter(prefix="/board", tags=["board"])
sign_ins = RateLimiter(per_minute=10, burst=10)
# Pages a section of the board offers (50 rows each): far beyond any agency's open work.
MAX_PAGE = 10_000

WHAT = {
    "debrief_call": "Debrief call",
    "thank_you_note": "Thank-you note",
    "employer_follow_up": "Chase the employer",
    "employer_feedback": "Relay the employer's feedback",
    "final_round_prep": "Brief for the final round",
    "candidate_call": "Call the candidate: they are cooling",
}
_PAGES = html_responses(
    _303="Done: back to the board",
    _401="Sign-in refused",
    _403="Not signed in, or the form is stale",
    _429="Too many sign-in attempts",
)


def _since(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    if days:
        return f"{days} day{'s' if days > 1 else ''} {hours} h"
    return f"{hours} h {minutes} min" if hours else f"{minutes} min"


def _what(kind: str, sequence: int = 1) -> str:
    what = WHAT.get(kind, kind)
    return f"{what} (chase {sequence})" if sequence > 1 else what


def _local(moment: datetime, tz: ZoneInfo) -> str:
    local = moment.astimezone(tz)
    return f"{local:%a} {local.day} {local:%b} {local:%H:%M}"


def _view(params: Mapping[str, str]) -> dict[str, str]:
    """The board's filters and pages in `params` that are well formed. The board's forms are
    sent with the query of the view they are on, so that an action's answer goes back there
    (anything else in it is dropped)."""
    kept: dict[str, str] = {}
    for name in ("owner_id", "client_id"):
        value = _uuid(params.get(name))
        if value is not None:
            kept[name] = str(value)
    for name in ("calls_page", "others_page"):
        digits = params.get(name, "")
        if digits.isascii() and digits.isdigit() and 1 < int(digits) <= MAX_PAGE:
            kept[name] = str(int(digits))
    return kept


def _back(request: Request, flash: str) -> RedirectResponse:
    """Back to the board, on the view the form was sent from, saying what was done."""
    query = urlencode(_view(request.query_params) | {"done": flash})
    return RedirectResponse(f"/board?{query}", status_code=303)


@router.get("", response_class=HTMLResponse, responses=_PAGES, summary="The recruiters' board")
async def board(
    request: Request,
    db: DB,
    settings: AppSettings,
    now: Now,
    owner_id: str | None = None,
    client_id: str | None = None,
    done: str | None = None,
    calls_page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
    others_page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
) -> Response:
    """What was escalated to you, overdue debrief calls (yours first) and other follow-ups
    overdue or due today (yours first), each list 50 rows a page."""
    user = await session.current_user(request, db, settings, now)
    if user is None:
        return _sign_in_page(request, settings, None)
    policy, _, _ = await read_policy(db)
    tz = local_zone(user.timezone, policy.timezone)  # "today" is the signed-in person's day
    local_now = now.astimezone(tz)
    end_of_day = local_now.replace(hour=23, minute=59, second=59, microsecond=0)
    me = user.principal.staff_id
    owner, client = _uuid(owner_id), _uuid(client_id)
    # Two reads, the other work first: a call the sweep flags overdue between them shows in
    # both lists for this one view rather than in neither.
    other_rows, others_total = await repository.other_work(
        db, due_by=end_of_day, me=me, owner_id=owner, client_id=client, page=others_page
    )
    call_rows, calls_total = await repository.overdue_calls(
        db, me=me, owner_id=owner, client_id=client, page=calls_page
    )

    def item(row: RowMapping, kind: str, sequence: int, status: str) -> dict[str, Any]:
        next_reminder = rules.next_reminder_at(
            status=status,
            reminders_sent=row["reminders_sent"],
            max_reminders=row["max_reminders"],
            next_notice_at=row["next_notice_at"],
        )
        return {
            **row,
            "mine": me is not None and row["owner_id"] == me,
            "first_name": (row["full_name"] or "").split(" ")[0],
            "what": _what(kind, sequence),
            "due": _local(row["due_at"], tz),
            "next_reminder": _local(next_reminder, tz) if next_reminder else None,
            "overdue_by": _since(now - row["due_at"]),
        }

    calls = [
        item(row, "debrief_call", 1, "overdue") | {"ended": _local(row["ends_at"], tz)}
        for row in call_rows
    ]
    others = [item(row, row["kind"], row["sequence"], row["status"]) for row in other_rows]
    escalated = [
        {
            **row,
            "what": WHAT.get(row["kind"], row["kind"]),
            "due": _local(row["due_at"], tz),
            "overdue_by": _since(now - row["due_at"]),
        }
        for row in (await repository.escalated_to(db, me) if me is not None else [])
    ]
    view = _view(request.query_params)
    here = urlencode(view)
    context = {
        "user_name": user.name,
        "escalated": escalated,
        "csrf": session.csrf_token(settings, user),
        "calls": calls,
        "calls_pages": _pages(view, "calls_page", calls_page, calls_total),
        "others": others,
        "others_pages": _pages(view, "others_page", others_page, others_total),
        "recruiters": await repository.recruiters(db),
        "clients": await repository.clients_with_open_work(db),
        "owner_id": owner_id or "",
        "client_id": client_id or "",
        "view": f"?{here}" if here else "",  # what each form's answer goes back to
        "flash": done,
    }
    return page(request, "board.html", context)


@dataclass(frozen=True)
class _Pages:
    """Where a section of the board stands: its rows `first` to `last` of `total`, and the
    links to its previous and next pages (the other section stays on its page)."""

    total: int
    first: int
    last: int
    previous: str | None
    next: str | None


def _pages(view: dict[str, str], name: str, number: int, total: int) -> _Pages:
    """Where list `name` (its page parameter) stands on the board's `view` (`_view`)."""
    section = "calls" if name == "calls_page" else "other"

    def link(to: int) -> str:
        query = {k: v for k, v in view.items() if k != name} | ({name: str(to)} if to > 1 else {})
        return f"/board?{urlencode(query)}#{section}" if query else f"/board#{section}"

    first = (number - 1) * repository.PAGE + 1
    last = min(number * repository.PAGE, total)
    return _Pages(
        total=total,
        first=first,
        last=last,
        previous=link(min(number - 1, max(1, -(-total // repository.PAGE))))
        if number > 1
        else None,
        next=link(number + 1) if last < total else None,
    )


def _uuid(value: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(value) if value else None
    except ValueError:
        return None


@router.post(
    "/sign-in", response_class=HTMLResponse, responses=_PAGES, summary="Sign in with a staff key"
)
async def sign_in(
    request: Request, db: DB, session_: Session, settings: AppSettings, now: Now
) -> Response:
    form = await request.form()
    csrf = form.get("csrf")
    if session.foreign_origin(request, settings) or not session.sign_in_csrf_ok(
        request, settings, csrf if isinstance(csrf, str) else None
    ):
        error = "This sign-in page was out of date. Please try again."
        return _sign_in_page(request, settings, error, status=403)
    wait = sign_ins.take(connection_bucket(request))  # counts the attempts that check a key
    if wait is not None:
        return message(
            request,
            429,
            "Too many attempts",
            "Please wait a minute and try again.",
            headers={"Retry-After": str(wait)},
        )
    secret = str(form.get("api_key", "")).strip()
    row = await keys.find_live_key(db, hash_key(secret)) if secret else None
    if row is None or row["role"] not in session.STAFF_ROLES:
        error = "That key is not a live admin or recruiter key."
        return _sign_in_page(request, settings, error, status=401)
    response = RedirectResponse("/board", status_code=303)
    await session.start(response, request, settings, session_, key_id=row["id"], now=now)
    return response


def _sign_in_page(
    request: Request, settings: AppSettings, error: str | None, *, status: int = 200
) -> Response:
    nonce, csrf = session.sign_in_token(request, settings)
    response = page(request, "sign_in.html", {"error": error, "csrf": csrf}, status=status)
    session.keep_sign_in_nonce(response, request, settings, nonce)
    return response


@dataclass(frozen=True)
class _Sent:
    """A form of the board's, sent back: by `user`, or by nobody signed in (None: a stale
    form, or one from elsewhere, which `_stale` answers), with its fields."""

    request: Request
    user: BoardUser | None
    values: dict[str, str]
    session: AsyncSession
    settings: AppSettings
    now: datetime


async def _sent(
    request: Request, db: DB, session_: Session, settings: AppSettings, now: Now
) -> _Sent:
    user = await session.current_user(request, db, settings, now)
    form = await request.form()
    values = {k: v for k, v in form.items() if isinstance(v, str)}
    if (
        user is None
        or session.foreign_origin(request, settings)
        or not session.csrf_ok(settings, user, values.get("csrf"))
    ):
        return _Sent(request, None, values, session_, settings, now)
    unit_of_work(session_).actor = user.principal.actor  # the audit log names who changed it
    return _Sent(request, user, values, session_, settings, now)


SentForm = Annotated[_Sent, Depends(_sent)]


@router.post("/sign-out", response_class=HTMLResponse, responses=_PAGES, summary="Sign out")
async def sign_out(form: SentForm) -> Response:
    if form.user is None:
        return _stale(form.request)
    response = RedirectResponse("/board", status_code=303)
    await session.end(form.session, form.user, response)
    return response


def _stale(request: Request) -> HTMLResponse:
    return message(
        request,
        403,
        "Please sign in again",
        "Your session has ended or this page was out of date. Open the board again.",
    )


@router.post(
    "/interviews/{interview_id:uuid}/debrief",
    response_class=HTMLResponse,
    responses=_PAGES,
    summary="Record a debrief call",
)
async def record_call(interview_id: uuid.UUID, form: SentForm) -> Response:
    request, user, values, now = form.request, form.user, form.values, form.now
    if user is None:
        return _stale(request)
    data: dict[str, Any] = {"channel": "phone"}
    if values.get("overall_rating"):
        data["overall_rating"] = values["overall_rating"]
    if values.get("notes", "").strip():
        data["notes"] = values["notes"].strip()
    if values.get("thank_you_sent") == "yes":
        data["thank_you_sent_at"] = now  # sent by now, at the latest
    try:
        await debriefs.record_debrief(
            session=form.session,
            interview_id=interview_id,
            data=DebriefIn.model_validate(data),
            via="staff",
            actor=user.principal.actor,
            now=now,
        )
    except AppError as exc:
        return message(request, exc.status, "That call could not be recorded", exc.detail)
    return _back(request, "Call recorded.")


@router.post(
    "/follow-ups/{follow_up_id:uuid}/complete",
    response_class=HTMLResponse,
    responses=_PAGES,
    summary="Mark a follow-up done",
)
async def complete(follow_up_id: uuid.UUID, form: SentForm) -> Response:
    request, user = form.request, form.user
    if user is None:
        return _stale(request)
    try:
        follow_up = await followups.complete(
            session=form.session,
            follow_up_id=follow_up_id,
            actor=user.principal.actor,
            now=form.now,
        )
    except AppError as exc:
        return message(request, exc.status, "That could not be marked done", exc.detail)
    return _back(request, f"{_what(follow_up.kind, follow_up.sequence)} marked done.")


@router.post(
    "/follow-ups/{follow_up_id:uuid}/waive",
    response_class=HTMLResponse,
    responses=_PAGES,
    summary="Waive a follow-up",
)
async def waive(follow_up_id: uuid.UUID, form: SentForm) -> Response:
    request, user = form.request, form.user
    if user is None:
        return _stale(request)
    reason = form.values.get("reason", "").strip()[:500]
    if not reason:
        return message(request, 422, "Say why it does not apply", "A waiver needs a reason.")
    try:
        follow_up = await followups.waive(
            session=form.session,
            follow_up_id=follow_up_id,
            reason=reason,
            actor=user.principal.actor,
            now=form.now,
        )
    except AppError as exc:
        return message(request, exc.status, "That could not be waived", exc.detail)
    return _back(request, f"{_what(follow_up.kind, follow_up.sequence)} waived.")


@router.post(
    "/interviews/{interview_id:uuid}/employer-feedback/{feedback_id:uuid}/relay",
    response_class=HTMLResponse,
    responses=_PAGES,
    summary="Send the employer's feedback to the candidate",
)
async def relay(interview_id: uuid.UUID, feedback_id: uuid.UUID, form: SentForm) -> Response:
    """The staff member's confirmation, as `POST .../employer-feedback/{id}/relay`: the
    feedback goes to the candidate by email, word for word, and the relay is done."""
    request, user = form.request, form.user
    if user is None:
        return _stale(request)
    try:
        await notifications.relay_feedback(
            session=form.session,
            settings=form.settings,
            interview_id=interview_id,
            feedback_id=feedback_id,
            actor=user.principal.actor,
            now=form.now,
        )
    except AppError as exc:
        return message(request, exc.status, "That feedback could not be sent", exc.detail)
    return _back(request, "Feedback sent to the candidate.")
