"""The candidate's form asks when the thank-you note went out, on the candidate's own clock;
that time, never the form's, is the note's."""

from __future__ import annotations

import html
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from app.clock import FrozenClock
from app.debriefs import public_router
from tests.debriefs.test_links import csrf_of
from tests.factories import create_candidate, create_interview
from tests.followups.helpers import follow_ups, sweep

# Wednesday 4 March 2026, 10:00-11:00 in London (GMT).
STARTS = datetime(2026, 3, 4, 10, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _fresh_form_limits() -> None:
    """These tests send many forms from one address; the limits have their own test."""
    public_router.per_address._buckets.clear()
    public_router.per_link._buckets.clear()


async def _link(recruiter: httpx.AsyncClient, **candidate: Any) -> tuple[dict[str, Any], str]:
    person = await create_candidate(recruiter, **candidate)
    interview = await create_interview(recruiter, starts_at=STARTS, candidate_id=person["id"])
    url = (await recruiter.post(f"/v1/interviews/{interview['id']}/debrief-links")).json()["url"]
    return interview, url.rsplit("/", 1)[1]


async def _send(
    anonymous: httpx.AsyncClient, token: str, **answers: str
) -> tuple[httpx.Response, str]:
    page = await anonymous.get(f"/f/{token}")
    assert page.status_code == 200, page.text
    sent = await anonymous.post(f"/f/{token}", data={"csrf": csrf_of(page.text), **answers})
    return sent, page.text


async def test_a_note_sent_two_hours_after_is_within_the_ideal_whenever_the_form_comes(
    recruiter: httpx.AsyncClient,
    admin: httpx.AsyncClient,
    anonymous: httpx.AsyncClient,
    clock: FrozenClock,
) -> None:
    interview, token = await _link(recruiter)
    clock.set(datetime(2026, 3, 9, 16, 45, tzinfo=UTC))  # five days later, past the deadline
    await sweep(admin)
    sent, form = await _send(
        anonymous,
        token,
        thank_you_sent="yes",
        thank_you_date="2026-03-04",
        thank_you_time="13:00",
    )
    assert sent.status_code == 200, sent.text
    assert 'value="2026-03-04"' in form  # the interview's day, already filled in
    assert "Your time (Europe/London)" in form

    debrief = (await recruiter.get(f"/v1/interviews/{interview['id']}/debrief")).json()
    assert debrief["thank_you_sent_at"] == "2026-03-04T13:00:00Z"
    note = (await follow_ups(recruiter, interview_id=interview["id"]))["thank_you_note"]
    assert (note["status"], note["completed_at"], note["late"]) == (
        "done",
        "2026-03-04T13:00:00Z",
        False,
    )
    assert note["completed_at"] <= note["ideal_by"] == "2026-03-04T14:00:00Z"
    thanks = (
        await recruiter.get(
            "/v1/reports/pipeline", params={"from": "2026-03-01", "to": "2026-03-31"}
        )
    ).json()["thank_you"]
    assert (thanks["sent_within_ideal_share"], thanks["sent_within_deadline_share"]) == (1.0, 1.0)


async def test_the_time_is_read_on_the_candidates_own_clock(
    recruiter: httpx.AsyncClient, anonymous: httpx.AsyncClient, clock: FrozenClock
) -> None:
    # New York is five hours behind London in early March: 08:00 there is 13:00 UTC.
    interview, token = await _link(recruiter, timezone="America/New_York")
    clock.set(datetime(2026, 3, 5, 9, 0, tzinfo=UTC))
    sent, form = await _send(
        anonymous, token, thank_you_sent="yes", thank_you_date="2026-03-04", thank_you_time="8am"
    )
    assert sent.status_code == 200, sent.text
    assert "Your time (America/New_York)" in form
    assert 'value="2026-03-04"' in form  # 11:00 in London is 06:00 the same day in New York
    debrief = (await recruiter.get(f"/v1/interviews/{interview['id']}/debrief")).json()
    assert debrief["thank_you_sent_at"] == "2026-03-04T13:00:00Z"


async def test_a_time_without_a_yes_counts_and_not_yet_ignores_it(
    recruiter: httpx.AsyncClient, anonymous: httpx.AsyncClient, clock: FrozenClock
) -> None:
    clock.set(datetime(2026, 3, 4, 15, 0, tzinfo=UTC))
    timed, token = await _link(recruiter)
    sent, _ = await _send(anonymous, token, thank_you_date="2026-03-04", thank_you_time="12:10")
    assert sent.status_code == 200, sent.text
    debrief = (await recruiter.get(f"/v1/interviews/{timed['id']}/debrief")).json()
    assert debrief["thank_you_sent_at"] == "2026-03-04T12:10:00Z"

    not_yet, token = await _link(recruiter)
    sent, _ = await _send(
        anonymous, token, thank_you_sent="no", thank_you_date="2026-03-04", thank_you_time="12:10"
    )
    assert sent.status_code == 200, sent.text
    debrief = (await recruiter.get(f"/v1/interviews/{not_yet['id']}/debrief")).json()
    assert debrief["thank_you_sent_at"] is None


async def test_an_impossible_time_shows_the_form_again_and_keeps_the_link(
    recruiter: httpx.AsyncClient, anonymous: httpx.AsyncClient, clock: FrozenClock
) -> None:
    interview, token = await _link(recruiter)
    clock.set(datetime(2026, 3, 4, 15, 0, tzinfo=UTC))
    for answers, message in [
        ({"thank_you_sent": "yes"}, "tell us roughly what time you sent it"),
        ({"thank_you_sent": "yes", "thank_you_time": "teatime"}, "give a time of day"),
        (
            {"thank_you_sent": "yes", "thank_you_date": "4 March", "thank_you_time": "13:00"},
            "give the date as year-month-day",
        ),
        (
            {"thank_you_sent": "yes", "thank_you_date": "2026-03-04", "thank_you_time": "15:01"},
            "that time cannot be in the future",
        ),
        (
            {"thank_you_sent": "yes", "thank_you_date": "2026-03-04", "thank_you_time": "09:59"},
            "that time cannot be before the interview started",
        ),
        (
            {"thank_you_sent": "yes", "thank_you_date": "2026-03-03", "thank_you_time": "13:00"},
            "that time cannot be before the interview started",
        ),
    ]:
        sent, _ = await _send(anonymous, token, notes="Kept", **answers)
        assert sent.status_code == 422, answers
        page = html.unescape(sent.text)
        assert "When you sent your thank-you note" in page
        assert message in page, (answers, page)
        assert ">Kept</textarea>" in page  # nothing typed is lost
        if "thank_you_time" in answers:
            assert f'value="{answers["thank_you_time"]}"' in page
    assert (await recruiter.get(f"/v1/interviews/{interview['id']}/debrief")).status_code == 404
    assert (await anonymous.get(f"/f/{token}")).status_code == 200


async def test_the_form_never_records_the_moment_it_was_sent_as_the_notes(
    recruiter: httpx.AsyncClient, anonymous: httpx.AsyncClient, clock: FrozenClock
) -> None:
    """A "yes" submitted the next day records the time given, not the submission."""
    interview, token = await _link(recruiter)
    clock.set(datetime(2026, 3, 5, 18, 0, tzinfo=UTC) + timedelta(seconds=7))
    sent, _ = await _send(
        anonymous,
        token,
        thank_you_sent="yes",
        thank_you_date="2026-03-04",
        thank_you_time="11:20",
    )
    assert sent.status_code == 200, sent.text
    debrief = (await recruiter.get(f"/v1/interviews/{interview['id']}/debrief")).json()
    assert debrief["thank_you_sent_at"] == "2026-03-04T11:20:00Z"
    assert debrief["received_at"] == "2026-03-05T18:00:07Z"
