"""The post-interview playbook as pure functions: no I/O, no clock.

Working time is counted in the agency's time zone, inside business hours, skipping
non-working days and public holidays; a working day is one day's business hours.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Literal
from zoneinfo import ZoneInfo

import holidays

from app.followups.policy import WEEKDAYS, BusinessHours, FollowUpPolicy

Kind = Literal[
    "debrief_call", "thank_you_note", "employer_follow_up", "employer_feedback", "final_round_prep"
]
KINDS: tuple[Kind, ...] = (
    "debrief_call",
    "thank_you_note",
    "employer_follow_up",
    "employer_feedback",
    "final_round_prep",
)
OPEN_STATUSES = ("pending", "overdue")
_MAX_DAYS = 3660  # a calendar with no working day for ten years is a configuration error


class WorkingCalendar:
    """Business hours in one time zone, with weekends and public holidays skipped."""

    def __init__(
        self,
        *,
        timezone: str,
        days: frozenset[int],
        start: time,
        end: time,
        holiday_country: str,
        holiday_subdivision: str | None,
    ) -> None:
        self.tz = ZoneInfo(timezone)
        self.days = days
        self.start = start
        self.end = end
        self._holidays = holidays.country_holidays(holiday_country, subdiv=holiday_subdivision)

    @property
    def day_length(self) -> timedelta:
        day = date(2001, 1, 1)
        return datetime.combine(day, self.end) - datetime.combine(day, self.start)

    def is_working_day(self, day: date) -> bool:
        return day.weekday() in self.days and day not in self._holidays

    def local_date(self, moment: datetime) -> date:
        return moment.astimezone(self.tz).date()

    def window(self, day: date) -> tuple[datetime, datetime]:
        """The day's opening and closing times, in UTC."""
        opens = datetime.combine(day, self.start, tzinfo=self.tz).astimezone(UTC)
        closes = datetime.combine(day, self.end, tzinfo=self.tz).astimezone(UTC)
        return opens, closes

    def contains(self, moment: datetime) -> bool:
        """Inside business hours (closing time included: a deadline may fall on it)."""
        day = self.local_date(moment)
        if not self.is_working_day(day):
            return False
        opens, closes = self.window(day)
        return opens <= moment <= closes

    def add(self, moment: datetime, amount: timedelta) -> datetime:
        """`amount` of working time after `moment`; zero moves `moment` into business hours."""
        if amount < timedelta(0):
            return self.subtract(moment, -amount)
        remaining = amount
        day = self.local_date(moment)
        cursor = moment
        for _ in range(_MAX_DAYS):
            if self.is_working_day(day):
                opens, closes = self.window(day)
                cursor = max(cursor, opens)
                if cursor <= closes:
                    available = closes - cursor
                    if remaining <= available:
                        return cursor + remaining
                    remaining -= available
            day += timedelta(days=1)
            cursor = datetime.min.replace(tzinfo=UTC)
        raise ValueError("the business calendar has no working days")

    def subtract(self, moment: datetime, amount: timedelta) -> datetime:
        """`amount` of working time before `moment`; zero moves it back into business hours."""
        remaining = amount
        day = self.local_date(moment)
        cursor = moment
        for _ in range(_MAX_DAYS):
            if self.is_working_day(day):
                opens, closes = self.window(day)
                cursor = min(cursor, closes)
                if cursor >= opens:
                    available = cursor - opens
                    if remaining <= available:
                        return cursor - remaining
                    remaining -= available
            day -= timedelta(days=1)
            cursor = datetime.max.replace(tzinfo=UTC)
        raise ValueError("the business calendar has no working days")

    def close_of_business(self, day: date) -> datetime:
        return self.window(day)[1]


@lru_cache(maxsize=32)
def _calendar(
    timezone: str, days: tuple[int, ...], start: time, end: time, country: str, subdiv: str | None
) -> WorkingCalendar:
    return WorkingCalendar(
        timezone=timezone,
        days=frozenset(days),
        start=start,
        end=end,
        holiday_country=country,
        holiday_subdivision=subdiv,
    )


def calendar_for(policy: FollowUpPolicy) -> WorkingCalendar:
    hours = policy.business_hours
    days = tuple(sorted(WEEKDAYS.index(d) for d in hours.days))
    return _calendar(
        policy.timezone,
        days,
        hours.opens,
        hours.closes,
        policy.holiday_country,
        policy.holiday_subdivision,
    )


