"""Applying a PATCH body to a stored object, field by field."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from pydantic import BaseModel

from app.errors import FieldError, ValidationFailed


def patch_values(patch: BaseModel, *, not_null: Iterable[str]) -> dict[str, Any]:
    """The fields the caller sent; 422 if one that may not be empty was sent as null."""
    values = {name: getattr(patch, name) for name in patch.model_fields_set}
    nulls = sorted(name for name in not_null if name in values and values[name] is None)
    if nulls:
        raise ValidationFailed(
            f"These fields cannot be null: {', '.join(nulls)}.",
            errors=[
                FieldError(field=n, location="body", message="cannot be null", type="null")
                for n in nulls
            ],
        )
    return values


def changed_fields(obj: Any, values: dict[str, Any]) -> list[str]:
    """The names of the values that differ from the object's, sorted."""
    return sorted(name for name, value in values.items() if getattr(obj, name) != value)


def apply_changes(obj: Any, values: dict[str, Any], *, now: datetime) -> list[str]:
    """Set the values that differ; stamp updated_at. Returns the changed field names."""
    changed = changed_fields(obj, values)
    for name in changed:
        setattr(obj, name, values[name])
    if changed:
        obj.updated_at = now
    return changed
