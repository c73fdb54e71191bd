"""The rules that decide what is no longer chased, what is history, and when a final booked
directly is prepared for: exact dates, the documented table, and their invariants."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from app.followups.policy import FollowUpPolicy
from app.followups.rules import (
    CLOSES,
    KINDS,
    WAIVER_REASONS,
    InterviewFacts,
    calendar_for,
    due_at,
    is_history,
    kinds_closed,
    kinds_for,
    reasons_in_force,
    reopens,
    tracks_follow_ups,
)

LONDON = ZoneInfo("Europe/London")
POLICY = FollowUpPolicy()
CALENDAR = calendar_for(POLICY)
T0 = datetime(2026, 3, 4, 10, 0, tzinfo=UTC)  # a Wednesday


def london(*args: int) -> datetime:
    return datetime(*args, tzinfo=LONDON).astimezone(UTC)  # type: ignore[misc]


def facts(ends_at: datetime, **more: object) -> InterviewFacts:
    return InterviewFacts(ends_at=ends_at, **more)  # type: ignore[arg-type]


# ------------------------------------------------------------------ what a change closes


def test_the_closing_table() -> None:
    """The table in docs/follow-ups.md, exactly."""
    everything = set(KINDS)
    assert {reason: set(kinds) for reason, kinds in CLOSES.items()} == {
        "candidate_withdrawn": everything - {"thank_you_note"},
        "candidate_placed": everything - {"thank_you_note"},
        "candidate_archived": everything,
        "candidate_erased": everything,
        "interview_cancelled": everything,
        "interview_no_show": everything,
        "interview_withdrawn": {"employer_follow_up", "final_round_prep"},
        "interview_untracked": everything,
    }


def test_a_withdrawn_candidate_still_thanks_the_interviewers() -> None:
    closed = kinds_closed(facts(T0, candidate_status="withdrawn"))
    assert closed == {
        "debrief_call": "candidate_withdrawn",
        "employer_follow_up": "candidate_withdrawn",
        "employer_feedback": "candidate_withdrawn",
        "final_round_prep": "candidate_withdrawn",
        "candidate_call": "candidate_withdrawn",
    }


def test_a_withdrawal_from_one_job_waives_the_employer_chase_not_the_debrief() -> None:
    assert kinds_closed(facts(T0, outcome="withdrawn")) == {
        "employer_follow_up": "interview_withdrawn",
        "final_round_prep": "interview_withdrawn",
    }


def test_the_candidate_reason_comes_first_and_erasure_overrides_the_status() -> None:
    both = facts(T0, candidate_status="placed", status="no_show")
    assert reasons_in_force(both) == ["candidate_placed", "interview_no_show"]
    assert kinds_closed(both)["debrief_call"] == "candidate_placed"
    assert kinds_closed(both)["thank_you_note"] == "interview_no_show"
    erased = facts(T0, candidate_status="archived", candidate_erased=True)
    assert reasons_in_force(erased) == ["candidate_erased"]


def test_an_interview_ending_for_a_withdrawn_candidate_opens_only_the_note() -> None:
    assert kinds_for(facts(T0, candidate_status="withdrawn"), ended=True) == ["thank_you_note"]
    assert kinds_for(facts(T0, candidate_status="archived"), ended=True) == []
    assert kinds_for(facts(T0, status="cancelled"), ended=True) == []
    assert kinds_for(facts(T0, tracked=False), ended=True) == []


def test_a_waiver_undone_reopens_unless_erased_or_history() -> None:
    back = facts(T0)  # the candidate is active again, the interview scheduled again
    now = T0 + timedelta(days=1)
    assert reopens("debrief_call", "candidate_withdrawn", back, now=now, policy=POLICY)
    assert reopens("debrief_call", "interview_cancelled", back, now=now, policy=POLICY)
    assert not reopens("debrief_call", "candidate_erased", back, now=now, policy=POLICY)
    assert not reopens("debrief_call", "Met them at the office", back, now=now, policy=POLICY)
    still = facts(T0, candidate_status="placed")
    assert not reopens("debrief_call", "interview_cancelled", still, now=now, policy=POLICY)
    # Wed 4 March 10:00 + 5 working days is Wed 11 March 10:00: after that, history.
    deadline = london(2026, 3, 11, 10, 0)
    assert reopens("debrief_call", "candidate_withdrawn", back, now=deadline, policy=POLICY)
    later = london(2026, 3, 11, 10, 1)
    assert not reopens("debrief_call", "candidate_withdrawn", back, now=later, policy=POLICY)
    # Asked to track again: whatever its age.
    assert reopens("debrief_call", "interview_untracked", back, now=later, policy=POLICY)


def test_a_finals_preparation_reopens_only_if_no_other_follow_up_stands_for_it() -> None:
    final = _final(london(2026, 3, 16, 10, 0))
    assert reopens("final_round_prep", "interview_cancelled", final, now=T0, policy=POLICY)
    covered = _final(london(2026, 3, 16, 10, 0), final_prep_elsewhere=True)
    assert not reopens("final_round_prep", "interview_cancelled", covered, now=T0, policy=POLICY)


# ------------------------------------------------------------------ an outcome already decided


def test_an_interview_recorded_with_its_outcome_opens_what_the_outcome_calls_for() -> None:
    assert kinds_for(facts(T0, outcome="offer"), ended=True) == ["thank_you_note"]
    assert kinds_for(facts(T0, outcome="withdrawn"), ended=True) == ["thank_you_note"]
    assert kinds_for(facts(T0, outcome="rejected"), ended=True) == [
        "thank_you_note",
        "employer_feedback",
    ]
    assert kinds_for(facts(T0, outcome="next_round", next_stage="final"), ended=True) == [
        "thank_you_note",
        "final_round_prep",
    ]
    assert kinds_for(facts(T0), ended=True) == [
        "debrief_call",
        "thank_you_note",
        "employer_follow_up",
    ]


# ------------------------------------------------------------------ history


def test_history_is_five_working_days_after_the_end() -> None:
    ended = london(2026, 2, 25, 10, 0)  # Wednesday
    assert not is_history(ended, now=london(2026, 3, 4, 10, 0), policy=POLICY)
    assert is_history(ended, now=london(2026, 3, 4, 10, 0) + timedelta(seconds=1), policy=POLICY)


def test_history_counts_working_days_across_a_weekend() -> None:
    ended = london(2026, 2, 27, 16, 0)  # Friday 16:00: tracked until Friday 6 March 16:00
    assert not is_history(ended, now=london(2026, 3, 6, 16, 0), policy=POLICY)
    assert is_history(ended, now=london(2026, 3, 6, 16, 1), policy=POLICY)


def test_history_skips_good_friday_and_easter_monday() -> None:
    ended = london(2026, 4, 2, 12, 0)  # Thursday before Easter, BST
    assert not is_history(ended, now=london(2026, 4, 13, 12, 0), policy=POLICY)
    assert is_history(ended, now=london(2026, 4, 13, 12, 1), policy=POLICY)


def test_the_history_window_is_the_policys() -> None:
    ended = london(2026, 2, 20, 10, 0)  # Friday, 8 working days before T0
    assert is_history(ended, now=T0, policy=POLICY)
    assert not is_history(ended, now=T0, policy=FollowUpPolicy(history_working_days=10))


def test_track_follow_ups_overrides_the_age() -> None:
    old = T0 - timedelta(days=60)
    assert not tracks_follow_ups(old, requested=None, now=T0, policy=POLICY)
    assert tracks_follow_ups(old, requested=True, now=T0, policy=POLICY)
    assert not tracks_follow_ups(T0 + timedelta(days=1), requested=False, now=T0, policy=POLICY)
    assert tracks_follow_ups(T0 - timedelta(hours=1), requested=None, now=T0, policy=POLICY)


# ------------------------------------------------------------------ a final booked directly


def _final(starts_at: datetime, **more: object) -> InterviewFacts:
    return facts(starts_at + timedelta(hours=1), stage="final", starts_at=starts_at, **more)


def test_a_final_to_come_calls_for_its_own_preparation() -> None:
    final = _final(london(2026, 3, 16, 10, 0))
    assert kinds_for(final, ended=False, now=T0) == ["final_round_prep"]
    assert kinds_for(final, ended=False) == []  # no time given: nothing to come
    assert kinds_for(final, ended=True, now=london(2026, 3, 16, 12, 0)) == [
        "debrief_call",
        "thank_you_note",
        "employer_follow_up",
    ]
    covered = _final(london(2026, 3, 16, 10, 0), final_prep_elsewhere=True)
    assert kinds_for(covered, ended=False, now=T0) == []
    cancelled = _final(london(2026, 3, 16, 10, 0), status="cancelled")
    assert kinds_for(cancelled, ended=False, now=T0) == []


def test_a_finals_own_preparation_is_two_working_days_before_it() -> None:
    due = due_at("final_round_prep", _final(london(2026, 3, 16, 10, 0)), POLICY)  # Monday
    assert due == london(2026, 3, 12, 10, 0)  # the Thursday before, before the final ends


def test_a_finals_own_preparation_skips_easter() -> None:
    # Tuesday 7 April 2026, 10:00 BST: Easter Monday and Good Friday are not working days.
    due = due_at("final_round_prep", _final(london(2026, 4, 7, 10, 0)), POLICY)
    assert due == london(2026, 4, 1, 10, 0)


def test_a_final_at_opening_time_is_prepared_for_two_days_before_at_opening_time() -> None:
    due = due_at("final_round_prep", _final(london(2026, 3, 16, 9, 0)), POLICY)
    assert due == london(2026, 3, 12, 9, 0)


def test_a_final_that_leads_to_another_final_prepares_for_that_one() -> None:
    led = _final(
        london(2026, 3, 9, 10, 0),
        outcome="next_round",
        next_stage="final",
        outcome_recorded_at=london(2026, 3, 10, 9, 0),
    )
    # Two working days after the outcome (Tuesday 09:00): Wednesday at closing time.
    assert due_at("final_round_prep", led, POLICY) == london(2026, 3, 11, 17, 30)


# ------------------------------------------------------------------ properties

moments = st.datetimes(
    min_value=datetime(2024, 1, 1), max_value=datetime(2028, 12, 31), timezones=st.just(UTC)
)
any_facts = st.builds(
    InterviewFacts,
    ends_at=moments,
    outcome=st.sampled_from(["pending", "next_round", "offer", "rejected", "withdrawn"]),
    next_stage=st.sampled_from([None, "second", "final"]),
    stage=st.sampled_from(["first", "second", "final"]),
    status=st.sampled_from(["scheduled", "completed", "cancelled", "no_show"]),
    starts_at=moments,
    candidate_status=st.sampled_from(["active", "placed", "withdrawn", "archived"]),
    candidate_erased=st.booleans(),
    tracked=st.booleans(),
    final_prep_elsewhere=st.booleans(),
)


@settings(max_examples=300, deadline=None)
@given(f=any_facts, ended=st.booleans(), now=moments)
def test_no_follow_up_is_opened_that_a_change_closed(f, ended, now) -> None:  # type: ignore[no-untyped-def]
    assert not set(kinds_for(f, ended=ended, now=now)) & set(kinds_closed(f))


@settings(max_examples=300, deadline=None)
@given(f=any_facts)
def test_every_closed_follow_up_names_a_reason_in_force_that_closes_it(f) -> None:  # type: ignore[no-untyped-def]
    for kind, reason in kinds_closed(f).items():
        assert reason in reasons_in_force(f)
        assert kind in CLOSES[reason]
    assert set(reasons_in_force(f)) <= set(WAIVER_REASONS)


@settings(max_examples=300, deadline=None)
@given(
    end=moments,
    status=st.sampled_from(["scheduled", "completed"]),
    candidate=st.sampled_from(["active", "placed", "withdrawn"]),
    outcome=st.sampled_from(["pending", "next_round", "offer", "rejected", "withdrawn"]),
)
def test_the_note_is_asked_for_whatever_the_candidate_decided(
    end, status, candidate, outcome
) -> None:  # type: ignore[no-untyped-def]
    """Thank them all the same: a tracked interview that took place asks for the note."""
    f = facts(end, status=status, candidate_status=candidate, outcome=outcome)
    assert "thank_you_note" in kinds_for(f, ended=True)


@settings(max_examples=300, deadline=None)
@given(f=any_facts, now=moments)
def test_an_erasure_is_never_undone(f, now) -> None:  # type: ignore[no-untyped-def]
    for kind in KINDS:
        assert not reopens(kind, "candidate_erased", f, now=now, policy=POLICY)
        if kind in kinds_closed(f):
            for reason in WAIVER_REASONS:
                assert not reopens(kind, reason, f, now=now, policy=POLICY)


@settings(max_examples=300, deadline=None)
@given(end=moments, days=st.integers(min_value=1, max_value=30))
def test_history_begins_exactly_when_the_window_closes(end, days) -> None:  # type: ignore[no-untyped-def]
    policy = FollowUpPolicy(history_working_days=days)
    closes = CALENDAR.add(end, CALENDAR.day_length * days)
    assert not is_history(end, now=closes, policy=policy)
    assert is_history(end, now=closes + timedelta(microseconds=1), policy=policy)
    assert not is_history(end, now=end, policy=policy)


@settings(max_examples=300, deadline=None)
@given(a=moments, b=moments, now=moments)
def test_an_older_interview_is_history_sooner(a, b, now) -> None:  # type: ignore[no-untyped-def]
    older, newer = sorted((a, b))
    if is_history(newer, now=now, policy=POLICY):
        assert is_history(older, now=now, policy=POLICY)


@settings(max_examples=300, deadline=None)
@given(start=moments, days=st.integers(min_value=1, max_value=10))
def test_a_finals_own_preparation_is_due_in_working_hours_before_it(start, days) -> None:  # type: ignore[no-untyped-def]
    policy = FollowUpPolicy(final_round_prep_working_days=days)
    due = due_at("final_round_prep", _final(start), policy)
    assert due < start
    assert CALENDAR.contains(due)
    # The latest moment from which that much working time still ends by the start.
    lead = CALENDAR.day_length * days
    assert CALENDAR.add(due, lead) <= start
    assert CALENDAR.add(due + timedelta(microseconds=1), lead) > start
