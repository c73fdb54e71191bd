"""When people are told: the timing rules (`app.followups.rules`), as pure functions, with
exact dates under the default policy (Europe/London, Mon-Fri 09:00-17:30, England's
holidays; candidates' waking hours 08:00-20:00)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from app.followups.policy import FollowUpPolicy
from app.followups.rules import digest_day, into_hours, link_email_at, local_day_bounds, nudge_at

POLICY = FollowUpPolicy()
LONDON = "Europe/London"


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_the_link_email_goes_thirty_minutes_after_the_end() -> None:
    ends = utc(2026, 3, 4, 11, 0)
    assert link_email_at(ends, POLICY, zone=LONDON, now=ends) == utc(2026, 3, 4, 11, 30)


def test_an_interview_ending_at_1945_is_written_about_at_8_the_next_morning() -> None:
    ends = utc(2026, 3, 4, 19, 45)
    assert link_email_at(ends, POLICY, zone=LONDON, now=ends) == utc(2026, 3, 5, 8, 0)


def test_the_morning_is_the_candidates_own_across_summer_time() -> None:
    ends = utc(2026, 7, 1, 19, 0)  # 20:00 in London (BST): the delay takes it past waking hours
    assert link_email_at(ends, POLICY, zone=LONDON, now=ends) == utc(2026, 7, 2, 7, 0)
    # In Singapore it is 03:00 on 2 July: 08:00 there is 00:00 UTC.
    assert link_email_at(ends, POLICY, zone="Asia/Singapore", now=ends) == utc(2026, 7, 2, 0, 0)


def test_an_email_planned_late_never_goes_before_now_or_at_night() -> None:
    ends = utc(2026, 3, 4, 19, 0)
    # The sweep ran late, at 20:10: not at once (night), but at 08:00.
    assert link_email_at(ends, POLICY, zone=LONDON, now=utc(2026, 3, 4, 20, 10)) == utc(
        2026, 3, 5, 8, 0
    )
    assert link_email_at(ends, POLICY, zone=LONDON, now=utc(2026, 3, 4, 19, 50)) == utc(
        2026, 3, 4, 19, 50
    )


def test_history_gets_no_email() -> None:
    ends = utc(2026, 3, 1, 10, 0)
    assert link_email_at(ends, POLICY, zone=LONDON, now=ends + timedelta(hours=48)) is not None
    assert link_email_at(ends, POLICY, zone=LONDON, now=ends + timedelta(hours=49)) is None


def test_the_nudge_waits_a_working_day_after_the_first_email() -> None:
    # First email Friday 16:00; the call went late Monday 09:30 (8 working hours).
    first, late = utc(2026, 3, 6, 16, 0), utc(2026, 3, 9, 9, 30)
    assert nudge_at(first, late, POLICY, zone=LONDON) == utc(2026, 3, 9, 16, 0)
    # Flagged late long after a working day has passed: at once, in waking hours.
    assert nudge_at(first, utc(2026, 3, 11, 21, 0), POLICY, zone=LONDON) == utc(2026, 3, 12, 8, 0)


def test_the_nudge_skips_christmas() -> None:
    first = utc(2026, 12, 24, 11, 0)  # Thursday; 25, 26 (28 substitute) are holidays
    assert nudge_at(first, utc(2026, 12, 24, 17, 0), POLICY, zone=LONDON) == utc(
        2026, 12, 29, 11, 0
    )


def test_the_digest_day_is_a_working_day_from_nine() -> None:
    wednesday = utc(2026, 3, 4, 8, 59)
    assert digest_day(wednesday, POLICY, zone=LONDON, last_day=None) is None
    assert digest_day(utc(2026, 3, 4, 9, 0), POLICY, zone=LONDON, last_day=None) == date(2026, 3, 4)
    assert digest_day(utc(2026, 3, 4, 9, 0), POLICY, zone=LONDON, last_day=date(2026, 3, 4)) is None
    assert digest_day(utc(2026, 3, 4, 17, 31), POLICY, zone=LONDON, last_day=None) is None
    assert digest_day(utc(2026, 3, 7, 9, 0), POLICY, zone=LONDON, last_day=None) is None  # Sat
    assert digest_day(utc(2026, 4, 3, 8, 0), POLICY, zone=LONDON, last_day=None) is None  # Good Fri
    # 09:00 in New York is 14:00 UTC.
    assert (
        digest_day(utc(2026, 3, 4, 13, 59), POLICY, zone="America/New_York", last_day=None) is None
    )
    assert digest_day(
        utc(2026, 3, 4, 14, 0), POLICY, zone="America/New_York", last_day=None
    ) == date(2026, 3, 4)


def test_a_local_day_spans_23_hours_when_the_clocks_go_forward() -> None:
    start, end = local_day_bounds(date(2026, 3, 29), LONDON)
    assert (start, end) == (utc(2026, 3, 29, 0, 0), utc(2026, 3, 29, 23, 0))


moments = st.datetimes(
    min_value=datetime(2025, 1, 1), max_value=datetime(2028, 12, 31), timezones=st.just(UTC)
)
zones = st.sampled_from([LONDON, "America/New_York", "Asia/Kolkata", "Australia/Sydney", "UTC"])


@given(moments, zones)
def test_into_hours_is_the_first_waking_moment_not_before(moment: datetime, zone: str) -> None:
    hours = POLICY.candidate_waking_hours
    moved = into_hours(moment, hours, zone)
    local = moved.astimezone(ZoneInfo(zone))
    assert moved >= moment
    assert time(8, 0) <= local.time() <= time(20, 0)
    assert into_hours(moved, hours, zone) == moved
    if moved != moment:  # moved only out of the night, to the next 08:00
        assert local.time() == time(8, 0)
        # The night is 12 hours long, 13 when the clocks go back (and 11 when they go on).
        assert moved - moment <= timedelta(hours=13, minutes=1)
