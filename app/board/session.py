"""The board's sign-in: a staff API key, checked once, then a server-side session.

The cookie holds a random session id (never the key, never the key's id); the database
holds only its keyed hash, the API key it was opened with and when it expires. Every
request looks the session up and checks that the key is still live and a staff key, so
revoking it, deactivating the staff member or signing out ends the session at once.

Forms carry a CSRF token: after sign-in one bound to the session, before it one bound to
a random `debrief_board_signin` cookie (double submit, keyed so it cannot be made up).
Posts with an `Origin` header from another site are refused as well.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from fastapi import Request
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from app.auth.principal import Principal
from app.board import repository
from app.config import Settings
from app.db.engine import Database
from app.models import BoardSession

COOKIE = "debrief_board"
SIGN_IN_COOKIE = "debrief_board_signin"
LIFETIME = timedelta(hours=10)  # a working day
STAFF_ROLES = ("admin", "recruiter")
_MAX_COOKIE = 100  # token_urlsafe(32) is 43 characters


@dataclass(frozen=True)
class BoardUser:
    principal: Principal
    name: str
    session_hash: str
    timezone: str | None = None  # the staff member's own; the board shows times in it


def _hash(settings: Settings, session_id: str) -> str:
    key = settings.derived_key("board-session")
    return hmac.new(key, session_id.encode(), hashlib.sha256).hexdigest()


def _csrf(settings: Settings, what: str) -> str:
    return hmac.new(settings.derived_key("board-csrf"), what.encode(), hashlib.sha256).hexdigest()


def _cookie_value(request: Request, name: str) -> str | None:
    value = request.cookies.get(name)
    return value if value and len(value) <= _MAX_COOKIE else None


def _secure(request: Request, settings: Settings) -> bool:
    return settings.public_base_url.scheme == "https" or request.url.scheme == "https"


async def current_user(
    request: Request, db: Database, settings: Settings, now: datetime
) -> BoardUser | None:
    cookie = _cookie_value(request, COOKIE)
    if cookie is None:
        return None
    session_hash = _hash(settings, cookie)
    row = await repository.live_session(db, session_hash, now=now, roles=STAFF_ROLES)
    if row is None:
        return None
    principal = Principal(
        key_id=row["id"], role=row["role"], staff_id=row["staff_id"], name=row["name"]
    )
    return BoardUser(
        principal=principal,
        name=row["full_name"] or row["name"],
        session_hash=session_hash,
        timezone=row["timezone"],
    )


async def start(
    response: Response,
    request: Request,
    settings: Settings,
    session: AsyncSession,
    *,
    key_id: uuid.UUID,
    now: datetime,
) -> None:
    """Open a session for this key and hand its id to the browser."""
    session_id = secrets.token_urlsafe(32)
    session.add(
        BoardSession(
            id_hash=_hash(settings, session_id),
            api_key_id=key_id,
            created_at=now,
            expires_at=now + LIFETIME,
        )
    )
    await session.flush()
    response.set_cookie(
        COOKIE,
        session_id,
        max_age=int(LIFETIME.total_seconds()),
        path="/board",
        httponly=True,
        samesite="lax",
        secure=_secure(request, settings),
    )
    response.delete_cookie(SIGN_IN_COOKIE, path="/board")


async def end(session: AsyncSession, user: BoardUser | None, response: Response) -> None:
    """Delete the session, so its cookie is refused from now on, and clear the cookie."""
    if user is not None:
        await session.execute(delete(BoardSession).where(BoardSession.id_hash == user.session_hash))
    response.delete_cookie(COOKIE, path="/board")


def csrf_token(settings: Settings, user: BoardUser) -> str:
    return _csrf(settings, f"session:{user.session_hash}")


def csrf_ok(settings: Settings, user: BoardUser, submitted: str | None) -> bool:
    return bool(submitted) and hmac.compare_digest(submitted or "", csrf_token(settings, user))


def sign_in_token(request: Request, settings: Settings) -> tuple[str, str]:
    """The sign-in form's nonce (the browser's, or a new one) and the token bound to it."""
    nonce = _cookie_value(request, SIGN_IN_COOKIE) or secrets.token_urlsafe(32)
    return nonce, _csrf(settings, f"sign-in:{nonce}")


def keep_sign_in_nonce(
    response: Response, request: Request, settings: Settings, nonce: str
) -> None:
    response.set_cookie(
        SIGN_IN_COOKIE,
        nonce,
        path="/board",
        httponly=True,
        samesite="lax",
        secure=_secure(request, settings),
    )


def sign_in_csrf_ok(request: Request, settings: Settings, submitted: str | None) -> bool:
    nonce = _cookie_value(request, SIGN_IN_COOKIE)
    if nonce is None or not submitted:
        return False
    return hmac.compare_digest(submitted, _csrf(settings, f"sign-in:{nonce}"))


def foreign_origin(request: Request, settings: Settings) -> bool:
    """True if the browser says this post comes from a page of another site."""
    origin = request.headers.get("origin")
    if origin is None:
        return False  # not sent by every client; the CSRF token still has to match
    parts = urlsplit(origin)
    try:
        port = parts.port
    except ValueError:
        return True
    public = settings.public_base_url
    if _origin(parts.scheme, parts.hostname, port) == _origin(
        public.scheme, public.host, public.port
    ):
        return False
    return not parts.netloc or parts.netloc != request.url.netloc


def _origin(scheme: str, host: str | None, port: int | None) -> tuple[str, str, int | None]:
    default = {"http": 80, "https": 443}.get(scheme)
    return scheme, (host or "").lower(), None if port == default else port


async def delete_expired(db: Database, now: datetime) -> int:
    """Forget the sessions past their day (the sweep's part for the board)."""
    return await repository.delete_expired_sessions(db, now)
