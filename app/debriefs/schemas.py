from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, StringConstraints, model_validator

from app.schemas.base import InputModel, OutputModel
from app.schemas.fields import CurrencyCode, LongText, Outcome, Stage, Timestamp

Channel = Literal["phone", "email", "sms", "web_form", "in_person"]
StillInterested = Literal["yes", "no", "unsure"]
Rating = Annotated[int, Field(ge=1, le=5)]
Question = Annotated[str, StringConstraints(min_length=1, max_length=500, strip_whitespace=True)]


def _cents(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"))


class SalaryExpectation(InputModel):
    amount: Annotated[
        Decimal,
        Field(
            ge=0,
            le=Decimal("999999999999"),
            decimal_places=2,
            description='A decimal string, e.g. "58000.00".',
        ),
        AfterValidator(_cents),
    ]
    currency: CurrencyCode


class DebriefIn(InputModel):
    """The candidate's account of the interview. Later calls amend the fields they send."""

    channel: Channel | None = Field(default=None, description="Required the first time.")
    overall_rating: Rating | None = None
    went_well: LongText | None = None
    went_badly: LongText | None = None
    challenging_questions: list[Question] | None = Field(default=None, max_length=30)
    strengths: LongText | None = None
    weaknesses: LongText | None = None
    still_interested: StillInterested | None = None
    company_fit: Rating | None = None
    salary_expectation: SalaryExpectation | None = None
    other_applications_active: bool | None = None
    thank_you_sent_at: Timestamp | None = Field(
        default=None,
        description="When the candidate says the note went out: not in the future, not before "
        "the interview started. Completes the `thank_you_note` follow-up at that time.",
    )
    linkedin_connected: bool | None = None
    notes: LongText | None = None
    called_at: Timestamp | None = Field(
        default=None,
        description="When the call took place: not in the future, not before the interview "
        "started; default now. The `debrief_call` follow-up is completed at this time, and is "
        "late only if this is after it was due.",
    )


class SalaryOut(OutputModel):
    amount: Decimal
    currency: str


def _read(source: Any, name: str) -> Any:
    return source.get(name) if isinstance(source, Mapping) else getattr(source, name, None)


class DebriefOut(OutputModel):
    id: uuid.UUID
    interview_id: uuid.UUID
    channel: Channel
    overall_rating: int | None
    went_well: str | None
    went_badly: str | None
    challenging_questions: list[str]
    strengths: str | None
    weaknesses: str | None
    still_interested: StillInterested | None
    company_fit: int | None
    salary_expectation: SalaryOut | None
    other_applications_active: bool | None
    thank_you_sent_at: datetime | None
    linkedin_connected: bool | None
    notes: str | None
    received_at: datetime
    received_via: Literal["staff", "integration", "candidate_link"]
    called_at: datetime = Field(description="When the call took place (default: when received).")
    created_at: datetime
    updated_at: datetime
    version: int

    @model_validator(mode="before")
    @classmethod
    def _gather_salary(cls, source: Any) -> Any:
        """Stored as two columns; shown as one `salary_expectation` object."""
        data = {name: _read(source, name) for name in cls.model_fields}
        amount = _read(source, "salary_amount")
        data["salary_expectation"] = (
            {"amount": amount, "currency": _read(source, "salary_currency")}
            if amount is not None
            else None
        )
        return data


RELAY_ALLOWED = (
    "Whether the employer lets the agency pass this feedback on to the candidate verbatim "
    "(`POST .../relay` refuses unless true)."
)


class EmployerFeedbackIn(InputModel):
    outcome: Outcome | None = Field(
        default=None, description="The employer's decision; recorded on the interview too."
    )
    next_stage: Stage | None = Field(
        default=None,
        description="With an outcome of `next_round`: the next interview's stage (recorded on "
        "the interview; `final` opens `final_round_prep`).",
    )
    strengths: LongText | None = None
    improvements: LongText | None = None
    relay_allowed: bool | None = Field(default=None, description=RELAY_ALLOWED)
    received_at: Timestamp | None = Field(default=None, description="Default: now.")
    relayed_to_candidate_at: Timestamp | None = None


class EmployerFeedbackPatch(InputModel):
    strengths: LongText | None = None
    improvements: LongText | None = None
    relay_allowed: bool | None = Field(default=None, description=RELAY_ALLOWED)
    relayed_to_candidate_at: Timestamp | None = None


class EmployerFeedbackOut(OutputModel):
    id: uuid.UUID
    interview_id: uuid.UUID
    outcome: Outcome | None
    strengths: str | None
    improvements: str | None
    relay_allowed: bool | None
    received_at: datetime
    relayed_to_candidate_at: datetime | None
    created_at: datetime
    updated_at: datetime
    version: int


class DebriefLinkOut(OutputModel):
    id: uuid.UUID
    interview_id: uuid.UUID
    url: str = Field(description="Send this to the candidate. Shown once; only a hash is kept.")
    expires_at: datetime
    created_at: datetime


EmployerAnswer = Literal["still_deciding", "next_round", "offer", "rejected"]


class EmployerLinkIn(InputModel):
    # The default is employer_links.DEFAULT_DAYS (that module imports this one).
    expires_in_days: int = Field(
        default=14, ge=1, le=90, description="How long the link stays open (default 14 days)."
    )


class EmployerLinkOut(OutputModel):
    id: uuid.UUID
    interview_id: uuid.UUID
    url: str | None = Field(
        default=None,
        description="Send this to the contact. Shown once, when made; only a hash is kept.",
    )
    contact_name: str | None = Field(
        description="The interview's point of contact, else the client's."
    )
    contact_email: str | None
    state: Literal["open", "answered", "expired", "revoked"]
    created_at: datetime
    created_by: str
    expires_at: datetime
    revoked_at: datetime | None
    deferred_at: datetime | None = Field(
        description="When the contact last said they were still deciding."
    )
    answered_at: datetime | None = Field(description="When the contact gave their decision.")
    answer: EmployerAnswer | None
    feedback_id: uuid.UUID | None