@dataclass(frozen=True, slots=True)
class InterviewFacts:
    """What the rules need to know about an interview."""

    ends_at: datetime
    decision_expected_by: date | None = None
    thank_you_sent_at: datetime | None = None
    outcome: str = "pending"
    next_stage: str | None = None
    outcome_recorded_at: datetime | None = None
    # The start of the candidate's next final interview with the same client, if scheduled.
    next_final_starts_at: datetime | None = None


def debrief_call_due(facts: InterviewFacts, policy: FollowUpPolicy) -> datetime:
    return calendar_for(policy).add(
        facts.ends_at, timedelta(hours=policy.debrief_call_working_hours)
    )


def thank_you_note_due(facts: InterviewFacts, policy: FollowUpPolicy) -> datetime:
    return facts.ends_at + timedelta(hours=policy.thank_you_note_hours)


def employer_follow_up_due(facts: InterviewFacts, policy: FollowUpPolicy) -> datetime:
    """At a share (75%) of the way to the employer's decision date, else 7 days after the
    thank-you note (or the end); moved forward into business hours."""
    calendar = calendar_for(policy)
    if facts.decision_expected_by is not None:
        decided_by = calendar.close_of_business(facts.decision_expected_by)
        span = max(decided_by - facts.ends_at, timedelta(0))
        target = facts.ends_at + span * policy.employer_follow_up_fraction
    else:
        base = max(facts.thank_you_sent_at or facts.ends_at, facts.ends_at)
        # Calendar days on the local clock: the same time of day, across a DST change too.
        local = base.astimezone(calendar.tz) + timedelta(days=policy.employer_follow_up_days)
        target = local.astimezone(UTC)
    return calendar.add(target, timedelta(0))


def employer_feedback_due(facts: InterviewFacts, policy: FollowUpPolicy) -> datetime:
    calendar = calendar_for(policy)
    since = facts.outcome_recorded_at or facts.ends_at
    return calendar.add(since, calendar.day_length * policy.employer_feedback_working_days)


def final_round_prep_due(facts: InterviewFacts, policy: FollowUpPolicy) -> datetime:
    """Working days before the next final interview starts, else working days after the outcome."""
    calendar = calendar_for(policy)
    lead = calendar.day_length * policy.final_round_prep_working_days
    if facts.next_final_starts_at is not None:
        return calendar.subtract(facts.next_final_starts_at, lead)
    return calendar.add(facts.outcome_recorded_at or facts.ends_at, lead)


_DUE = {
    "debrief_call": debrief_call_due,
    "thank_you_note": thank_you_note_due,
    "employer_follow_up": employer_follow_up_due,
    "employer_feedback": employer_feedback_due,
    "final_round_prep": final_round_prep_due,
}


def due_at(kind: Kind, facts: InterviewFacts, policy: FollowUpPolicy) -> datetime:
    """When a step is due. Never before the interview has ended."""
    return max(_DUE[kind](facts, policy), facts.ends_at)


def thank_you_note_ideal_by(facts: InterviewFacts, policy: FollowUpPolicy) -> datetime:
    """The seeds' ideal for the note (a few hours after the end), never after its deadline."""
    ideal = facts.ends_at + timedelta(hours=policy.thank_you_note_ideal_hours)
    return min(ideal, due_at("thank_you_note", facts, policy))


def ideal_by(kind: Kind, facts: InterviewFacts, policy: FollowUpPolicy) -> datetime | None:
    """When a step is ideally done, for a step with an ideal besides its deadline."""
    return thank_you_note_ideal_by(facts, policy) if kind == "thank_you_note" else None


def thank_you_windows(policy: FollowUpPolicy) -> tuple[timedelta, timedelta]:
    """How long after the end a note is within the ideal, and within the deadline."""
    deadline = timedelta(hours=policy.thank_you_note_hours)
    return min(timedelta(hours=policy.thank_you_note_ideal_hours), deadline), deadline


def reported_time_problem(at: datetime, *, started_at: datetime, now: datetime) -> str | None:
    """What is wrong with a time someone reports for an interview's follow-up (when the call
    took place, when the note went out): it cannot be in the future, nor before the
    interview started. None when it is plausible."""
    if at > now:
        return "cannot be in the future"
    if at < started_at:
        return "cannot be before the interview started"
    return None


