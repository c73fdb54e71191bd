"""One-click unsubscribe (RFC 8058) for candidates: no sign-in. Opening the link shows a
button (mail scanners fetch links, so a GET changes nothing); the POST, from that button or
straight from the mail client's own unsubscribe, suppresses the address."""

from __future__ import annotations

from fastapi import Path, Request
from starlette.responses import HTMLResponse

from app.api.dependencies import AppSettings, Now, Session
from app.api.html_pages import html_responses, message, page
from app.api.routing import APIRouter
from app.errors import NotFound
from app.notifications import service, tokens

router = APIRouter(tags=["candidate form"])

Token = Path(pattern=tokens.TOKEN_PATTERN, description="From the email's unsubscribe link.")
_PAGES = html_responses(_404="Not a link of ours")


def _not_ours(request: Request) -> HTMLResponse:
    return message(
        request,
        404,
        "We don't recognise this link",
        "Please check you copied the whole link from our email.",
    )


@router.get("/u/{token}", response_class=HTMLResponse, responses=_PAGES, summary="Unsubscribe page")
async def unsubscribe_page(
    request: Request, settings: AppSettings, token: str = Token
) -> HTMLResponse:
    if tokens.notification_of(settings, token) is None:
        return _not_ours(request)
    return page(request, "unsubscribe.html", {"token": token, "agency": settings.agency_name})


@router.post(
    "/u/{token}",
    response_class=HTMLResponse,
    responses=_PAGES,
    summary="Unsubscribe (one click)",
)
async def unsubscribe(
    request: Request, session: Session, settings: AppSettings, now: Now, token: str = Token
) -> HTMLResponse:
    """Never email this address again. Works from the page's button and as RFC 8058's
    one-click POST (`List-Unsubscribe=One-Click`)."""
    try:
        await service.unsubscribe(session=session, settings=settings, token=token, now=now)
    except NotFound:
        return _not_ours(request)
    return message(
        request,
        200,
        "You are unsubscribed",
        f"{settings.agency_name} will not email you again about your interviews. "
        "Your recruiter can still call you.",
    )
