"""Candidate link tokens and signed browser values (board sessions, form CSRF tokens).

A link token carries 256 random bits; only its HMAC (keyed with DEBRIEF_SECRET_KEY) is
stored. Tokens never start like an API key and are never looked up as one.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time


def new_link_token() -> str:
    return secrets.token_urlsafe(32)


def link_token_hash(secret_key: str, token: str) -> str:
    return hmac.new(
        secret_key.encode(), b"debrief-link:" + token.encode(), hashlib.sha256
    ).hexdigest()


def sign(secret_key: str, purpose: str, value: str, *, ttl_seconds: int) -> str:
    """`value.expiry.signature`, valid for `ttl_seconds`, for one purpose only."""
    expires = str(int(time.time()) + ttl_seconds)
    mac = _mac(secret_key, purpose, f"{value}.{expires}")
    return f"{value}.{expires}.{mac}"


def unsign(secret_key: str, purpose: str, signed: str | None) -> str | None:
    """The value if the signature is good and not expired, else None."""
    if not signed or signed.count(".") < 2:
        return None
    value, expires, mac = signed.rsplit(".", 2)
    if not hmac.compare_digest(mac, _mac(secret_key, purpose, f"{value}.{expires}")):
        return None
    if not expires.isdigit() or int(expires) < time.time():
        return None
    return value


def _mac(secret_key: str, purpose: str, message: str) -> str:
    digest = hmac.new(secret_key.encode(), f"{purpose}:{message}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
