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

from app.followups.policy import WEEKDAYS, FollowUpPolicy

Kind = Literal[
    "debrief_call",
    "thank_you_note",
    "employer_follow_up",
    "employer_feedback",
    "final_round_prep",
    "candidate_call",
]
KINDS: tuple[Kind, ...] = (
    "debrief_call",
    "thank_you_note",
    "employer_follow_up",
    "employer_feedback",
    "final_round_prep",
    "candidate_call",
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

    def next_working_day_opens(self, moment: datetime) -> datetime:
        """The opening of the first working day after `moment`'s local date."""
        day = self.local_date(moment)
        for _ in range(_MAX_DAYS):
            day += timedelta(days=1)
            if self.is_working_day(day):
                return self.window(day)[0]
        raise ValueError("the business calendar has no working days")


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


# ---------------------------------------------------------------- a candidate who cools


def candidate_is_cooling(still_interested: str | None) -> bool:
    """A debrief saying the candidate is no longer (or not surely) interested calls for the
    owner to talk to them before the client is told."""
    return still_interested in ("no", "unsure")


def candidate_call_due(cooled_at: datetime, policy: FollowUpPolicy) -> datetime:
    """Working hours after the debrief said the candidate was cooling."""
    return calendar_for(policy).add(cooled_at, timedelta(hours=policy.candidate_call_working_hours))


# ---------------------------------------------------------------- chasing the employer again


@dataclass(frozen=True, slots=True)
class AfterChase:
    """What follows an employer chase that was done while the decision is still awaited."""

    kind: Literal["chase", "escalation"]
    at: datetime


def employer_follow_up_again_due(
    decision_expected_by: date | None, previous_chase_at: datetime, policy: FollowUpPolicy
) -> datetime:
    """The next chase: working days after the later of the promised decision date's close of
    business and the previous chase, and never on the previous chase's working day."""
    calendar = calendar_for(policy)
    anchor = previous_chase_at
    if decision_expected_by is not None:
        anchor = max(anchor, calendar.close_of_business(decision_expected_by))
    due = calendar.add(anchor, calendar.day_length * policy.employer_follow_up_again_working_days)
    return max(due, calendar.next_working_day_opens(previous_chase_at))


def after_employer_follow_up(
    facts: InterviewFacts, *, sequence: int, done_at: datetime, policy: FollowUpPolicy
) -> AfterChase | None:
    """After chase number `sequence` was done: with a promised decision date and no outcome
    yet, one more chase, up to the policy's number of chases; after the last one, an
    escalation at the time the next chase would have fallen due. Nothing otherwise."""
    if facts.outcome != "pending" or facts.decision_expected_by is None:
        return None
    at = employer_follow_up_again_due(facts.decision_expected_by, done_at, policy)
    kind: Literal["chase", "escalation"] = (
        "chase" if sequence < policy.max_employer_follow_ups else "escalation"
    )
    return AfterChase(kind, at)


# ---------------------------------------------------------------- reminders and escalation


@dataclass(frozen=True, slots=True)
class Notice:
    kind: Literal["reminder", "escalation"]
    # When to look again: the next reminder or the escalation; None after escalating.
    next_notice_at: datetime | None


def _interval(policy: FollowUpPolicy, interval_days: int) -> tuple[WorkingCalendar, timedelta]:
    calendar = calendar_for(policy)
    return calendar, calendar.day_length * interval_days


def notice_times(
    overdue_at: datetime, *, interval_days: int, max_reminders: int, policy: FollowUpPolicy
) -> list[datetime]:
    """The notices of a step that stays overdue, swept on time: reminder k at `overdue_at`
    + k intervals of working days (k = 1 … `max_reminders`), then the escalation one
    interval after the last reminder."""
    calendar, interval = _interval(policy, interval_days)
    times = []
    moment = overdue_at
    for _ in range(max_reminders + 1):
        moment = calendar.add(moment, interval)
        times.append(moment)
    return times


def first_notice_at(
    overdue_at: datetime, *, interval_days: int, policy: FollowUpPolicy
) -> datetime:
    """The first reminder (or, with no reminders, the escalation) after a step is flagged."""
    calendar, interval = _interval(policy, interval_days)
    return calendar.add(overdue_at, interval)


def next_notice_after(
    overdue_at: datetime, *, interval_days: int, policy: FollowUpPolicy, now: datetime
) -> datetime:
    """The first notice time after `now` on the step's own schedule (`overdue_at` + k
    intervals): a late sweep skips the times it missed, it does not shift the later ones."""
    calendar, interval = _interval(policy, interval_days)
    moment = overdue_at
    while moment <= now:
        moment = calendar.add(moment, interval)
    return moment


def notice_for(
    *,
    status: str,
    overdue_at: datetime | None,
    reminders_sent: int,
    max_reminders: int,
    escalated: bool,
    interval_days: int,
    policy: FollowUpPolicy,
    now: datetime,
) -> Notice | None:
    """The notice due for a step whose notice time has come.

    An overdue step gets reminders on its schedule (`overdue_at` + k working-day intervals),
    at most `max_reminders`, then one escalation at the next time on the schedule. A sweep
    sends one notice at most per step, and the next one waits for the next time on the
    schedule, so a late sweep sends no burst and moves nothing later. A done employer chase
    still awaiting a notice is one whose employer stayed silent after the last chase: it is
    escalated once.
    """
    if escalated:
        return None
    if status == "overdue" and reminders_sent < max_reminders:
        following = next_notice_after(
            overdue_at or now, interval_days=interval_days, policy=policy, now=now
        )
        return Notice("reminder", following)
    return Notice("escalation", None)


def next_reminder_at(
    *, status: str, reminders_sent: int, max_reminders: int, next_notice_at: datetime | None
) -> datetime | None:
    """When an overdue step's next reminder goes; None when it is not overdue or has none left
    (the next notice, if any, is then its escalation)."""
    if status != "overdue" or reminders_sent >= max_reminders:
        return None
    return next_notice_at
