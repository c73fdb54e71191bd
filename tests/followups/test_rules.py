"""The playbook's rules, computed without a database, with the spec's examples exactly."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.followups.policy import BusinessHours, FollowUpPolicy
from app.followups.rules import InterviewFacts, calendar_for, due_at, kinds_for

LONDON = ZoneInfo("Europe/London")
POLICY = FollowUpPolicy()
CALENDAR = calendar_for(POLICY)


def london(*args: int) -> datetime:
    return datetime(*args, tzinfo=LONDON)  # type: ignore[misc]


def facts(ends_at: datetime, **more: object) -> InterviewFacts:
    return InterviewFacts(ends_at=ends_at.astimezone(UTC), **more)  # type: ignore[arg-type]


def test_friday_afternoon_debrief_call_is_due_monday_1530() -> None:
    due = due_at("debrief_call", facts(london(2026, 3, 6, 16, 0)), POLICY)
    assert due.astimezone(LONDON) == london(2026, 3, 9, 15, 30)


def test_christmas_eve_debrief_call_skips_christmas_boxing_day_and_the_weekend() -> None:
    due = due_at("debrief_call", facts(london(2025, 12, 24, 16, 0)), POLICY)
    assert due.astimezone(LONDON) == london(2025, 12, 29, 15, 30)


def test_debrief_call_across_the_clocks_going_forward() -> None:
    # British Summer Time starts on Sunday 29 March 2026: Monday 15:30 is BST, 14:30 UTC.
    due = due_at("debrief_call", facts(london(2026, 3, 27, 16, 0)), POLICY)
    assert due == datetime(2026, 3, 30, 14, 30, tzinfo=UTC)
    assert due.astimezone(LONDON).time() == time(15, 30)


def test_debrief_call_across_the_clocks_going_back() -> None:
    # GMT returns on Sunday 25 October 2026.
    due = due_at("debrief_call", facts(london(2026, 10, 23, 16, 0)), POLICY)
    assert due.astimezone(LONDON) == london(2026, 10, 26, 15, 30)


def test_interview_ending_after_hours_counts_from_next_morning() -> None:
    due = due_at("debrief_call", facts(london(2026, 3, 4, 18, 45)), POLICY)
    assert due.astimezone(LONDON) == london(2026, 3, 5, 17, 0)


def test_easter_monday_is_a_holiday_in_england() -> None:
    # Thursday 2 April 2026 16:00; Good Friday 3 April and Easter Monday 6 April are skipped.
    due = due_at("debrief_call", facts(london(2026, 4, 2, 16, 0)), POLICY)
    assert due.astimezone(LONDON) == london(2026, 4, 7, 15, 30)


def test_thank_you_note_is_due_24_hours_after_the_end() -> None:
    end = london(2026, 3, 6, 16, 0)
    assert due_at("thank_you_note", facts(end), POLICY) == end + timedelta(hours=24)


def test_employer_follow_up_at_three_quarters_of_the_way_to_the_decision_date() -> None:
    # "Told four weeks, call around three weeks": ends Mon 2 March, decision by Mon 30 March.
    end = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    decided_by = london(2026, 3, 30, 17, 30)
    expected = end + (decided_by - end) * 0.75
    due = due_at("employer_follow_up", facts(end, decision_expected_by=date(2026, 3, 30)), POLICY)
    assert due == CALENDAR.add(expected, timedelta(0))
    assert date(2026, 3, 22) <= due.date() <= date(2026, 3, 24)  # about three weeks in


def test_employer_follow_up_without_a_date_is_a_week_after_the_thank_you_note() -> None:
    end = london(2026, 3, 4, 11, 0)
    note = london(2026, 3, 4, 13, 15)
    due = due_at("employer_follow_up", facts(end, thank_you_sent_at=note.astimezone(UTC)), POLICY)
    assert due.astimezone(LONDON) == london(2026, 3, 11, 13, 15)
    without_note = due_at("employer_follow_up", facts(end), POLICY)
    assert without_note.astimezone(LONDON) == london(2026, 3, 11, 11, 0)


def test_employer_follow_up_is_moved_forward_into_business_hours() -> None:
    # Friday 20:00 + 7 days is a Friday evening: moved to Monday's opening.
    due = due_at("employer_follow_up", facts(london(2026, 3, 6, 20, 0)), POLICY)
    assert due.astimezone(LONDON) == london(2026, 3, 16, 9, 0)


def test_employer_feedback_five_working_days_after_the_rejection() -> None:
    rejected = london(2026, 3, 4, 11, 0)  # a Wednesday
    due = due_at(
        "employer_feedback",
        facts(
            london(2026, 3, 3, 11, 0),
            outcome="rejected",
            outcome_recorded_at=rejected.astimezone(UTC),
        ),
        POLICY,
    )
    assert due.astimezone(LONDON) == london(2026, 3, 11, 11, 0)


def test_final_round_prep_two_working_days_before_the_final() -> None:
    final = london(2026, 3, 16, 10, 0)  # a Monday
    due = due_at(
        "final_round_prep",
        facts(
            london(2026, 3, 4, 11, 0),
            outcome="next_round",
            next_stage="final",
            outcome_recorded_at=london(2026, 3, 5, 9, 0).astimezone(UTC),
            next_final_starts_at=final.astimezone(UTC),
        ),
        POLICY,
    )
    assert due.astimezone(LONDON) == london(2026, 3, 12, 10, 0)  # the Thursday before


def test_final_round_prep_without_a_final_scheduled_is_two_working_days_after_the_outcome() -> None:
    recorded = london(2026, 3, 6, 15, 0)  # Friday
    due = due_at(
        "final_round_prep",
        facts(
            london(2026, 3, 4, 11, 0),
            outcome="next_round",
            next_stage="final",
            outcome_recorded_at=recorded.astimezone(UTC),
        ),
        POLICY,
    )
    assert due.astimezone(LONDON) == london(2026, 3, 10, 15, 0)


def test_a_follow_up_is_never_due_before_the_interview_ends() -> None:
    end = london(2026, 3, 13, 10, 0)
    due = due_at(
        "final_round_prep",
        facts(
            end,
            outcome="next_round",
            next_stage="final",
            next_final_starts_at=london(2026, 3, 13, 15, 0).astimezone(UTC),
        ),
        POLICY,
    )
    assert due == end.astimezone(UTC)


def test_policy_numbers_change_the_deadlines() -> None:
    policy = FollowUpPolicy(
        debrief_call_working_hours=4,
        business_hours=BusinessHours(days=["mon", "tue", "wed", "thu"], start="08:00", end="16:00"),
    )
    due = due_at("debrief_call", facts(london(2026, 3, 5, 14, 0)), policy)  # Thursday
    assert due.astimezone(LONDON) == london(2026, 3, 9, 10, 0)  # Friday is not a working day


def test_which_follow_ups_an_interview_calls_for() -> None:
    end = datetime(2026, 3, 4, 11, 0, tzinfo=UTC)
    assert kinds_for(facts(end), ended=False) == []
    assert kinds_for(facts(end), ended=True) == [
        "debrief_call",
        "thank_you_note",
        "employer_follow_up",
    ]
    # Recorded with the outcome decided: no call or chase, the note and what the outcome asks.
    assert kinds_for(facts(end, outcome="rejected"), ended=True) == [
        "thank_you_note",
        "employer_feedback",
    ]
    assert kinds_for(facts(end, outcome="next_round", next_stage="final"), ended=False) == [
        "final_round_prep"
    ]
    assert kinds_for(facts(end, outcome="next_round", next_stage="second"), ended=False) == []


def test_policy_validation() -> None:
    with pytest.raises(ValueError, match="end must be after start"):
        BusinessHours(start="17:00", end="09:00")
    with pytest.raises(ValueError, match="holiday_country"):
        FollowUpPolicy(holiday_country="XX")
    with pytest.raises(ValueError, match="holiday_subdivision"):
        FollowUpPolicy(holiday_country="GB", holiday_subdivision="TX")


# ------------------------------------------------------------------ properties

moments = st.datetimes(
    min_value=datetime(2024, 1, 1), max_value=datetime(2028, 12, 31), timezones=st.just(UTC)
)
amounts = st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=20))
calendars = st.sampled_from(
    [
        CALENDAR,
        calendar_for(
            FollowUpPolicy(
                timezone="America/New_York", holiday_country="US", holiday_subdivision=None
            )
        ),
        calendar_for(
            FollowUpPolicy(
                timezone="Asia/Kolkata",
                holiday_country="IN",
                holiday_subdivision=None,
                business_hours=BusinessHours(
                    days=["mon", "tue", "wed", "thu", "fri", "sat"], start="10:00", end="19:00"
                ),
            )
        ),
    ]
)


@settings(max_examples=300, deadline=None)
@given(calendar=calendars, start=moments, amount=amounts)
def test_adding_working_time_never_goes_back_and_lands_in_business_hours(
    calendar, start, amount
) -> None:  # type: ignore[no-untyped-def]
    result = calendar.add(start, amount)
    assert result >= start + amount  # working time never runs faster than the clock
    assert calendar.contains(result)


@settings(max_examples=300, deadline=None)
@given(calendar=calendars, start=moments, a=amounts, b=amounts)
def test_adding_working_time_is_monotonic_in_the_amount(calendar, start, a, b) -> None:  # type: ignore[no-untyped-def]
    small, large = sorted((a, b))
    assert calendar.add(start, small) <= calendar.add(start, large)


@settings(max_examples=300, deadline=None)
@given(calendar=calendars, a=moments, b=moments, amount=amounts)
def test_adding_working_time_is_monotonic_in_the_start(calendar, a, b, amount) -> None:  # type: ignore[no-untyped-def]
    early, late = sorted((a, b))
    assert calendar.add(early, amount) <= calendar.add(late, amount)


@settings(max_examples=200, deadline=None)
@given(
    end=moments,
    kind=st.sampled_from(["debrief_call", "thank_you_note", "employer_follow_up"]),
    decision_in=st.none() | st.integers(min_value=-5, max_value=60),
)
def test_no_follow_up_is_due_before_the_interview_ends(end, kind, decision_in) -> None:  # type: ignore[no-untyped-def]
    decided = None if decision_in is None else (end + timedelta(days=decision_in)).date()
    assert due_at(kind, InterviewFacts(ends_at=end, decision_expected_by=decided), POLICY) >= end


@settings(max_examples=200, deadline=None)
@given(calendar=calendars, start=moments, amount=amounts)
def test_working_time_added_is_working_time_counted(calendar, start, amount) -> None:  # type: ignore[no-untyped-def]
    """Going back the same working time from the result lands no earlier than the start, at a
    point from which the same working time leads to the result again."""
    result = calendar.add(start, amount)
    back = calendar.subtract(result, amount)
    assert back >= start
    assert calendar.add(back, amount) == result
    if calendar.contains(start) and amount > timedelta(0):
        assert back == start or calendar.window(calendar.local_date(start))[1] == start
