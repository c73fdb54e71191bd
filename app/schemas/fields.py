"""Validated field types shared by the schemas: text limits, times, phones, emails, zones,
URLs, currencies, and the names of stages and statuses."""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, date, datetime
from functools import lru_cache
from importlib import resources
from typing import Annotated, Any, Literal

import phonenumbers
import phonenumbers.phonenumberutil
import phonenumbers.re_util
from email_validator import EmailNotValidError, validate_email
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BeforeValidator,
    HttpUrl,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    WithJsonSchema,
)

from app.schemas.currencies import CURRENCY_CODES

Name = Annotated[str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True)]
ShortText = Annotated[str, StringConstraints(min_length=1, max_length=500, strip_whitespace=True)]
LongText = Annotated[str, StringConstraints(max_length=4000, strip_whitespace=True)]
ExternalId = Annotated[
    str,
    StringConstraints(min_length=1, max_length=100, strip_whitespace=True, pattern=r"^[^\s]+$"),
]


# The instants the service takes: a UTC time from 1900 up to the end of 2999. The rules add
# at most a few months to a time (policy durations are bounded), and Python's datetime ends
# at 9999-12-31 (where `9999-12-31T23:59:59-01:00` has no UTC value at all), so every
# computation inside this range works; outside it a time is refused with 422.
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(2999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)
_OUT_OF_RANGE = "must be between 1900-01-01T00:00:00Z and 2999-12-31T23:59:59Z"


def within_calendar(value: datetime) -> datetime:
    """`value` in UTC, or ValueError when it lies outside [EARLIEST, LATEST]."""
    try:
        moment = value.astimezone(UTC)
    except OverflowError as exc:
        raise ValueError(_OUT_OF_RANGE) from exc
    if not EARLIEST <= moment <= LATEST:
        raise ValueError(_OUT_OF_RANGE)
    return moment


def within_calendar_day(value: date) -> date:
    if not EARLIEST.date() <= value <= LATEST.date():
        raise ValueError("must be between 1900-01-01 and 2999-12-31")
    return value


_ISO_DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}")


def _iso_text(value: Any) -> Any:
    """RFC 3339 text only: pydantic would also read a number (`0.5`, `"1700000000"`) as
    seconds since 1970, which nobody sending a date means."""
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not _ISO_DATE_TIME.match(value):
        raise ValueError("must be an RFC 3339 date-time with an offset, e.g. 2026-03-04T10:00:00Z")
    return value


# Timestamps must carry an offset (naive ones are refused with 422), lie within the
# calendar the service computes with, and are kept in UTC.
Timestamp = Annotated[AwareDatetime, BeforeValidator(_iso_text), AfterValidator(within_calendar)]
# A calendar day, in the same range.
Day = Annotated[date, AfterValidator(within_calendar_day)]


def cache_phone_patterns() -> None:
    """Compile each of phonenumbers' metadata patterns once per process (create_app calls it).

    phonenumbers looks its patterns up in re's cache on every match, many times per number;
    compiling each once makes validating a number cheaper."""
    if hasattr(phonenumbers.phonenumberutil, "re_compile"):
        phonenumbers.phonenumberutil.re_compile = lru_cache(maxsize=None)(
            phonenumbers.re_util.re_compile
        )


@lru_cache(maxsize=65536)
def _phone_in_e164(value: str, region: str) -> tuple[str | None, str | None]:
    """(E.164 form, None) or (None, why not). Cached: a CRM re-sends the same numbers."""
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        return None, "not a phone number; use international format, e.g. +447911123456"
    if not phonenumbers.is_valid_number(number):
        return None, "not a valid phone number for its country"
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164), None


# The region a number written without its +country code is read in (the app's
# DEBRIEF_DEFAULT_PHONE_REGION). It goes with the work, not the process: FastAPI validates a
# request's body before any code of ours runs and passes pydantic no context, so the app's
# `PhoneRegionMiddleware` sets it for each request it serves, and the CSV import for its rows.
# Unset, reading a phone number fails loudly rather than guess a region.
_phone_region: ContextVar[str] = ContextVar("phone_region")


@contextmanager
def phones_read_in(region: str) -> Iterator[None]:
    """Read phone numbers without a +country code as numbers of `region`, within this block."""
    token = _phone_region.set(region)
    try:
        yield
    finally:
        _phone_region.reset(token)


def _e164(value: str) -> str:
    normalised, problem = _phone_in_e164(value, _phone_region.get())
    if normalised is None:
        raise ValueError(problem)
    return normalised


@lru_cache(maxsize=65536)
def _email_normalised(value: str) -> tuple[str | None, str | None]:
    try:
        return validate_email(value, check_deliverability=False).normalized, None
    except EmailNotValidError as exc:
        return None, f"not a valid email address: {exc}"


def _email(value: str) -> str:
    normalised, problem = _email_normalised(value)
    if normalised is None:
        raise ValueError(problem)
    return normalised


Phone = Annotated[
    str,
    StringConstraints(min_length=3, max_length=40, strip_whitespace=True),
    AfterValidator(_e164),
]

Email = Annotated[
    str,
    StringConstraints(min_length=3, max_length=320, strip_whitespace=True),
    AfterValidator(_email),
    WithJsonSchema({"type": "string", "format": "email", "maxLength": 320}),
]


@lru_cache(maxsize=1)
def _zones() -> frozenset[str]:
    # The names the tzdata package ships, the same on every machine (the system's zoneinfo
    # directory, which available_timezones() also reads, adds `localtime`, which is no zone).
    return frozenset(resources.files("tzdata").joinpath("zones").read_text().split())


def _iana_zone(value: str) -> str:
    if value not in _zones():
        raise ValueError("not an IANA time zone name, e.g. Europe/London")
    return value


TimeZoneName = Annotated[str, StringConstraints(max_length=64), AfterValidator(_iana_zone)]


def local_zone(own: str | None, fallback: str) -> zoneinfo.ZoneInfo:
    """A person's own time zone when known, else `fallback` (the follow-up policy's)."""
    if own:
        try:
            return zoneinfo.ZoneInfo(own)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            pass  # a name tzdata no longer ships: the agency's zone rather than no page
    return zoneinfo.ZoneInfo(fallback)


_HTTP_URL: TypeAdapter[HttpUrl] = TypeAdapter(HttpUrl)


def _http_url(value: str) -> str:
    try:
        return str(_HTTP_URL.validate_python(value))
    except ValidationError as exc:
        raise ValueError("not an http(s) URL") from exc


WebUrl = Annotated[str, StringConstraints(max_length=500), AfterValidator(_http_url)]


def _currency(value: str) -> str:
    code = value.upper()
    if code not in CURRENCY_CODES:
        raise ValueError("not an ISO 4217 currency code, e.g. GBP")
    return code


CurrencyCode = Annotated[
    str, StringConstraints(min_length=3, max_length=3), AfterValidator(_currency)
]

Stage = Literal["screening", "first", "second", "final", "assessment", "other"]
InterviewFormat = Literal["in_person", "video", "phone"]
InterviewStatus = Literal["scheduled", "completed", "cancelled", "no_show"]
Outcome = Literal["pending", "next_round", "offer", "rejected", "withdrawn"]
CandidateStatus = Literal["active", "placed", "withdrawn", "archived"]
Role = Literal["admin", "recruiter", "integration"]
