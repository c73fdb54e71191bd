"""The board's sign-in: a staff API key, checked once, then a signed HTTP-only cookie.

The cookie holds the key's id (never the key), signed and expiring; every request checks
that the key is still live, so revoking it or deactivating the staff member signs out.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from dataclasses import dataclass

from fastapi import Request
from starlette.responses import Response

from app.auth import repository
from app.auth.principal import Principal
from app.auth.tokens import sign, unsign
from app.config import Settings
from app.db import Database

COOKIE = "debrief_board"
LIFETIME_SECONDS = 10 * 3600  # a working day
STAFF_ROLES = ("admin", "recruiter")


@dataclass(frozen=True)
class BoardUser:
    principal: Principal
    name: str
    cookie: str


async def current_user(request: Request, db: Database, settings: Settings) -> BoardUser | None:
    cookie = request.cookies.get(COOKIE)
    key_id = unsign(settings.secret_key.get_secret_value(), "board", cookie)
    if key_id is None or cookie is None:
        return None
    try:
        row = await repository.find_live_key_by_id(db, uuid.UUID(key_id))
    except ValueError:
        return None
    if row is None or row["role"] not in STAFF_ROLES:
        return None
    principal = Principal(
        key_id=row["id"], role=row["role"], staff_id=row["staff_id"], name=row["name"]
    )
    return BoardUser(principal=principal, name=row["full_name"] or row["name"], cookie=cookie)


def start(response: Response, request: Request, settings: Settings, key_id: uuid.UUID) -> None:
    value = sign(
        settings.secret_key.get_secret_value(), "board", str(key_id), ttl_seconds=LIFETIME_SECONDS
    )
    response.set_cookie(
        COOKIE,
        value,
        max_age=LIFETIME_SECONDS,
        path="/board",
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )


def end(response: Response) -> None:
    response.delete_cookie(COOKIE, path="/board")


def csrf_token(settings: Settings, cookie: str) -> str:
    key = settings.secret_key.get_secret_value().encode()
    return hmac.new(key, f"board-csrf:{cookie}".encode(), hashlib.sha256).hexdigest()


def csrf_ok(settings: Settings, user: BoardUser, submitted: str | None) -> bool:
    return bool(submitted) and hmac.compare_digest(
        submitted or "", csrf_token(settings, user.cookie)
    )
