"""Times a candidate gives on the form: a date and a time of day on their own clock."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from app.followups.policy import FollowUpPolicy

# 13:30, 9.05, 1:30pm, 2 pm, 14h30: what people type where a browser has no time picker.
_CLOCK = re.compile(r"^(\d{1,2})(?:[:.h](\d{2}))?\s*([ap])?\.?m?\.?$", re.IGNORECASE)


def candidate_zone(candidate_timezone: str | None, policy: FollowUpPolicy) -> ZoneInfo:
    """The candidate's own time zone when known, else the agency's."""
    return ZoneInfo(candidate_timezone or policy.timezone)


def clock_time(text: str) -> time:
    """A time of day as typed (24-hour, or with am/pm); ValueError if it is not one."""
    match = _CLOCK.match(text.strip())
    if match is None:
        raise ValueError("give a time of day, such as 13:30")
    hour, minute = int(match.group(1)), int(match.group(2) or 0)
    half = (match.group(3) or "").lower()
    if half:
        if not 1 <= hour <= 12:
            raise ValueError("give a time of day, such as 1:30pm or 13:30")
        hour = hour % 12 + (12 if half == "p" else 0)
    if hour > 23 or minute > 59:
        raise ValueError("give a time of day, such as 13:30")
    return time(hour, minute)


def calendar_day(text: str) -> date:
    """A date as a browser's date field sends it (2026-03-04); ValueError otherwise."""
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise ValueError("give the date as year-month-day, such as 2026-03-04") from None


def moment(day: date, clock: time, zone: ZoneInfo) -> datetime:
    """The instant that wall-clock `day` and `clock` name in `zone`, in UTC. Of the two
    instants an hour repeated at the end of summer time names, the first."""
    return datetime.combine(day, clock, tzinfo=zone).astimezone(UTC)
