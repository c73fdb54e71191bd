"""How a caller sends its API key: `Authorization: Bearer <key>`."""

from __future__ import annotations


def secret_of(authorization: str | None) -> str | None:
    """The key in an `Authorization: Bearer <key>` header, or None."""
    scheme, _, secret = (authorization or "").partition(" ")
    secret = secret.strip()
    return secret if scheme.lower() == "bearer" and secret else None
