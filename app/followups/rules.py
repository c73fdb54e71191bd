"""The post-interview playbook as pure functions: no I/O, no clock.

Working time is counted in the agency's time zone, inside business hours, skipping
non-working days and public holidays; a working day is one day's business hours.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Literal
from zoneinfo import ZoneInfo

import holidays

from app.followups.policy import WEEKDAYS, BusinessHours, FollowUpPolicy

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

    def _working_windows(
        self, moment: datetime, follow_up: int
    ) -> Iterator[tuple[datetime, datetime]]:
        """The business hours of each working day from `moment`'s own, going forward (`follow_up`
        1) or back (-1), for at most `_MAX_DAYS` days."""
        day = self.local_date(moment)
        for _ in range(_MAX_DAYS):
            if self.is_working_day(day):
                yield self.window(day)
            day += timedelta(days=follow_up)

    def add(self, moment: datetime, amount: timedelta) -> datetime:
        """`amount` of working time after `moment`; zero moves `moment` into business hours."""
        if amount < timedelta(0):
            return self.subtract(moment, -amount)
        remaining = amount
        for opens, closes in self._working_windows(moment, 1):
            cursor = max(moment, opens)
            if cursor <= closes:
                available = closes - cursor
                if remaining <= available:
                    return cursor + remaining
                remaining -= available
        raise ValueError("the business calendar has no working days")

    def subtract(self, moment: datetime, amount: timedelta) -> datetime:
        """`amount` of working time before `moment`; zero moves it back into business hours."""
        remaining = amount
        for opens, closes in self._working_windows(moment, -1):
            cursor = min(moment, closes)
            if cursor >= opens:
                available = cursor - opens
                if remaining <= available:
                    return cursor - remaining
                remaining -= available
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


def calendar_for(policy: FollowUpPolicy, zone: str | None = None) -> WorkingCalendar:
    """The policy's business hours, days and public holidays, in `zone` if given (a client
    contact's own), else the policy's time zone."""
    hours = policy.business_hours
    days = tuple(sorted(WEEKDAYS.index(d) for d in hours.days))
    return _calendar(
        zone or policy.timezone,
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
    stage: str = "other"
    status: str = "scheduled"
    starts_at: datetime | None = None
    candidate_status: str = "active"
    candidate_erased: bool = False
    # False for history, or when the interview was sent with `track_follow_ups: false`.
    tracked: bool = True
    # The final this interview would prepare for already has its preparation follow-up elsewhere
    # (on the final itself, or on the interview whose outcome led to it).
    final_prep_elsewhere: bool = False


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
    """Working days before the next final interview starts, else working days after the
    outcome; for a final booked directly, working days before that final itself."""
    calendar = calendar_for(policy)
    lead = calendar.day_length * policy.final_round_prep_working_days
    if prepares_for_itself(facts):
        assert facts.starts_at is not None
        return calendar.subtract(facts.starts_at, lead)
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
    """When a follow-up is due. Never before the interview has ended, except a final's own
    preparation, which is due before the final starts."""
    due = _DUE[kind](facts, policy)
    if kind == "final_round_prep" and prepares_for_itself(facts):
        return due
    return max(due, facts.ends_at)


def thank_you_note_ideal_by(facts: InterviewFacts, policy: FollowUpPolicy) -> datetime:
    """The seeds' ideal for the note (a few hours after the end), never after its deadline."""
    ideal = facts.ends_at + timedelta(hours=policy.thank_you_note_ideal_hours)
    return min(ideal, due_at("thank_you_note", facts, policy))


def ideal_by(kind: Kind, facts: InterviewFacts, policy: FollowUpPolicy) -> datetime | None:
    """When a follow-up is ideally done, for a follow-up with an ideal besides its deadline."""
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


def leads_to_a_final(facts: InterviewFacts) -> bool:
    return facts.outcome == "next_round" and facts.next_stage == "final"


def prepares_for_itself(facts: InterviewFacts) -> bool:
    """A final whose preparation is its own (not one that leads to a further final)."""
    return facts.stage == "final" and facts.starts_at is not None and not leads_to_a_final(facts)


