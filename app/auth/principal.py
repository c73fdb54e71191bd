"""Who is calling: the identity behind a verified API key."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from app.schemas.fields import Role


@dataclass(frozen=True, slots=True)
class Principal:
    key_id: uuid.UUID
    role: Role
    staff_id: uuid.UUID | None
    name: str

    @property
    def actor(self) -> str:
        """How this caller is named in records: `key:<id>`."""
        return f"key:{self.key_id}"
