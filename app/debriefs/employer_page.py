"""The client contact's decision page: server-rendered HTML, no JavaScript, no sign-in.

The same protections as the candidate's form (`public_router`): an anti-forgery field bound
to the link and a cookie, an Origin check, per-link and per-address rate limits, the pages'
CSP, and the token redacted from every log line."""

from __future__ import annotations

import secrets
from datetime import date, datetime
from typing import cast, get_args

from fastapi import Request
from starlette.responses import HTMLResponse, Response

from app.api.dependencies import DB, AppSettings, Now, Session
from app.api.html_pages import html_responses, message, page
from app.api.ratelimit import RateLimiter
from app.api.routing import APIRouter
from app.config import Settings
from app.debriefs import employer_links
from app.debriefs.public_router import csrf_token, forged, secure, too_many
from app.debriefs.schemas import EmployerAnswer
from app.errors import AppError, Gone, NotFound
from app.followups.service import read_policy
from app.schemas.fields import Stage, local_zone

router = APIRouter(tags=["client decision page"])

COOKIE = "debrief_decision"
CSRF_PURPOSE = "decision-csrf"
STAGES: tuple[str, ...] = get_args(Stage)
ANSWERS: tuple[str, ...] = get_args(EmployerAnswer)
MAX_TEXT = 4000
LABELS = {
    "answer": "Your decision",
    "decision_expected_by": "New date for your decision",
    "next_stage": "Next round",
    "strengths": "Strengths",
    "improvements": "What to work on",
}
per_link = RateLimiter(per_minute=1, burst=6)
per_address = RateLimiter(per_minute=6, burst=30)

_PAGES = html_responses(
    _403="The page's anti-forgery check failed: reload the link",
    _404="Not a link of ours",
    _410="Answered, revoked or expired",
    _422="Some answers need correcting: the page again, with messages",
    _429="Too many attempts: see Retry-After",
)


def _day(day: date) -> str:
    return f"{day:%A} {day.day} {day:%B}"


def _not_ours(request: Request) -> HTMLResponse:
    return message(
        request,
        404,
        "We don't recognise this link",
        "Please check you copied the whole link from our email, or reply to it and we will "
        "send a new one.",
    )


def _closed(request: Request) -> HTMLResponse:
    return message(
        request,
        410,
        "This link has closed",
        "It has been answered already, withdrawn, or is more than a few days old.",
        "If you have news about the candidate, just reply to our email or give us a call.",
    )


async def _open(
    request: Request, db: DB, settings: Settings, token: str, now: datetime
) -> employer_links.LinkView | Response:
    try:
        view = await employer_links.view(db, settings, token, now=now)
    except NotFound:
        return _not_ours(request)
    return view if view.state == "open" else _closed(request)


async def _page(
    request: Request,
    db: DB,
    settings: Settings,
    token: str,
    view: employer_links.LinkView,
    nonce: str,
    *,
    values: dict[str, str],
    errors: dict[str, str],
    status: int = 200,
) -> HTMLResponse:
    policy, _, _ = await read_policy(db)
    zone = local_zone(None, policy.timezone)
    context = {
        "token": token,
        "link": view,
        "csrf": csrf_token(settings, view.token_hash, nonce, purpose=CSRF_PURPOSE),
        "values": values,
        "errors": errors,
        "labels": LABELS,
        "stages": STAGES,
        "interviewed": _day(view.starts_at.astimezone(zone).date()),
        "promised": _day(view.decision_expected_by) if view.decision_expected_by else None,
        "expires": _day(view.expires_at.astimezone(zone).date()),
        "agency": settings.agency_name,
    }
    response = page(request, "decision.html", context, status=status)
    response.set_cookie(
        COOKIE,
        nonce,
        max_age=3600,
        path="/e/",
        httponly=True,
        samesite="strict",
        secure=secure(request),
    )
    return response