def kinds_for(facts: InterviewFacts, *, ended: bool, now: datetime | None = None) -> list[Kind]:
    """The follow-ups an interview calls for: the after-interview ones once it has ended, those its
    outcome calls for (feedback after a rejection, preparation before a final), and a
    preparation follow-up for a final still to come (given `now`); none that a change closed
    (`kinds_closed`).

    An outcome already decided when the after-interview follow-ups open (an interview recorded
    after the fact) means the agency knows how it went: no debrief call and no employer chase,
    only the thank-you note (the seeds: thank them all the same) and what the outcome calls for.
    """
    kinds: list[Kind] = []
    if ended:
        if facts.outcome == "pending":
            kinds += ["debrief_call", "thank_you_note", "employer_follow_up"]
        else:
            kinds.append("thank_you_note")
    if facts.outcome == "rejected":
        kinds.append("employer_feedback")
    final_to_come = (
        prepares_for_itself(facts)
        and facts.status == "scheduled"
        and now is not None
        and facts.starts_at is not None
        and facts.starts_at > now
    )
    if (leads_to_a_final(facts) or final_to_come) and not facts.final_prep_elsewhere:
        kinds.append("final_round_prep")
    closed = kinds_closed(facts)
    return [kind for kind in kinds if kind not in closed]


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
    """The notices of a follow-up that stays overdue, swept on time: reminder k at `overdue_at`
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
    """The first reminder (or, with no reminders, the escalation) after a follow-up is flagged."""
    calendar, interval = _interval(policy, interval_days)
    return calendar.add(overdue_at, interval)


def next_notice_after(
    overdue_at: datetime, *, interval_days: int, policy: FollowUpPolicy, now: datetime
) -> datetime:
    """The first notice time after `now` on the follow-up's own schedule (`overdue_at` + k
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
    """The notice due for a follow-up whose notice time has come.

    An overdue follow-up gets reminders on its schedule (`overdue_at` + k working-day intervals),
    at most `max_reminders`, then one escalation at the next time on the schedule. A sweep
    sends one notice at most per follow-up, and the next one waits for the next time on the
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
    """When an overdue follow-up's next reminder goes; None when it is not overdue or has none left
    (the next notice, if any, is then its escalation)."""
    if status != "overdue" or reminders_sent >= max_reminders:
        return None
    return next_notice_at


EscalationRoute = Literal["manager", "escalation_contact"]


def escalation_target(
    *,
    owner_id: uuid.UUID | None,
    managers: Sequence[tuple[uuid.UUID, bool]],
    contact: tuple[uuid.UUID, bool] | None,
) -> tuple[uuid.UUID, EscalationRoute] | None:
    """Whom an escalation goes to: the nearest active manager above the owner (`managers`:
    (id, active), nearest first), else the policy's escalation contact if active; never the
    owner, who was already responsible. None when there is nobody."""
    for staff_id, active in managers:
        if active and staff_id != owner_id:
            return staff_id, "manager"
    if contact is not None and contact[1] and contact[0] != owner_id:
        return contact[0], "escalation_contact"
    return None


# ---------------------------------------------------------------------------- when chasing stops

WaiverReason = Literal[
    "candidate_withdrawn",
    "candidate_placed",
    "candidate_archived",
    "candidate_erased",
    "interview_cancelled",
    "interview_no_show",
    "interview_withdrawn",
    "interview_untracked",
]
_ALL: frozenset[Kind] = frozenset(KINDS)
_CANDIDATE_LEFT: frozenset[Kind] = _ALL - {"thank_you_note"}

# Which open follow-ups each change closes (waives, with the change as the reason). The thank-you
# note outlives a candidate's "no" (the seeds: thank them all the same, it is remembered);
# a debrief still matters after the candidate withdrew from one job (the seeds: the feedback
# helps in future interviews), not once they have left the search.
CLOSES: dict[WaiverReason, frozenset[Kind]] = {
    "candidate_withdrawn": _CANDIDATE_LEFT,
    "candidate_placed": _CANDIDATE_LEFT,
    "candidate_archived": _ALL,
    "candidate_erased": _ALL,
    "interview_cancelled": _ALL,
    "interview_no_show": _ALL,
    "interview_withdrawn": frozenset({"employer_follow_up", "final_round_prep"}),
    "interview_untracked": _ALL,
}
WAIVER_REASONS: tuple[WaiverReason, ...] = tuple(CLOSES)
# A change that cannot be undone: its waivers are never reopened.
FINAL_REASONS: frozenset[WaiverReason] = frozenset({"candidate_erased"})


def reasons_in_force(facts: InterviewFacts) -> list[WaiverReason]:
    """The changes that hold for this interview now, candidate's first."""
    reasons: list[WaiverReason] = []
    if facts.candidate_erased:
        reasons.append("candidate_erased")
    elif facts.candidate_status == "withdrawn":
        reasons.append("candidate_withdrawn")
    elif facts.candidate_status == "placed":
        reasons.append("candidate_placed")
    elif facts.candidate_status == "archived":
        reasons.append("candidate_archived")
    if facts.status == "cancelled":
        reasons.append("interview_cancelled")
    elif facts.status == "no_show":
        reasons.append("interview_no_show")
    if facts.outcome == "withdrawn":
        reasons.append("interview_withdrawn")
    if not facts.tracked:
        reasons.append("interview_untracked")
    return reasons


def kinds_closed(facts: InterviewFacts) -> dict[Kind, WaiverReason]:
    """Each follow-up kind that no longer applies to this interview, with the first reason why."""
    closed: dict[Kind, WaiverReason] = {}
    for reason in reasons_in_force(facts):
        for kind in KINDS:
            if kind in CLOSES[reason]:
                closed.setdefault(kind, reason)
    return closed


def reopens(
    kind: Kind, reason: str, facts: InterviewFacts, *, now: datetime, policy: FollowUpPolicy
) -> bool:
    """Whether a follow-up the service waived for `reason` opens again: nothing closes it any
    more (the change was undone), it was not an erasure, and the interview is not history
    (unless the sender asked to track it again: that is whatever its age)."""
    if reason not in CLOSES or reason in FINAL_REASONS:
        return False
    if kind in kinds_closed(facts):
        return False
    if kind == "final_round_prep" and facts.final_prep_elsewhere:
        return False  # another follow-up stands for that final now
    return reason == "interview_untracked" or not is_history(facts.ends_at, now=now, policy=policy)


def is_history(ends_at: datetime, *, now: datetime, policy: FollowUpPolicy) -> bool:
    """An interview that ended more than the policy's window (working days) before `now`."""
    calendar = calendar_for(policy)
    return calendar.add(ends_at, calendar.day_length * policy.history_working_days) < now


def tracks_follow_ups(
    ends_at: datetime, *, requested: bool | None, now: datetime, policy: FollowUpPolicy
) -> bool:
    """Whether a new interview's follow-ups are tracked: as asked, else unless it is history."""
    if requested is not None:
        return requested
    return not is_history(ends_at, now=now, policy=policy)


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
