"""The candidate's personal link and form, through plain HTTP (the browser tests drive it too)."""

from __future__ import annotations

import html
import re
from datetime import timedelta
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from app.clock import FrozenClock
from app.debriefs import public_router
from app.models import DebriefLink
from tests.conftest import T0, ClientMaker
from tests.factories import create_interview, patch_current
from tests.followups.helpers import all_events, follow_ups
from tests.test_conventions import assert_problem

STARTS = T0 - timedelta(hours=3)


async def make_link(client: httpx.AsyncClient, **interview: Any) -> tuple[dict[str, Any], str, str]:
    made = await create_interview(client, starts_at=interview.pop("starts_at", STARTS), **interview)
    response = await client.post(f"/v1/interviews/{made['id']}/debrief-links")
    assert response.status_code == 201, response.text
    url = response.json()["url"]
    return made, url, url.rsplit("/", 1)[1]


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf" value="([0-9a-f]+)"', html)
    assert match
    return match.group(1)


async def test_a_link_is_random_hashed_expiring_and_never_an_api_key(
    recruiter: httpx.AsyncClient, db: Any, anonymous: httpx.AsyncClient
) -> None:
    interview, url, token = await make_link(recruiter)
    assert url == f"http://127.0.0.1:8000/f/{token}"
    assert len(token) >= 43  # 256 bits, URL-safe base64
    async with db.read_engine.connect() as conn:
        stored = (await conn.execute(select(DebriefLink))).mappings().one()
    assert token not in str(dict(stored))
    assert stored["expires_at"] - stored["created_at"] == timedelta(days=7)
    assert str(stored["interview_id"]) == interview["id"]
    assert_problem(
        await anonymous.get("/v1/candidates", headers={"Authorization": f"Bearer {token}"}), 401
    )


async def test_opening_the_form_does_not_use_the_link(
    recruiter: httpx.AsyncClient, anonymous: httpx.AsyncClient
) -> None:
    _, _, token = await make_link(recruiter)
    for _ in range(3):  # a mail scanner, a preview, the candidate
        page = await anonymous.get(f"/f/{token}")
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        assert "How did it go" in page.text
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["referrer-policy"] == "same-origin"
    assert "default-src 'none'" in page.headers["content-security-policy"]
    cookie = page.headers["set-cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie
    assert "Path=/f/" in cookie


async def test_submitting_records_the_debrief_as_the_api_would_and_closes_the_link(
    recruiter: httpx.AsyncClient, anonymous: httpx.AsyncClient, clock: FrozenClock
) -> None:
    interview, _, token = await make_link(recruiter, interviewers=[{"name": "Helen Ward"}])
    clock.advance(timedelta(hours=1))
    page = await anonymous.get(f"/f/{token}")
    form = {
        "csrf": csrf_of(page.text),
        "overall_rating": "4",
        "went_well": "Good rapport",
        "challenging_questions": "Consolidation of subsidiaries\n\n Why now? ",
        "still_interested": "yes",
        "company_fit": "5",
        "thank_you_sent": "no",
        "other_applications_active": "no",
        "linkedin_connected": "yes",
        "notes": "Keen",
    }
    done = await anonymous.post(f"/f/{token}", data=form)
    assert done.status_code == 200, done.text
    assert "Thank you" in done.text
    assert "We will ask" in done.text
    assert "for their decision around" in done.text
    assert "Send a short thank-you email to Helen Ward by Thursday 5 March, 08:00" in done.text
    assert "Keep applying elsewhere" in done.text

    debrief = (await recruiter.get(f"/v1/interviews/{interview['id']}/debrief")).json()
    assert (debrief["channel"], debrief["received_via"]) == ("web_form", "candidate_link")
    assert debrief["challenging_questions"] == ["Consolidation of subsidiaries", "Why now?"]
    assert (debrief["overall_rating"], debrief["company_fit"], debrief["linkedin_connected"]) == (
        4,
        5,
        True,
    )
    call = (await follow_ups(recruiter, interview_id=interview["id"]))["debrief_call"]
    assert call["status"] == "done"
    assert call["completed_by"].startswith("candidate_link:")

    again = await anonymous.get(f"/f/{token}")
    assert again.status_code == 410
    assert "This link has closed" in again.text
    resent = await anonymous.post(f"/f/{token}", data=form)
    assert resent.status_code == 410


async def test_the_debrief_event_is_written(
    recruiter: httpx.AsyncClient, anonymous: httpx.AsyncClient, client_for: ClientMaker
) -> None:
    _, _, token = await make_link(recruiter)
    page = await anonymous.get(f"/f/{token}")
    await anonymous.post(f"/f/{token}", data={"csrf": csrf_of(page.text), "overall_rating": "3"})
    crm = await client_for("integration")
    (event,) = await all_events(crm, "debrief.received")
    assert event["data"]["debrief"]["received_via"] == "candidate_link"


async def test_invalid_answers_show_the_form_again_and_keep_the_link(
    recruiter: httpx.AsyncClient, anonymous: httpx.AsyncClient
) -> None:
    interview, _, token = await make_link(recruiter, stage="final")
    page = await anonymous.get(f"/f/{token}")
    assert "salary expectation" in page.text.lower()
    bad = await anonymous.post(
        f"/f/{token}",
        data={
            "csrf": csrf_of(page.text),
            "company_fit": "9",
            "notes": "Kept",
            "salary_amount": "-5",
            "salary_currency": "GBP",
        },
    )
    assert bad.status_code == 422
    assert "Please check 2 answers" in bad.text
    assert ">Kept</textarea>" in bad.text  # nothing typed is lost
    assert (await recruiter.get(f"/v1/interviews/{interview['id']}/debrief")).status_code == 404
    assert (await anonymous.get(f"/f/{token}")).status_code == 200


async def test_a_forged_or_foreign_post_is_refused(
    recruiter: httpx.AsyncClient, api: FastAPI
) -> None:
    interview, _, token = await make_link(recruiter)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=api), base_url="http://testserver"
    ) as browser:
        page = await browser.get(f"/f/{token}")
        no_token = await browser.post(f"/f/{token}", data={"overall_rating": "3"})
        assert no_token.status_code == 403
        foreign = await browser.post(
            f"/f/{token}",
            data={"csrf": csrf_of(page.text), "overall_rating": "3"},
            headers={"Origin": "https://evil.example"},
        )
        assert foreign.status_code == 403
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=api), base_url="http://testserver"
    ) as stranger:
        no_cookie = await stranger.post(
            f"/f/{token}", data={"csrf": csrf_of(page.text), "overall_rating": "3"}
        )
        assert no_cookie.status_code == 403
    assert (await recruiter.get(f"/v1/interviews/{interview['id']}/debrief")).status_code == 404


