"""One-click unsubscribe tokens and the suppression list's address hashes.

An unsubscribe token names the message it came in and is signed with a key derived from
DEBRIEF_SECRET_KEY for this use alone, so it needs no sign-in and nothing is stored for it.
Suppressed addresses are kept only as keyed hashes, like erased people's CRM ids."""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid

from app.config import Settings

TOKEN_PATTERN = r"^[0-9a-f]{32}\.[A-Za-z0-9_-]{22}$"  # noqa: S105 - a shape, not a secret


def address_hash(settings: Settings, address: str) -> str:
    key = settings.derived_key("suppression")
    return hmac.new(key, address.strip().lower().encode(), hashlib.sha256).hexdigest()


def _signature(settings: Settings, notification_id: uuid.UUID) -> str:
    digest = hmac.new(
        settings.derived_key("unsubscribe"), notification_id.bytes, hashlib.sha256
    ).digest()
    return base64.urlsafe_b64encode(digest[:16]).decode().rstrip("=")


def unsubscribe_token(settings: Settings, notification_id: uuid.UUID) -> str:
    return f"{notification_id.hex}.{_signature(settings, notification_id)}"


def unsubscribe_url(settings: Settings, notification_id: uuid.UUID) -> str:
    base = str(settings.public_base_url).rstrip("/")
    return f"{base}/u/{unsubscribe_token(settings, notification_id)}"


def notification_of(settings: Settings, token: str) -> uuid.UUID | None:
    """The message an unsubscribe token came in, if the token is ours."""
    ident, _, signature = token.partition(".")
    try:
        notification_id = uuid.UUID(hex=ident)
    except ValueError:
        return None
    if not hmac.compare_digest(signature, _signature(settings, notification_id)):
        return None
    return notification_id
