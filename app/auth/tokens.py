"""Candidate link tokens: 256 random bits, of which only a keyed hash is stored.

The hash's key is derived from DEBRIEF_SECRET_KEY for this use alone
(`Settings.derived_key("link-token")`). Tokens never start like an API key and are never
looked up as one.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from app.config import Settings


def new_link_token() -> str:
    return secrets.token_urlsafe(32)


def link_token_hash(settings: Settings, token: str) -> str:
    return hmac.new(settings.derived_key("link-token"), token.encode(), hashlib.sha256).hexdigest()
