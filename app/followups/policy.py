"""The agency's follow-up policy: every number of the playbook, validated."""

from __future__ import annotations

import math
import uuid
from datetime import time
from functools import lru_cache
from typing import Annotated, Any, Literal

import holidays
from pydantic import Field, StringConstraints, model_validator

from app.schemas.base import InputModel
from app.schemas.fields import TimeZoneName

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WORKWEEK: tuple[Weekday, ...] = WEEKDAYS[:5]

Hours = Annotated[float, Field(gt=0, le=24 * 90)]
ClockTime = Annotated[str, StringConstraints(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")]
Days = Annotated[int, Field(ge=0, le=90)]


@lru_cache(maxsize=1)
def _supported_countries() -> dict[str, list[str]]:
    return dict(holidays.list_supported_countries())


class BusinessHours(InputModel):
    days: list[Weekday] = Field(default_factory=lambda: list(WORKWEEK), min_length=1, max_length=7)
    start: ClockTime = Field(default="09:00", description="Local opening time, 24-hour `HH:MM`.")
    end: ClockTime = Field(default="17:30", description="Local closing time, 24-hour `HH:MM`.")

    @model_validator(mode="after")
    def _sane(self) -> BusinessHours:
        if len(set(self.days)) != len(self.days):
            raise ValueError("days must not repeat")
        if self.end <= self.start:  # zero-padded HH:MM compares as text
            raise ValueError("end must be after start")
        return self

    @property
    def opens(self) -> time:
        return time.fromisoformat(self.start)

    @property
    def closes(self) -> time:
        return time.fromisoformat(self.end)


class FollowUpPolicy(InputModel):
    """Every default of the playbook. A change applies to follow-ups opened afterwards."""

    timezone: TimeZoneName = Field(default="Europe/London", description="The agency's time zone.")
    holiday_country: str = Field(default="GB", description="ISO 3166 code for public holidays.")
    holiday_subdivision: str | None = Field(
        default="ENG", description="Region within the country (GB: ENG, NIR, SCT, WLS)."
    )
    business_hours: BusinessHours = Field(default_factory=BusinessHours)

    debrief_call_working_hours: Hours = Field(
        default=8, description="The candidate's call is due this many working hours after the end."
    )
    thank_you_note_hours: Hours = Field(
        default=24, description="The thank-you note is due this many hours after the end."
    )
    employer_follow_up_fraction: float = Field(
        default=0.75,
        gt=0,
        le=1,
        description="Chase the employer at this share of the time until their decision date.",
    )
    employer_follow_up_days: Days = Field(
        default=7, description="Without a decision date: chase this many days after the note."
    )
    employer_feedback_working_days: Days = Field(
        default=5, description="Relay the employer's feedback within this many working days."
    )
    final_round_prep_working_days: Days = Field(
        default=2, description="Brief the candidate this many working days before a final."
    )
    max_reminders: int = Field(default=3, ge=0, le=20, description="Reminders before escalating.")
    debrief_link_days: int = Field(
        default=7, ge=1, le=90, description="How long a candidate's debrief link stays open."
    )
    retention_days: int | None = Field(
        default=None,
        ge=30,
        le=3650,
        description="Erase candidates inactive this long (no change, no interview). Off when null.",
    )
    thank_you_note_ideal_hours: Hours = Field(
        default=3,
        description="Ideally the thank-you note goes out within this many hours of the end "
        "(at most `thank_you_note_hours`).",
    )
    escalation_contact_id: uuid.UUID | None = Field(
        default=None,
        description="The active staff member an escalation goes to when the owner has no "
        "manager (or the candidate no owner). Null: such escalations go to nobody.",
    )
    history_working_days: int = Field(
        default=5,
        ge=1,
        le=90,
        description="An interview recorded more than this many working days after it ended is "
        "history: it opens no follow-ups (unless sent with `track_follow_ups: true`).",
    )

    reminder_interval_working_days: int = Field(
        default=2,
        ge=1,
        le=90,
        description=(
            "While a follow-up stays overdue, remind once per this many working days, counted from"
            " when it was flagged; the escalation follows one interval after the last reminder."
            " (Replaces `reminder_interval_hours`: a body or stored policy with that field is"
            " read as ceil(hours / 24) working days.)"
        ),
    )
    candidate_call_working_hours: Hours = Field(
        default=4,
        description=(
            "A debrief with `still_interested` `no` or `unsure`: the owner calls the candidate"
            " within this many working hours, before the client is told."
        ),
    )
    employer_follow_up_again_working_days: int = Field(
        default=3,
        ge=1,
        le=90,
        description=(
            "The decision date passed with no outcome: chase the employer again this many"
            " working days after it (or after the previous chase, if later)."
        ),
    )
    max_employer_follow_ups: int = Field(
        default=2,
        ge=1,
        le=10,
        description="Chases of the employer per interview; after the last, an escalation.",
    )

    candidate_email_delay_minutes: int = Field(
        default=30,
        ge=0,
        le=24 * 60,
        description="Email the candidate their debrief link this long after the interview ends.",
    )
    candidate_waking_hours: BusinessHours = Field(
        default_factory=lambda: BusinessHours(days=list(WEEKDAYS), start="08:00", end="20:00"),
        description="Candidates are emailed only in these hours of their own time zone.",
    )
    candidate_email_within_hours: int = Field(
        default=48,
        ge=1,
        le=24 * 30,
        description="An interview that ended longer ago than this gets no email (history).",
    )
    candidate_nudges: int = Field(
        default=1, ge=0, le=1, description="Nudges with a fresh link if the debrief call is late."
    )
    candidate_nudge_working_days: Days = Field(
        default=1, description="A nudge goes at least this many working days after the first email."
    )
    staff_digest_at: ClockTime = Field(
        default="09:00", description="Staff get their digest at this time on working days, locally."
    )

    @model_validator(mode="before")
    @classmethod
    def _former_reminder_interval(cls, value: Any) -> Any:
        """A policy written before reminders counted working days: 48 hours become 2 days."""
        if isinstance(value, dict) and "reminder_interval_hours" in value:
            value = dict(value)
            hours = value.pop("reminder_interval_hours")
            if "reminder_interval_working_days" in value:
                raise ValueError(
                    "give reminder_interval_working_days only (reminder_interval_hours is its"
                    " former name)"
                )
            if isinstance(hours, int | float) and not isinstance(hours, bool) and hours > 0:
                value["reminder_interval_working_days"] = math.ceil(hours / 24)
            else:
                value["reminder_interval_working_days"] = hours  # refused as a number of days
        return value

    @model_validator(mode="after")
    def _known_holidays(self) -> FollowUpPolicy:
        countries = _supported_countries()
        if self.holiday_country not in countries:
            raise ValueError(
                f"holiday_country {self.holiday_country!r} is not a supported country code"
            )
        if (
            self.holiday_subdivision is not None
            and self.holiday_subdivision not in countries[self.holiday_country]
        ):
            known = ", ".join(countries[self.holiday_country]) or "none"
            raise ValueError(f"holiday_subdivision must be one of: {known}")
        return self

    @model_validator(mode="after")
    def _ideal_within_deadline(self) -> FollowUpPolicy:
        """The ideal time for the note is never after its deadline. A policy stored before
        the ideal existed, or sent without it, takes the default capped at the deadline."""
        if self.thank_you_note_ideal_hours <= self.thank_you_note_hours:
            return self
        if "thank_you_note_ideal_hours" in self.model_fields_set:
            raise ValueError("thank_you_note_ideal_hours must not exceed thank_you_note_hours")
        self.thank_you_note_ideal_hours = self.thank_you_note_hours
        return self
