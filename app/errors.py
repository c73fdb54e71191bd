"""Typed errors: what went wrong, as the services and routers raise it. `app.api.problems`
turns them into RFC 9457 problem+json responses."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class FieldError(BaseModel):
    field: str = Field(description="Dotted path of the field at fault, e.g. `items.3.email`.")
    location: str = Field(description="`body`, `query`, `path` or `header`.")
    message: str
    type: str = Field(description="A machine-readable reason, e.g. `missing`, `value_error`.")


def _field_path(loc: tuple[Any, ...]) -> tuple[str, str]:
    if not loc:
        return "", "body"
    location = str(loc[0])
    parts = [str(p) for p in loc[1:]]
    return ".".join(parts) or location, location


def validation_errors(
    raw: list[dict[str, Any]] | Any, *, location: str | None = None
) -> list[FieldError]:
    """Pydantic's errors as FieldErrors. With `location`, every loc is a field path within it."""
    errors = []
    for item in raw:
        loc = tuple(item.get("loc", ()))
        if location is None:
            field, where = _field_path(loc)
        else:
            field, where = ".".join(str(p) for p in loc), location
        message = str(item.get("msg", "invalid value")).removeprefix("Value error, ")
        kind = str(item.get("type", "value_error"))
        if kind == "extra_forbidden":
            message = "unknown field"
        errors.append(FieldError(field=field, location=where, message=message, type=kind))
    return errors


class AppError(Exception):
    status: int = 500
    slug: str = "internal-error"
    title: str = "Something went wrong on our side"

    def __init__(
        self,
        detail: str,
        *,
        errors: list[FieldError] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors
        self.headers = headers or {}


class BadRequest(AppError):
    status, slug, title = 400, "bad-request", "The request cannot be understood"


class Unauthorized(AppError):
    status, slug, title = 401, "unauthorized", "Authentication required"

    def __init__(self, detail: str) -> None:
        super().__init__(detail, headers={"WWW-Authenticate": 'Bearer realm="debrief"'})


class Forbidden(AppError):
    status, slug, title = 403, "forbidden", "Not allowed for this key"


class NotFound(AppError):
    status, slug, title = 404, "not-found", "Not found"

    @classmethod
    def of(cls, label: str, object_id: object) -> NotFound:
        return cls(f"There is no {label} with id {object_id}.")


class Conflict(AppError):
    status, slug, title = 409, "conflict", "Conflicts with the current state"


class Gone(AppError):
    status, slug, title = 410, "gone", "No longer available"


class CandidateErased(Conflict):
    """A write about a person whose data was erased: nothing about them is stored again."""

    slug, title = "candidate-erased", "The candidate was erased"


class PreconditionFailed(AppError):
    status, slug, title = 412, "precondition-failed", "The object has changed"


class ContentTooLarge(AppError):
    status, slug, title = 413, "content-too-large", "Request body too large"


class UnsupportedMediaType(AppError):
    status, slug, title = 415, "unsupported-media-type", "The body is not of a type accepted here"


class ValidationFailed(AppError):
    status, slug, title = 422, "validation-error", "The request is not valid"

    @classmethod
    def field(cls, field: str, message: str, *, location: str = "body") -> ValidationFailed:
        error = FieldError(field=field, location=location, message=message, type="value_error")
        return cls(f"{field}: {message}", errors=[error])


class PreconditionRequired(AppError):
    status, slug, title = 428, "precondition-required", "If-Match header required"


class TooManyRequests(AppError):
    status, slug, title = 429, "too-many-requests", "Too many requests"


class ServiceUnavailable(AppError):
    status, slug, title = 503, "service-unavailable", "Temporarily unavailable"
