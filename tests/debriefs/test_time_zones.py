"""The candidate's pages show times in the candidate's own time zone, else the agency's."""

from __future__ import annotations

from datetime import timedelta

import httpx

from app.clock import FrozenClock
from tests.conftest import T0
from tests.debriefs.test_links import csrf_of
from tests.factories import create_candidate, create_interview

# Wednesday 4 March 2026, 07:00-08:00 UTC: the thank-you note is due Thursday 08:00 UTC.
STARTS = T0 - timedelta(hours=3)


async def _form_and_thanks(
    recruiter: httpx.AsyncClient, anonymous: httpx.AsyncClient, **candidate: str
) -> tuple[str, str]:
    person = await create_candidate(recruiter, **candidate)
    interview = await create_interview(
        recruiter,
        starts_at=STARTS,
        candidate_id=person["id"],
        interviewers=[{"name": "Helen Ward"}],
    )
    link = await recruiter.post(f"/v1/interviews/{interview['id']}/debrief-links")
    token = link.json()["url"].rsplit("/", 1)[1]
    form = await anonymous.get(f"/f/{token}")
    assert form.status_code == 200
    thanks = await anonymous.post(
        f"/f/{token}", data={"csrf": csrf_of(form.text), "thank_you_sent": "no"}
    )
    assert thanks.status_code == 200, thanks.text
    return form.text, thanks.text


async def test_a_candidate_in_auckland_sees_auckland_times(
    recruiter: httpx.AsyncClient, anonymous: httpx.AsyncClient, clock: FrozenClock
) -> None:
    # The link is made at 11:00 UTC and lasts 7 days: Wednesday 11 March 11:00 UTC, which is
    # already Thursday 12 March, 00:00 in Auckland (NZDT, UTC+13).
    clock.set(T0 + timedelta(hours=1))
    form, thanks = await _form_and_thanks(recruiter, anonymous, timezone="Pacific/Auckland")
    assert "closes on Thursday 12 March" in form
    assert "by Thursday 5 March, 21:00 NZDT" in thanks


async def test_a_candidate_in_new_york_sees_new_york_times(
    recruiter: httpx.AsyncClient, anonymous: httpx.AsyncClient
) -> None:
    form, thanks = await _form_and_thanks(recruiter, anonymous, timezone="America/New_York")
    assert "closes on Wednesday 11 March" in form
    assert "by Thursday 5 March, 03:00 EST" in thanks


async def test_without_their_own_zone_the_pages_use_the_agencys(
    admin: httpx.AsyncClient,
    recruiter: httpx.AsyncClient,
    anonymous: httpx.AsyncClient,
    clock: FrozenClock,
) -> None:
    clock.set(T0 + timedelta(hours=1))
    form, thanks = await _form_and_thanks(recruiter, anonymous)
    assert "closes on Wednesday 11 March" in form  # London: 11:00 GMT
    assert "by Thursday 5 March, 08:00 GMT" in thanks
    put = await admin.put("/v1/settings/follow-up-policy", json={"timezone": "Europe/Paris"})
    assert put.status_code == 200
    _, thanks = await _form_and_thanks(recruiter, anonymous)
    assert "by Thursday 5 March, 09:00 CET" in thanks
