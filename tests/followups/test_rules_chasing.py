"""Chasing with judgement, computed without a database: reminders in office hours on a fixed
schedule, the call to a candidate who cools, and the employer chased again (but not daily)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from app.followups.policy import FollowUpPolicy
from app.followups.rules import (
    InterviewFacts,
    after_employer_follow_up,
    calendar_for,
    candidate_call_due,
    candidate_is_cooling,
    employer_follow_up_again_due,
    first_notice_at,
    next_notice_after,
    next_reminder_at,
    notice_for,
    notice_times,
)

POLICY = FollowUpPolicy()
CALENDAR = calendar_for(POLICY)
FRIDAY_7_NOV_1600 = datetime(2025, 11, 7, 16, 0, tzinfo=UTC)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


# ---------------------------------------------------------------- reminders


def test_overdue_friday_afternoon_is_reminded_tuesday_thursday_monday_then_escalated() -> None:
    """The issue's case: reminders two working days apart, at the time the follow-up went
    overdue."""
    assert notice_times(FRIDAY_7_NOV_1600, interval_days=2, max_reminders=3, policy=POLICY) == [
        utc(2025, 11, 11, 16, 0),  # Tuesday
        utc(2025, 11, 13, 16, 0),  # Thursday
        utc(2025, 11, 17, 16, 0),  # Monday
        utc(2025, 11, 19, 16, 0),  # Wednesday: the escalation
    ]


def test_reminders_skip_christmas_boxing_day_and_the_weekend() -> None:
    # Tuesday 23 December 2025 16:00: 1.5 h that day, 8.5 h on the 24th, then Monday the 29th.
    assert first_notice_at(utc(2025, 12, 23, 16, 0), interval_days=2, policy=POLICY) == utc(
        2025, 12, 29, 16, 0
    )


def test_a_follow_up_flagged_on_a_saturday_night_is_reminded_in_office_hours() -> None:
    # A thank-you note falls due in plain hours, at any time; its reminder waits for the
    # office: two working days from Monday's opening is Tuesday's close.
    reminder = first_notice_at(utc(2025, 11, 8, 22, 0), interval_days=2, policy=POLICY)
    assert reminder == utc(2025, 11, 11, 17, 30)
    assert CALENDAR.contains(reminder)


def test_reminders_across_the_clocks_going_back() -> None:
    # GMT returns on Sunday 26 October 2025: 16:00 BST on Friday is 15:00 UTC, 16:00 GMT on
    # Tuesday is 16:00 UTC; the local time of day stays.
    assert first_notice_at(utc(2025, 10, 24, 15, 0), interval_days=2, policy=POLICY) == utc(
        2025, 10, 28, 16, 0
    )


def test_reminders_then_one_escalation_then_silence() -> None:
    def notice(reminders_sent: int, now: datetime, escalated: bool = False):  # type: ignore[no-untyped-def]
        return notice_for(
            status="overdue",
            overdue_at=FRIDAY_7_NOV_1600,
            reminders_sent=reminders_sent,
            max_reminders=3,
            escalated=escalated,
            interval_days=2,
            policy=POLICY,
            now=now,
        )

    first = notice(0, utc(2025, 11, 11, 16, 0))
    assert (first.kind, first.next_notice_at) == ("reminder", utc(2025, 11, 13, 16, 0))
    third = notice(2, utc(2025, 11, 17, 16, 0))
    assert (third.kind, third.next_notice_at) == ("reminder", utc(2025, 11, 19, 16, 0))
    escalation = notice(3, utc(2025, 11, 19, 16, 0))
    assert (escalation.kind, escalation.next_notice_at) == ("escalation", None)
    assert notice(3, utc(2025, 11, 20, 16, 0), escalated=True) is None


def test_a_late_sweep_does_not_shift_the_later_reminders() -> None:
    """The first reminder was due Tuesday 16:00; a sweep that only runs on Wednesday morning
    sends it then, and the second still goes on Thursday at 16:00."""
    late = notice_for(
        status="overdue",
        overdue_at=FRIDAY_7_NOV_1600,
        reminders_sent=0,
        max_reminders=3,
        escalated=False,
        interval_days=2,
        policy=POLICY,
        now=utc(2025, 11, 12, 9, 5),
    )
    assert late is not None
    assert (late.kind, late.next_notice_at) == ("reminder", utc(2025, 11, 13, 16, 0))


def test_after_a_long_outage_one_reminder_and_the_next_stays_on_the_schedule() -> None:
    # Nobody swept from Friday to Tuesday 18 November: three reminder times passed.
    assert next_notice_after(
        FRIDAY_7_NOV_1600, interval_days=2, policy=POLICY, now=utc(2025, 11, 18, 10, 0)
    ) == utc(2025, 11, 19, 16, 0)


def test_a_done_last_chase_awaiting_its_notice_is_escalated() -> None:
    notice = notice_for(
        status="done",
        overdue_at=None,
        reminders_sent=0,
        max_reminders=3,
        escalated=False,
        interval_days=2,
        policy=POLICY,
        now=utc(2025, 11, 24, 15, 0),
    )
    assert notice is not None
    assert (notice.kind, notice.next_notice_at) == ("escalation", None)


def test_next_reminder_at_is_shown_only_while_reminders_are_left() -> None:
    at = utc(2025, 11, 11, 16, 0)
    shown = {"status": "overdue", "reminders_sent": 2, "max_reminders": 3, "next_notice_at": at}
    assert next_reminder_at(**shown) == at  # type: ignore[arg-type]
    assert next_reminder_at(**{**shown, "reminders_sent": 3}) is None  # type: ignore[arg-type]
    assert next_reminder_at(**{**shown, "status": "done"}) is None  # type: ignore[arg-type]
    assert next_reminder_at(**{**shown, "max_reminders": 0}) is None  # type: ignore[arg-type]


# ---------------------------------------------------------------- a candidate who cools


def test_a_cooling_candidate_is_called_within_four_working_hours() -> None:
    assert [candidate_is_cooling(v) for v in ("yes", "no", "unsure", None)] == [
        False,
        True,
        True,
        False,
    ]
    # Friday 15:00: 2.5 hours that day, 1.5 on Monday morning.
    assert candidate_call_due(utc(2025, 11, 7, 15, 0), POLICY) == utc(2025, 11, 10, 10, 30)
    assert candidate_call_due(
        utc(2025, 11, 7, 15, 0), FollowUpPolicy(candidate_call_working_hours=1)
    ) == utc(2025, 11, 7, 16, 0)


# ---------------------------------------------------------------- chasing the employer again

PROMISED_FRIDAY = InterviewFacts(
    ends_at=utc(2025, 11, 3, 11, 0), decision_expected_by=date(2025, 11, 14)
)


def test_a_missed_decision_date_brings_one_more_chase_three_working_days_later() -> None:
    # The first chase was done on Wednesday 12th; the employer promised Friday 14th.
    after = after_employer_follow_up(
        PROMISED_FRIDAY, sequence=1, done_at=utc(2025, 11, 12, 11, 0), policy=POLICY
    )
    assert after is not None
    assert (after.kind, after.at) == ("chase", utc(2025, 11, 19, 17, 30))  # Wednesday's close


def test_after_the_last_chase_the_silence_is_escalated() -> None:
    # The second chase went on Wednesday 19th at 15:00: three working days later, Monday 24th.
    after = after_employer_follow_up(
        PROMISED_FRIDAY, sequence=2, done_at=utc(2025, 11, 19, 15, 0), policy=POLICY
    )
    assert after is not None
    assert (after.kind, after.at) == ("escalation", utc(2025, 11, 24, 15, 0))
    more = FollowUpPolicy(max_employer_follow_ups=3)
    again = after_employer_follow_up(
        PROMISED_FRIDAY, sequence=2, done_at=utc(2025, 11, 19, 15, 0), policy=more
    )
    assert again is not None
    assert again.kind == "chase"


def test_nothing_follows_a_chase_once_decided_or_with_no_date_promised() -> None:
    done = utc(2025, 11, 12, 11, 0)
    decided = InterviewFacts(
        ends_at=PROMISED_FRIDAY.ends_at, decision_expected_by=date(2025, 11, 14), outcome="offer"
    )
    no_date = InterviewFacts(ends_at=PROMISED_FRIDAY.ends_at)
    assert after_employer_follow_up(decided, sequence=1, done_at=done, policy=POLICY) is None
    assert after_employer_follow_up(no_date, sequence=1, done_at=done, policy=POLICY) is None


def test_a_late_first_chase_moves_the_next_one_on() -> None:
    # The first chase only went on Tuesday 18th 10:00, after the promised Friday: the next
    # one is three working days after it, not after the Friday.
    assert employer_follow_up_again_due(
        date(2025, 11, 14), utc(2025, 11, 18, 10, 0), POLICY
    ) == utc(2025, 11, 21, 10, 0)


def test_never_two_chases_on_one_working_day() -> None:
    # One working day after Monday's opening is Monday's close: the chase waits for Tuesday.
    daily = FollowUpPolicy(employer_follow_up_again_working_days=1)
    assert employer_follow_up_again_due(date(2025, 11, 14), utc(2025, 11, 17, 9, 0), daily) == utc(
        2025, 11, 18, 9, 0
    )


# ---------------------------------------------------------------- properties

moments = st.datetimes(
    min_value=datetime(2024, 1, 1), max_value=datetime(2028, 12, 31), timezones=st.just(UTC)
)
intervals = st.integers(min_value=1, max_value=5)
caps = st.integers(min_value=0, max_value=5)


@settings(max_examples=200, deadline=None)
@given(overdue_at=moments, interval_days=intervals, max_reminders=caps)
def test_the_schedule_keeps_office_hours_increases_and_is_capped(
    overdue_at: datetime, interval_days: int, max_reminders: int
) -> None:
    times = notice_times(
        overdue_at, interval_days=interval_days, max_reminders=max_reminders, policy=POLICY
    )
    assert len(times) == max_reminders + 1  # the reminders, then one escalation
    assert all(CALENDAR.contains(t) for t in times)
    assert all(a < b for a, b in zip([overdue_at, *times], times, strict=False))
    # Anchored on the overdue time: the k-th is k intervals of working days after it.
    interval = CALENDAR.day_length * interval_days
    assert times == [CALENDAR.add(overdue_at, interval * k) for k in range(1, len(times) + 1)]


@settings(max_examples=200, deadline=None)
@given(
    overdue_at=moments,
    interval_days=intervals,
    max_reminders=caps,
    gaps=st.lists(st.timedeltas(timedelta(minutes=1), timedelta(days=9)), max_size=25),
)
def test_sweeps_at_any_times_send_no_burst_and_keep_the_schedule(
    overdue_at: datetime, interval_days: int, max_reminders: int, gaps: list[timedelta]
) -> None:
    """Whenever the sweeps run: at most the cap of reminders, one escalation after them, one
    notice per time on the schedule, never before it, and every time waited for is on it."""
    schedule = set(
        notice_times(overdue_at, interval_days=interval_days, max_reminders=30, policy=POLICY)
    )
    waiting_for: datetime | None = first_notice_at(
        overdue_at, interval_days=interval_days, policy=POLICY
    )
    reminders, escalated, sent = 0, False, []
    now = overdue_at
    for gap in gaps:
        now += gap
        if waiting_for is None or now < waiting_for:
            continue
        notice = notice_for(
            status="overdue",
            overdue_at=overdue_at,
            reminders_sent=reminders,
            max_reminders=max_reminders,
            escalated=escalated,
            interval_days=interval_days,
            policy=POLICY,
            now=now,
        )
        assert notice is not None
        assert not escalated
        sent.append((notice.kind, waiting_for, now))
        if notice.kind == "reminder":
            reminders += 1
        else:
            escalated = True
        waiting_for = notice.next_notice_at
        if waiting_for is not None:
            assert waiting_for > now
            assert waiting_for in schedule or reminders > 30
            assert CALENDAR.contains(waiting_for)
    assert reminders <= max_reminders
    assert [kind for kind, _, _ in sent].count("escalation") <= 1
    if escalated:
        assert sent[-1][0] == "escalation"
        assert reminders == max_reminders
    slots = [slot for _, slot, _ in sent]
    assert slots == sorted(set(slots))  # one notice per time on the schedule
    assert all(slot <= at for _, slot, at in sent)


@settings(max_examples=200, deadline=None)
@given(
    promised=st.dates(min_value=date(2024, 1, 1), max_value=date(2028, 12, 31)),
    previous=moments,
    days=st.integers(min_value=1, max_value=10),
)
def test_the_next_chase_is_in_office_hours_after_the_date_and_never_the_same_day(
    promised: date, previous: datetime, days: int
) -> None:
    policy = FollowUpPolicy(employer_follow_up_again_working_days=days)
    due = employer_follow_up_again_due(promised, previous, policy)
    assert CALENDAR.contains(due)
    assert CALENDAR.local_date(due) > CALENDAR.local_date(previous)
    earliest = CALENDAR.add(CALENDAR.close_of_business(promised), CALENDAR.day_length * days)
    assert due >= earliest
