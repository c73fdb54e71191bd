"""The candidate's debrief form: server-rendered HTML, no JavaScript, one use per link."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from fastapi import Request
from pydantic import ValidationError
from starlette.responses import HTMLResponse, Response

from app.api.dependencies import DB, AppSettings, Now, Session
from app.api.html_pages import html_responses, message, page
from app.api.ratelimit import RateLimiter, connection_bucket
from app.api.routing import APIRouter
from app.config import Settings
from app.db.engine import Database
from app.debriefs import links, local_times
from app.debriefs.schemas import DebriefIn
from app.errors import AppError, Gone, NotFound
from app.followups import rules
from app.followups.service import read_policy

router = APIRouter(tags=["candidate form"])

FORM_COOKIE = "debrief_form"
LABELS = {
    "overall_rating": "Overall, how did it go?",
    "went_well": "What went well?",
    "went_badly": "What went less well?",
    "challenging_questions": "Questions you found hard",
    "strengths": "Strengths you showed",
    "weaknesses": "Weaknesses they may have seen",
    "still_interested": "Still interested",
    "company_fit": "Company fit",
    "salary_expectation": "Salary expectation",
    "thank_you_time": "When you sent your thank-you note",
    "notes": "Anything else",
}
STAGE_NAMES = {
    "screening": "screening",
    "first": "first",
    "second": "second",
    "final": "final",
    "assessment": "assessment",
    "other": "",
}
# Per link and per address, so a script cannot hammer a form (and nobody is locked out long).
per_link = RateLimiter(per_minute=1, burst=6)
per_address = RateLimiter(per_minute=6, burst=30)

_PAGES = html_responses(
    _403="The form's anti-forgery check failed: reload the link",
    _404="Not a link of ours",
    _410="Already used, or expired",
    _422="Some answers need correcting: the form again, with messages",
    _429="Too many attempts: see Retry-After",
)


def _not_ours(request: Request) -> HTMLResponse:
    return message(
        request,
        404,
        "We don't recognise this link",
        "Please check you copied the whole link from our email, "
        "or ask your recruiter for a new one.",
    )


def _closed(request: Request) -> HTMLResponse:
    return message(
        request,
        410,
        "This link has closed",
        "Thank you: it has either been used already or is more than a few days old.",
        "If you have more to tell us about the interview, just reply to your recruiter's email "
        "or give them a call.",
    )


def csrf_token(
    settings: Settings, token_hash: str, nonce: str, *, purpose: str = "form-csrf"
) -> str:
    """The form's anti-forgery field: bound to the link and to the page's cookie nonce."""
    key = settings.derived_key(purpose)
    return hmac.new(key, f"{token_hash}:{nonce}".encode(), hashlib.sha256).hexdigest()


def _csrf(settings: Settings, token_hash: str, nonce: str) -> str:
    return csrf_token(settings, token_hash, nonce)


def secure(request: Request) -> bool:
    return request.url.scheme == "https"


def too_many(
    request: Request, limiters: tuple[RateLimiter, RateLimiter], token: str
) -> Response | None:
    """The 429 page when this link, or this address, has posted too often of late."""
    for limiter, key in zip(limiters, (token[:64], connection_bucket(request)), strict=True):
        wait = limiter.take(key)
        if wait is not None:
            return message(
                request,
                429,
                "Please wait a moment",
                "You have sent this form several times in a short while. Try again in a minute.",
                headers={"Retry-After": str(wait)},
            )
    return None


def forged(request: Request, values: dict[str, str], nonce: str, expected: str) -> bool:
    """A post not sent from the page we served: no cookie nonce, a wrong field, or another
    site's Origin."""
    return (
        not nonce
        or not hmac.compare_digest(values.get("csrf", ""), expected)
        or _foreign_origin(request)
    )


async def _form_page(
    request: Request,
    db: Database,
    token: str,
    view: links.LinkView,
    settings: Settings,
    nonce: str,
    *,
    values: dict[str, str],
    errors: dict[str, str],
    status: int = 200,
) -> HTMLResponse:
    policy, _, _ = await read_policy(db)
    zone = tz = local_times.candidate_zone(view.candidate_timezone, policy)
    context = {
        "token": token,
        "link": view,
        "csrf": _csrf(settings, view.token_hash, nonce),
        "values": values,
        "errors": errors,
        "labels": LABELS,
        "stage_name": STAGE_NAMES.get(view.stage, ""),
        "interviewers": ", ".join(view.interviewers) or "your interviewers",
        "expires": f"{view.expires_at.astimezone(tz):%A %d %B}",
        # The note's date and time are asked on the candidate's own clock.
        "zone_name": zone.key,
        "interview_day": view.ends_at.astimezone(zone).date().isoformat(),
    }
    response = page(request, "form.html", context, status=status)
    response.set_cookie(
        FORM_COOKIE,
        nonce,
        max_age=3600,
        path="/f/",
        httponly=True,
        samesite="strict",
        secure=secure(request),
    )
    return response


async def _open_link(
    request: Request, db: Database, settings: Settings, token: str, now: datetime
) -> links.LinkView | Response:
    """The link, if it can still be used; else the page that says why not."""
    try:
        view = await links.view(db, settings, token, now=now)
    except NotFound:
        return _not_ours(request)
    return view if view.state == "open" else _closed(request)


