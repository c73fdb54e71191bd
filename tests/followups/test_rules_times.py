"""The true times' rules: the thank-you note's ideal beside its deadline, what a reported
time may be, and a call judged by when it took place. Exact dates, no database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from app.followups.policy import FollowUpPolicy
from app.followups.rules import (
    KINDS,
    InterviewFacts,
    due_at,
    ideal_by,
    reported_time_problem,
    thank_you_windows,
)

LONDON = ZoneInfo("Europe/London")
POLICY = FollowUpPolicy()


def london(*args: int) -> datetime:
    return datetime(*args, tzinfo=LONDON).astimezone(UTC)  # type: ignore[misc]


def test_a_note_two_hours_after_a_10_to_11_interview_is_within_the_ideal_and_the_deadline() -> None:
    facts = InterviewFacts(ends_at=london(2026, 3, 4, 11, 0))
    sent = london(2026, 3, 4, 13, 0)
    assert ideal_by("thank_you_note", facts, POLICY) == london(2026, 3, 4, 14, 0)
    assert due_at("thank_you_note", facts, POLICY) == london(2026, 3, 5, 11, 0)
    assert sent <= london(2026, 3, 4, 14, 0)
    # The same, measured as the reports measure it: time after the end against the windows.
    ideal, deadline = thank_you_windows(POLICY)
    assert (ideal, deadline) == (timedelta(hours=3), timedelta(hours=24))
    assert sent - facts.ends_at <= ideal <= deadline


def test_a_note_four_hours_after_is_past_the_ideal_but_within_the_deadline() -> None:
    facts = InterviewFacts(ends_at=london(2026, 3, 4, 11, 0))
    sent = london(2026, 3, 4, 15, 0)
    assert (
        ideal_by("thank_you_note", facts, POLICY) < sent < due_at("thank_you_note", facts, POLICY)
    )


def test_only_the_thank_you_note_has_an_ideal() -> None:
    facts = InterviewFacts(ends_at=london(2026, 3, 4, 11, 0))
    assert [kind for kind in KINDS if ideal_by(kind, facts, POLICY) is not None] == [
        "thank_you_note"
    ]


def test_the_ideal_follows_the_policy_and_never_passes_the_deadline() -> None:
    facts = InterviewFacts(ends_at=london(2026, 3, 4, 11, 0))
    two = FollowUpPolicy(thank_you_note_ideal_hours=2)
    assert ideal_by("thank_you_note", facts, two) == london(2026, 3, 4, 13, 0)
    # A deadline shorter than the default ideal: the ideal is the deadline.
    short = FollowUpPolicy(thank_you_note_hours=1.5)
    assert short.thank_you_note_ideal_hours == 1.5
    assert ideal_by("thank_you_note", facts, short) == london(2026, 3, 4, 12, 30)


def test_the_ideal_across_the_clocks_going_forward_is_three_real_hours() -> None:
    # British Summer Time starts at 01:00 on Sunday 29 March 2026: 23:30 GMT + 3 h is
    # 03:30 BST on the clock.
    facts = InterviewFacts(ends_at=london(2026, 3, 28, 23, 30))
    assert ideal_by("thank_you_note", facts, POLICY) == london(2026, 3, 29, 3, 30)


def test_a_call_at_1400_on_the_day_it_was_due_is_on_time_whenever_it_is_logged() -> None:
    # Tuesday 4 November 2025, 14:00-15:00: 2.5 working hours that day, 5.5 the next, so the
    # call is due Wednesday 14:30. Taken at 14:00 and logged at 18:00, it is judged by 14:00.
    facts = InterviewFacts(ends_at=london(2025, 11, 4, 15, 0))
    due = due_at("debrief_call", facts, POLICY)
    assert due == london(2025, 11, 5, 14, 30)
    called, logged = london(2025, 11, 5, 14, 0), london(2025, 11, 5, 18, 0)
    assert reported_time_problem(called, started_at=london(2025, 11, 4, 14, 0), now=logged) is None
    assert called <= due < logged


def test_a_reported_time_lies_between_the_start_and_now() -> None:
    started, now = london(2026, 3, 4, 10, 0), london(2026, 3, 5, 18, 0)
    assert reported_time_problem(started, started_at=started, now=now) is None
    assert reported_time_problem(now, started_at=started, now=now) is None
    assert reported_time_problem(now + timedelta(seconds=1), started_at=started, now=now) == (
        "cannot be in the future"
    )
    assert reported_time_problem(started - timedelta(seconds=1), started_at=started, now=now) == (
        "cannot be before the interview started"
    )


moments = st.datetimes(
    min_value=datetime(2020, 1, 1), max_value=datetime(2035, 12, 31), timezones=st.just(UTC)
)
spans = st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=30))
hours = st.floats(min_value=0.01, max_value=24 * 90, allow_nan=False)


@settings(max_examples=300, deadline=None)
@given(end=moments, deadline=hours, ideal=hours)
def test_the_ideal_lies_between_the_end_and_the_deadline(end, deadline, ideal) -> None:  # type: ignore[no-untyped-def]
    policy = FollowUpPolicy(
        thank_you_note_hours=deadline, thank_you_note_ideal_hours=min(ideal, deadline)
    )
    facts = InterviewFacts(ends_at=end)
    best = ideal_by("thank_you_note", facts, policy)
    assert best is not None
    assert end <= best <= due_at("thank_you_note", facts, policy)
    within_ideal, within_deadline = thank_you_windows(policy)
    assert best == end + within_ideal
    assert due_at("thank_you_note", facts, policy) == end + within_deadline


@settings(max_examples=300, deadline=None)
@given(started=moments, at=moments, later=spans)
def test_a_reported_time_is_accepted_exactly_between_the_start_and_now(  # type: ignore[no-untyped-def]
    started, at, later
) -> None:
    now = started + later
    problem = reported_time_problem(at, started_at=started, now=now)
    assert (problem is None) == (started <= at <= now)