def kinds_for(facts: InterviewFacts, *, ended: bool) -> list[Kind]:
    """The steps an interview calls for: the after-interview ones once it has ended, and those
    its outcome calls for (feedback after a rejection, preparation before a final)."""
    kinds: list[Kind] = []
    if ended:
        kinds += ["debrief_call", "thank_you_note"]
        if facts.outcome == "pending":
            kinds.append("employer_follow_up")
    if facts.outcome == "rejected":
        kinds.append("employer_feedback")
    if facts.outcome == "next_round" and facts.next_stage == "final":
        kinds.append("final_round_prep")
    return kinds


@dataclass(frozen=True, slots=True)
class Notice:
    kind: Literal["reminder", "escalation"]
    # When to look again: the next reminder or the escalation; None after escalating.
    next_notice_at: datetime | None


def notice_for(
    *, reminders_sent: int, max_reminders: int, escalated: bool, interval: timedelta, now: datetime
) -> Notice | None:
    """The notice due for an overdue step whose notice time has come.

    Reminders follow the overdue notice one interval apart, at most `max_reminders`; one
    interval after the last one the step is escalated once. The next notice is always a full
    interval after this one, so a step flagged late never gets a burst of reminders.
    """
    if reminders_sent < max_reminders:
        return Notice("reminder", now + interval)
    if not escalated:
        return Notice("escalation", None)
    return None


def first_notice_at(overdue_at: datetime, interval: timedelta) -> datetime:
    """The first reminder (or, with no reminders, the escalation) after a step is flagged."""
    return overdue_at + interval


# ---------------------------------------------------------------------------- notifications
# When people are told: pure functions of the policy, the person's time zone and the times
# involved (the notifications sweep and outbox call them).


def into_hours(moment: datetime, hours: BusinessHours, zone: str) -> datetime:
    """`moment` if it falls inside `hours` in time zone `zone`, else the next opening."""
    tz = ZoneInfo(zone)
    local = moment.astimezone(tz)
    day = local.date()
    for _ in range(8):
        if WEEKDAYS[day.weekday()] in hours.days:
            opens = datetime.combine(day, hours.opens, tzinfo=tz)
            if local < opens:
                return opens.astimezone(UTC)
            if local <= datetime.combine(day, hours.closes, tzinfo=tz):
                return moment
        day += timedelta(days=1)
        local = datetime.combine(day, time.min, tzinfo=tz)
    raise ValueError("the hours have no day in the week")


def link_email_at(
    ends_at: datetime, policy: FollowUpPolicy, *, zone: str, now: datetime
) -> datetime | None:
    """When the candidate's debrief-link email goes: the policy's delay after the end, moved
    into their waking hours (never before `now`); None for an interview that ended too long
    ago to write about."""
    if now - ends_at > timedelta(hours=policy.candidate_email_within_hours):
        return None
    planned = ends_at + timedelta(minutes=policy.candidate_email_delay_minutes)
    return into_hours(max(planned, now), policy.candidate_waking_hours, zone)


def nudge_at(
    first_sent_at: datetime, overdue_at: datetime, policy: FollowUpPolicy, *, zone: str
) -> datetime:
    """The one nudge for a late debrief call: once it is late, and at least the policy's
    working days after the first email, in the candidate's waking hours."""
    calendar = calendar_for(policy)
    gap = calendar.day_length * policy.candidate_nudge_working_days
    earliest = calendar.add(first_sent_at, gap)
    return into_hours(max(earliest, overdue_at), policy.candidate_waking_hours, zone)


def local_day_bounds(day: date, zone: str) -> tuple[datetime, datetime]:
    """Midnight to midnight of `day` in `zone`, in UTC."""
    tz = ZoneInfo(zone)
    start = datetime.combine(day, time.min, tzinfo=tz)
    end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=tz)
    return start.astimezone(UTC), end.astimezone(UTC)


def digest_day(
    now: datetime, policy: FollowUpPolicy, *, zone: str, last_day: date | None
) -> date | None:
    """The local day whose morning digest is due now for someone in `zone`: a working day
    (the agency's days and holidays), from the digest time until close of business, not
    considered yet. None otherwise."""
    local = now.astimezone(ZoneInfo(zone))
    day = local.date()
    if last_day is not None and last_day >= day:
        return None
    if not calendar_for(policy).is_working_day(day):
        return None
    if (
        not time.fromisoformat(policy.staff_digest_at)
        <= local.time()
        <= policy.business_hours.closes
    ):
        return None
    return day
