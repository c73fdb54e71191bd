"""Secrets kept at rest: sealed with AES-256-GCM under a key derived from DEBRIEF_SECRET_KEY.

Some secrets must be used again, so they cannot be hashed: a webhook endpoint's signing
secret and a staff member's chat URL (which carries the chat service's token). They are stored
sealed, so a copy of the database, a dump or a backup alone does not give them away.

A sealed value is text: `sealed:v1:` and the URL-safe base64 of a random 96-bit nonce, the
ciphertext and its tag. `v1` names the key it was sealed with (the "sealed" purpose of
`Settings.derived_key`); a later key gets a new version, and `open` is where both would be
read while the old values are sealed again. An AEAD never opens a value under another key
into garbage: a changed DEBRIEF_SECRET_KEY raises `Unsealable`, which each user of a sealed
value turns into a message that says what to do (docs/security.md)."""

from __future__ import annotations

import base64
import binascii
import os
from typing import TYPE_CHECKING

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

if TYPE_CHECKING:
    from app.config import Settings

PREFIX = "sealed:v1:"
_NONCE_BYTES = 12


class Unsealable(ValueError):
    """A stored value this install's key cannot open: sealed under another
    DEBRIEF_SECRET_KEY, damaged, or never sealed."""


def is_sealed(stored: str) -> bool:
    return stored.startswith(PREFIX)


class Sealer:
    """Seals and opens the secrets the database keeps, with one install's key."""

    def __init__(self, key: bytes) -> None:
        self._aead = AESGCM(key)

    @classmethod
    def of(cls, settings: Settings) -> Sealer:
        return cls(settings.derived_key("sealed"))

    def seal(self, plain: str) -> str:
        nonce = os.urandom(_NONCE_BYTES)
        sealed = nonce + self._aead.encrypt(nonce, plain.encode(), None)
        return PREFIX + base64.urlsafe_b64encode(sealed).decode().rstrip("=")

    def open(self, stored: str) -> str:
        """The plain value; `Unsealable` if this key cannot open it."""
        if not is_sealed(stored):
            raise Unsealable("the stored value is not sealed")
        encoded = stored[len(PREFIX) :]
        try:
            raw = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
            plain = self._aead.decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], None)
        except (InvalidTag, binascii.Error, ValueError):
            raise Unsealable(
                "the stored value was sealed with another DEBRIEF_SECRET_KEY (or is damaged)"
            ) from None
        return plain.decode()

    def opens(self, stored: str) -> bool:
        """Whether this key opens the stored value."""
        try:
            self.open(stored)
        except Unsealable:
            return False
        return True