@router.get(
    "/f/{token}",
    response_class=HTMLResponse,
    responses=_PAGES,
    summary="The candidate's debrief form",
)
async def open_form(
    token: str, request: Request, db: DB, settings: AppSettings, now: Now
) -> Response:
    """Opening the link shows the form and does not use the link up (mail scanners open links)."""
    view = await _open_link(request, db, settings, token, now)
    if isinstance(view, Response):
        return view
    nonce = request.cookies.get(FORM_COOKIE) or secrets.token_urlsafe(16)
    return await _form_page(request, db, token, view, settings, nonce, values={}, errors={})


def _thank_you_sent_at(
    values: dict[str, str], view: links.LinkView, zone: ZoneInfo, now: datetime
) -> datetime | None:
    """When the candidate says the note went out, on their own clock; None if they have not
    said they sent one. ValueError says what to correct. A time given without ticking "yes"
    counts as a yes; "not yet" ignores it."""
    said, clock = values.get("thank_you_sent"), values.get("thank_you_time", "").strip()
    if said == "no" or (said != "yes" and not clock):
        return None
    if not clock:
        raise ValueError("tell us roughly what time you sent it")
    typed = values.get("thank_you_date", "").strip()
    day = local_times.calendar_day(typed) if typed else view.ends_at.astimezone(zone).date()
    sent_at = local_times.moment(day, local_times.clock_time(clock), zone)
    problem = rules.reported_time_problem(sent_at, started_at=view.starts_at, now=now)
    if problem is not None:
        raise ValueError(f"that time {problem}")
    return sent_at


def _to_debrief(
    values: dict[str, str], view: links.LinkView, zone: ZoneInfo, now: datetime
) -> tuple[DebriefIn | None, dict[str, str]]:
    """The form's answers through the same schema the API uses."""
    data: dict[str, Any] = {"channel": "web_form"}
    errors: dict[str, str] = {}
    for name in (
        "overall_rating",
        "company_fit",
        "still_interested",
        "went_well",
        "went_badly",
        "strengths",
        "weaknesses",
        "notes",
    ):
        if values.get(name, "").strip():
            data[name] = values[name].strip()
    questions = [
        q.strip() for q in values.get("challenging_questions", "").splitlines() if q.strip()
    ]
    if questions:
        data["challenging_questions"] = questions
    for name in ("linkedin_connected", "other_applications_active"):
        if values.get(name) in ("yes", "no"):
            data[name] = values[name] == "yes"
    try:
        sent_at = _thank_you_sent_at(values, view, zone, now)
    except ValueError as exc:
        errors["thank_you_time"] = str(exc)
    else:
        if sent_at is not None:
            data["thank_you_sent_at"] = sent_at
    if values.get("salary_amount", "").strip():
        data["salary_expectation"] = {
            "amount": values["salary_amount"].strip(),
            "currency": values.get("salary_currency", "GBP"),
        }
    try:
        debrief = DebriefIn.model_validate(data)
    except ValidationError as exc:
        for error in exc.errors():
            field = str(error["loc"][0]) if error["loc"] else "form"
            errors.setdefault(field, str(error["msg"]).removeprefix("Value error, "))
        return None, errors
    return (None, errors) if errors else (debrief, {})


def _foreign_origin(request: Request) -> bool:
    origin = request.headers.get("origin")
    return bool(origin) and urlsplit(origin).netloc != request.url.netloc


@router.post(
    "/f/{token}", response_class=HTMLResponse, responses=_PAGES, summary="Send the debrief form"
)
async def submit_form(
    token: str, request: Request, session: Session, db: DB, settings: AppSettings, now: Now
) -> Response:
    """Records the debrief exactly as the API would and uses the link up."""
    limited = too_many(request, (per_link, per_address), token)
    if limited is not None:
        return limited
    view = await _open_link(request, db, settings, token, now)
    if isinstance(view, Response):
        return view
    form = await request.form()
    values = {k: v for k, v in form.items() if isinstance(v, str)}
    nonce = request.cookies.get(FORM_COOKIE, "")
    if forged(request, values, nonce, _csrf(settings, view.token_hash, nonce)):
        return message(
            request,
            403,
            "Please reload the form",
            "For your security this form has to be sent from the page we gave you. "
            "Open the link from our email again; your answers were not saved.",
        )
    policy, _, _ = await read_policy(db)
    zone = local_times.candidate_zone(view.candidate_timezone, policy)
    data, errors = _to_debrief(values, view, zone, now)
    if data is None:
        return await _form_page(
            request, db, token, view, settings, nonce, values=values, errors=errors, status=422
        )
    try:
        debrief, interview = await links.submit(
            session=session, settings=settings, token=token, data=data, now=now
        )
    except Gone:
        return _closed(request)
    except AppError as exc:
        return message(request, exc.status, "We could not take your answers", exc.detail)
    steps = await links.next_steps(session, interview, debrief, view.client_name, now=now)
    response = page(
        request,
        "thanks.html",
        {"first_name": view.candidate_first_name, "client_name": view.client_name, "steps": steps},
    )
    response.delete_cookie(FORM_COOKIE, path="/f/")
    return response
