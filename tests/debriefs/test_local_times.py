"""The times a candidate types on the form, read on their own clock."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.debriefs.local_times import calendar_day, candidate_zone, clock_time, moment
from app.followups.policy import FollowUpPolicy

ZONES = ("Europe/London", "America/New_York", "Asia/Kolkata", "Australia/Sydney", "UTC")


@pytest.mark.parametrize(
    ("typed", "read"),
    [
        ("13:00", time(13, 0)),
        ("9:05", time(9, 5)),
        ("09.05", time(9, 5)),
        ("14h30", time(14, 30)),
        ("1pm", time(13, 0)),
        ("1:30 pm", time(13, 30)),
        ("12 am", time(0, 0)),
        ("12:15PM", time(12, 15)),
        (" 7 a.m. ", time(7, 0)),
    ],
)
def test_times_of_day_as_people_type_them(typed: str, read: time) -> None:
    assert clock_time(typed) == read


@pytest.mark.parametrize("typed", ["", "soon", "25:00", "13:60", "13pm", "0am", "1300", "1:3"])
def test_what_is_not_a_time_of_day_is_refused(typed: str) -> None:
    with pytest.raises(ValueError, match="give a time of day"):
        clock_time(typed)


def test_dates_as_a_date_field_sends_them() -> None:
    assert calendar_day("2026-03-04") == date(2026, 3, 4)
    with pytest.raises(ValueError, match="year-month-day"):
        calendar_day("4/3/2026")


def test_the_candidates_zone_when_known_else_the_agencys() -> None:
    policy = FollowUpPolicy()
    assert candidate_zone("America/New_York", policy) == ZoneInfo("America/New_York")
    assert candidate_zone(None, policy) == ZoneInfo("Europe/London")


def test_a_wall_clock_time_in_summer_and_in_winter() -> None:
    london = ZoneInfo("Europe/London")
    assert moment(date(2026, 3, 4), time(13, 0), london) == datetime(2026, 3, 4, 13, tzinfo=UTC)
    assert moment(date(2026, 7, 4), time(13, 0), london) == datetime(2026, 7, 4, 12, tzinfo=UTC)
    new_york = ZoneInfo("America/New_York")
    assert moment(date(2026, 3, 4), time(13, 0), new_york) == datetime(2026, 3, 4, 18, tzinfo=UTC)


def test_the_hour_repeated_when_the_clocks_go_back_reads_as_its_first_time() -> None:
    # 01:30 happens twice in London on Sunday 25 October 2026: first in BST (00:30 UTC).
    london = ZoneInfo("Europe/London")
    assert moment(date(2026, 10, 25), time(1, 30), london) == datetime(
        2026, 10, 25, 0, 30, tzinfo=UTC
    )


@settings(max_examples=300, deadline=None)
@given(
    instant=st.datetimes(
        min_value=datetime(2000, 1, 1), max_value=datetime(2040, 1, 1), timezones=st.just(UTC)
    ),
    zone_name=st.sampled_from(ZONES),
)
def test_a_time_read_back_shows_the_same_wall_clock(instant: datetime, zone_name: str) -> None:
    """Whatever the candidate's clock showed (to the minute), the instant read from it shows
    that wall-clock date and time again in their zone, and is within an hour of the truth."""
    zone = ZoneInfo(zone_name)
    shown = instant.replace(second=0, microsecond=0).astimezone(zone)
    read = moment(shown.date(), shown.time(), zone)
    assert read.astimezone(zone).replace(tzinfo=None) == shown.replace(tzinfo=None)
    assert abs(read - instant) < timedelta(hours=1, minutes=1)
