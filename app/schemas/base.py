"""What every request and response body shares: the base models, and how the API writes
times and rows as JSON."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import orjson
from pydantic import (
    BaseModel,
    ConfigDict,
)


class InputModel(BaseModel):
    """Request bodies: unknown fields are refused, text is trimmed."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class OutputModel(BaseModel):
    model_config = ConfigDict(from_attributes=True)


def iso(moment: datetime | None) -> str | None:
    """UTC as the API writes it: 2026-03-04T10:00:00Z (microseconds only when there are some).

    Written by orjson: a feed page or a queue page writes a hundred of these, and
    `isoformat()` with `astimezone` costs three times as much per value."""
    if moment is None:
        return None
    if type(moment) is not datetime:  # a subclass (as test clocks make), which orjson refuses
        return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if moment.tzinfo is not UTC:
        moment = moment.astimezone(UTC)
    return orjson.dumps(moment, option=orjson.OPT_UTC_Z)[1:-1].decode()


def as_json(source: Any, fields: Iterable[str]) -> dict[str, Any]:
    """These fields of an object or row as the API writes them (for event payloads, where
    thousands are built at once and a schema round trip per row would cost too much)."""
    read = source.__getitem__ if isinstance(source, Mapping) else source.__getattribute__
    data: dict[str, Any] = {}
    for name in fields:
        value = read(name)
        if isinstance(value, datetime):
            value = iso(value)
        elif isinstance(value, uuid.UUID | Decimal):
            value = str(value)
        elif isinstance(value, date):
            value = value.isoformat()
        data[name] = value
    return data