@router.get(
    "/e/{token}",
    response_class=HTMLResponse,
    responses=_PAGES,
    summary="The client's decision page",
)
async def open_page(
    token: str, request: Request, db: DB, settings: AppSettings, now: Now
) -> Response:
    """Opening the link shows the page and uses nothing up (mail scanners open links)."""
    view = await _open(request, db, settings, token, now)
    if isinstance(view, Response):
        return view
    nonce = request.cookies.get(COOKIE) or secrets.token_urlsafe(16)
    return await _page(request, db, settings, token, view, nonce, values={}, errors={})


def read_answer(
    values: dict[str, str], *, today: date
) -> tuple[employer_links.Answer | None, dict[str, str]]:
    """The page's fields as an answer, or what to correct."""
    errors: dict[str, str] = {}
    answer = values.get("answer", "")
    if answer not in ANSWERS:
        return None, {"answer": "choose one of the answers"}
    texts = {}
    for name in ("strengths", "improvements"):
        text = values.get(name, "").strip()
        if len(text) > MAX_TEXT:
            errors[name] = f"at most {MAX_TEXT} characters"
        texts[name] = text or None
    if answer == "still_deciding":
        typed = values.get("decision_expected_by", "").strip()
        try:
            day = date.fromisoformat(typed)
        except ValueError:
            errors["decision_expected_by"] = "give the date you expect to decide by"
        else:
            if day <= today:
                errors["decision_expected_by"] = "must be after today"
            elif (day - today).days > 366:
                errors["decision_expected_by"] = "must be within a year"
        if errors:
            return None, errors
        return employer_links.Answer(answer="still_deciding", decision_expected_by=day), {}
    stage = values.get("next_stage", "")
    if answer == "next_round" and stage not in STAGES:
        errors["next_stage"] = "choose the next round's stage"
    if errors:
        return None, errors
    return (
        employer_links.Answer(
            answer=cast(EmployerAnswer, answer),
            next_stage=cast(Stage, stage) if answer == "next_round" else None,
            strengths=texts["strengths"],
            improvements=texts["improvements"],
            relay_allowed=values.get("relay_allowed") == "yes",
        ),
        {},
    )


@router.post(
    "/e/{token}",
    response_class=HTMLResponse,
    responses=_PAGES,
    summary="Send the client's decision",
)
async def submit_page(
    token: str, request: Request, session: Session, db: DB, settings: AppSettings, now: Now
) -> Response:
    """Applies the answer exactly as the API would (a decision closes the link)."""
    limited = too_many(request, (per_link, per_address), token)
    if limited is not None:
        return limited
    view = await _open(request, db, settings, token, now)
    if isinstance(view, Response):
        return view
    form = await request.form()
    values = {k: v for k, v in form.items() if isinstance(v, str)}
    nonce = request.cookies.get(COOKIE, "")
    expected = csrf_token(settings, view.token_hash, nonce, purpose=CSRF_PURPOSE)
    if forged(request, values, nonce, expected):
        return message(
            request,
            403,
            "Please reload the page",
            "For your security this page has to be sent from the link we gave you. "
            "Open the link from our email again; your answer was not saved.",
        )
    policy, _, _ = await read_policy(db)
    today = now.astimezone(local_zone(None, policy.timezone)).date()
    answer, errors = read_answer(values, today=today)
    if answer is None:
        return await _page(
            request, db, settings, token, view, nonce, values=values, errors=errors, status=422
        )
    try:
        await employer_links.submit(
            session=session, settings=settings, token=token, answer=answer, now=now
        )
    except Gone:
        return _closed(request)
    except AppError as exc:
        return message(request, exc.status, "We could not take your answer", exc.detail)
    response = page(
        request,
        "decision_thanks.html",
        {
            "answer": answer.answer,
            "candidate_name": view.candidate_name,
            "decide_by": _day(answer.decision_expected_by) if answer.decision_expected_by else None,
            "agency": settings.agency_name,
        },
    )
    response.delete_cookie(COOKIE, path="/e/")
    return response