async def test_an_expired_or_unknown_link_answers_politely(
    recruiter: httpx.AsyncClient, anonymous: httpx.AsyncClient, clock: FrozenClock
) -> None:
    _, _, token = await make_link(recruiter)
    clock.advance(timedelta(days=7, seconds=1))
    expired = await anonymous.get(f"/f/{token}")
    assert expired.status_code == 410
    unknown = await anonymous.get("/f/not-a-real-token-at-all")
    assert unknown.status_code == 404
    assert "We don't recognise this link" in html.unescape(unknown.text)


async def test_the_link_lifetime_follows_the_policy(admin: httpx.AsyncClient) -> None:
    await admin.put("/v1/settings/follow-up-policy", json={"debrief_link_days": 2})
    interview = await create_interview(admin, starts_at=STARTS)
    link = (await admin.post(f"/v1/interviews/{interview['id']}/debrief-links")).json()
    assert link["expires_at"] == "2026-03-06T10:00:00Z"


async def test_no_link_for_a_cancelled_interview(admin: httpx.AsyncClient) -> None:
    interview = await create_interview(admin, starts_at=STARTS)
    await patch_current(admin, f"/v1/interviews/{interview['id']}", {"status": "cancelled"})
    assert_problem(await admin.post(f"/v1/interviews/{interview['id']}/debrief-links"), 409)


async def test_form_posts_are_rate_limited(
    recruiter: httpx.AsyncClient, anonymous: httpx.AsyncClient
) -> None:
    _, _, token = await make_link(recruiter)
    public_router.per_link._buckets.clear()
    statuses = [
        (await anonymous.post(f"/f/{token}", data={"csrf": "x"})).status_code for _ in range(8)
    ]
    assert statuses[:6] == [403] * 6
    assert statuses[6:] == [429, 429]
    limited = await anonymous.post(f"/f/{token}", data={"csrf": "x"})
    assert int(limited.headers["retry-after"]) > 0


async def test_a_new_link_closes_the_older_ones(
    recruiter: httpx.AsyncClient, anonymous: httpx.AsyncClient
) -> None:
    interview, _, first = await make_link(recruiter)
    _, _, elsewhere = await make_link(recruiter)  # another interview's link stays open
    page = await anonymous.get(f"/f/{first}")
    assert page.status_code == 200
    newer = await recruiter.post(f"/v1/interviews/{interview['id']}/debrief-links")
    assert newer.status_code == 201
    second = newer.json()["url"].rsplit("/", 1)[1]
    assert (await anonymous.get(f"/f/{first}")).status_code == 410
    late = await anonymous.post(f"/f/{first}", data={"csrf": csrf_of(page.text), "notes": "Old"})
    assert late.status_code == 410
    assert (await recruiter.get(f"/v1/interviews/{interview['id']}/debrief")).status_code == 404
    assert (await anonymous.get(f"/f/{second}")).status_code == 200
    assert (await anonymous.get(f"/f/{elsewhere}")).status_code == 200


async def test_the_form_never_overwrites_what_staff_recorded(
    recruiter: httpx.AsyncClient, anonymous: httpx.AsyncClient
) -> None:
    """The candidate's answers fill in what the recruiter left empty; the rest stands."""
    interview, _, token = await make_link(recruiter)
    url = f"/v1/interviews/{interview['id']}/debrief"
    staff = {"channel": "phone", "overall_rating": 2, "notes": "Said the manager was curt"}
    assert (await recruiter.post(url, json=staff)).status_code in (200, 201)
    page = await anonymous.get(f"/f/{token}")
    form = {
        "csrf": csrf_of(page.text),
        "overall_rating": "5",
        "notes": "All fine really",
        "went_well": "The case study",
        "still_interested": "yes",
    }
    done = await anonymous.post(f"/f/{token}", data=form)
    assert done.status_code == 200, done.text
    debrief = (await recruiter.get(url)).json()
    assert (debrief["channel"], debrief["overall_rating"], debrief["notes"]) == (
        "phone",
        2,
        "Said the manager was curt",
    )
    assert (debrief["went_well"], debrief["still_interested"]) == ("The case study", "yes")
    assert (await anonymous.get(f"/f/{token}")).status_code == 410
