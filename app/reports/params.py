"""Query parameters the reports share: a date range (`from`, `to`) and a bucket size.

`from` and `to` are each a date (`2026-03-01`, a UTC day) or a timestamp with an offset
(`2026-03-01T09:00:00+01:00`). The range is half-open, `from` <= t < `to`, except that a
date given as `to` includes that whole day. Without them a report covers the 90 days up to
now; a range may span at most 731 days (two years, so a year can be set beside the last).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Literal

from fastapi import Depends, Query
from pydantic import BeforeValidator

from app.api.dependencies import Now
from app.errors import ValidationFailed
from app.schemas.fields import within_calendar, within_calendar_day

DEFAULT_DAYS = 90
MAX_DAYS = 731
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$", re.ASCII)
# RFC 3339, as OpenAPI's `date-time`: an offset is required (naive times are refused).
_MOMENT = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([Zz]|[+-]\d{2}:\d{2})$", re.ASCII
)
_EXPECTED = "give a date (2026-03-01) or a timestamp with an offset (2026-03-01T09:00:00Z)"


def _date_or_moment(value: object) -> object:
    """A date, or an aware timestamp in UTC; anything else (a number, a naive time) is
    refused rather than guessed at."""
    if not isinstance(value, str):
        return value
    try:
        if _DATE.match(value):
            return within_calendar_day(date.fromisoformat(value))
        if _MOMENT.match(value):
            return within_calendar(datetime.fromisoformat(value.upper()))
    except (ValueError, OverflowError) as exc:
        raise ValueError(f"not a valid date or time: {exc}") from exc
    raise ValueError(_EXPECTED)


DateOrTimestamp = Annotated[date | datetime, BeforeValidator(_date_or_moment)]

_FROM_DOC = (
    "Start: a date (a UTC day, included) or a timestamp with an offset. "
    "Default: 90 days before `to`."
)
_TO_DOC = (
    "End: a date (a UTC day, included) or a timestamp with an offset (excluded). Default: now."
)


@dataclass(frozen=True)
class DateRange:
    """`start` <= t < `end`, both aware UTC datetimes."""

    start: datetime
    end: datetime


def _start_of(value: date | datetime) -> datetime:
    if isinstance(value, datetime):
        return value
    return datetime.combine(value, time(0), tzinfo=UTC)


def _end_of(value: date | datetime) -> datetime:
    if isinstance(value, datetime):
        return value
    return datetime.combine(value + timedelta(days=1), time(0), tzinfo=UTC)


def resolve_range(
    start: date | datetime | None,
    end: date | datetime | None,
    *,
    now: datetime,
    default_days: int | None = DEFAULT_DAYS,
    max_days: int | None = MAX_DAYS,
) -> DateRange | None:
    """The range asked for, with defaults; None when neither end is given and there is no
    default (the whole history). 422 when the range is empty (`from` not before `to`) or
    too long."""
    if start is None and end is None and default_days is None:
        return None
    try:
        until = _end_of(end) if end is not None else now
        if start is not None:
            since = _start_of(start)
        elif default_days is not None:
            since = until - timedelta(days=default_days)
        else:
            since = datetime(1970, 1, 1, tzinfo=UTC)
    except OverflowError as exc:
        raise ValidationFailed.field(
            "to", "outside the calendar this service handles", location="query"
        ) from exc
    if since >= until:
        raise ValidationFailed.field("from", "must be before `to`", location="query")
    if max_days is not None and until - since > timedelta(days=max_days):
        raise ValidationFailed.field(
            "to", f"the range may span at most {max_days} days", location="query"
        )
    return DateRange(since, until)


async def report_range(
    now: Now,
    from_: Annotated[DateOrTimestamp | None, Query(alias="from", description=_FROM_DOC)] = None,
    to: Annotated[DateOrTimestamp | None, Query(description=_TO_DOC)] = None,
) -> DateRange:
    resolved = resolve_range(from_, to, now=now)
    assert resolved is not None
    return resolved


async def optional_range(
    now: Now,
    from_: Annotated[
        DateOrTimestamp | None,
        Query(alias="from", description="Start (a date or a timestamp). Default: the beginning."),
    ] = None,
    to: Annotated[
        DateOrTimestamp | None,
        Query(description="End (a date, included, or a timestamp, excluded). Default: now."),
    ] = None,
) -> DateRange | None:
    return resolve_range(from_, to, now=now, default_days=None, max_days=None)


ReportRange = Annotated[DateRange, Depends(report_range)]
OptionalRange = Annotated[DateRange | None, Depends(optional_range)]
Bucket = Literal["week", "month"]
