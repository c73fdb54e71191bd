"""API key material: random, shown once, stored as a SHA-256 hash with a visible prefix."""

from __future__ import annotations

import hashlib
import secrets

KEY_PREFIX = "dbr_"
VISIBLE_CHARS = 12


def generate_key() -> tuple[str, str, str]:
    """A new key as (secret, visible prefix, hash). 256 bits of randomness."""
    secret = KEY_PREFIX + secrets.token_urlsafe(32)
    return secret, secret[:VISIBLE_CHARS], hash_key(secret)


def hash_key(secret: str) -> str:
    # The key carries 256 random bits, so a fast hash is enough: nothing to brute-force.
    return hashlib.sha256(secret.encode()).hexdigest()
