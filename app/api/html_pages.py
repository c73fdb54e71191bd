"""Server-rendered pages (the candidate's form, the recruiters' board): templates and the
security headers every page carries."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from starlette.responses import HTMLResponse
from starlette.templating import Jinja2Templates

templates = Jinja2Templates(directory=Path(__file__).resolve().parents[1] / "templates")

PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    # Same-origin: the token in the URL never leaks to another site, and our own form posts
    # still carry an Origin header to check (under no-referrer browsers send "null").
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
}


def html_responses(**descriptions: str) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for pages answered with these statuses (`_410="..."`)."""
    return {
        int(status.lstrip("_")): (
            {"description": text, "headers": {"Location": {"schema": {"type": "string"}}}}
            if status == "_303"
            else {"content": {"text/html": {}}, "description": text}
        )
        for status, text in descriptions.items()
    }


def page(
    request: Request,
    template: str,
    context: dict[str, Any],
    *,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    return templates.TemplateResponse(
        request, template, context, status_code=status, headers={**PAGE_HEADERS, **(headers or {})}
    )


def message(
    request: Request,
    status: int,
    heading: str,
    *paragraphs: str,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    return page(
        request,
        "message.html",
        {"heading": heading, "paragraphs": paragraphs},
        status=status,
        headers=headers,
    )
