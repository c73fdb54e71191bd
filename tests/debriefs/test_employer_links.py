"""The client contact's decision link and page, through plain HTTP (the browser tests drive it
too): the answer has the API's effects, audited as the link."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from app.clock import FrozenClock
from app.debriefs import employer_page
from app.models import EmployerLink
from tests.conftest import T0
from tests.factories import create_client, create_interview, patch_current
from tests.followups.helpers import all_events, follow_ups, sweep
from tests.test_conventions import assert_problem

STARTS = T0 - timedelta(hours=3)


def clear_limits() -> None:
    employer_page.per_link._buckets.clear()
    employer_page.per_address._buckets.clear()


@pytest.fixture(autouse=True)
def _fresh_limits() -> None:
    """Each test starts with the page's rate limits untouched (one test exhausts them)."""
    clear_limits()


async def make_link(
    client: httpx.AsyncClient, *, client_fields: dict[str, Any] | None = None, **interview: Any
) -> tuple[dict[str, Any], dict[str, Any], str]:
    if "client_id" not in interview:
        employer = await create_client(
            client,
            contact_name="Helen Ward",
            contact_email="helen.ward@northwind.example",
            **(client_fields or {}),
        )
        interview["client_id"] = employer["id"]
    made = await create_interview(
        client,
        starts_at=interview.pop("starts_at", STARTS),
        job_title="Senior Accountant",
        **interview,
    )
    response = await client.post(f"/v1/interviews/{made['id']}/employer-links")
    assert response.status_code == 201, response.text
    link = response.json()
    return made, link, link["url"].rsplit("/", 1)[1]


def csrf_of(text: str) -> str:
    match = re.search(r'name="csrf" value="([0-9a-f]+)"', text)
    assert match
    return match.group(1)


async def answer(anonymous: httpx.AsyncClient, token: str, **fields: str) -> httpx.Response:
    page = await anonymous.get(f"/e/{token}")
    assert page.status_code == 200, page.text
    return await anonymous.post(f"/e/{token}", data={"csrf": csrf_of(page.text), **fields})


async def test_a_link_is_random_hashed_for_the_contact_and_never_shows_its_token_again(
    recruiter: httpx.AsyncClient, db: Any, anonymous: httpx.AsyncClient
) -> None:
    interview, link, token = await make_link(recruiter)
    assert link["url"] == f"http://127.0.0.1:8000/e/{token}"
    assert len(token) >= 43
    assert (link["contact_name"], link["contact_email"]) == (
        "Helen Ward",
        "helen.ward@northwind.example",
    )
    assert link["state"] == "open"
    assert link["expires_at"] == "2026-03-18T10:00:00Z"  # 14 days by default
    async with db.read_engine.connect() as conn:
        stored = (await conn.execute(select(EmployerLink))).mappings().one()
    assert token not in str(dict(stored))
    listed = (await recruiter.get(f"/v1/interviews/{interview['id']}/employer-links")).json()
    assert [item["id"] for item in listed["items"]] == [link["id"]]
    assert listed["items"][0]["url"] is None
    assert token not in str(listed)
    assert_problem(
        await anonymous.get("/v1/candidates", headers={"Authorization": f"Bearer {token}"}), 401
    )


async def test_the_interviews_point_of_contact_overrides_the_clients(
    recruiter: httpx.AsyncClient,
) -> None:
    _, link, _ = await make_link(
        recruiter, point_of_contact={"name": "Tom Reid", "email": "tom.reid@northwind.example"}
    )
    assert (link["contact_name"], link["contact_email"]) == (
        "Tom Reid",
        "tom.reid@northwind.example",
    )


async def test_the_page_shows_the_candidate_and_role_and_opening_it_uses_nothing(
    recruiter: httpx.AsyncClient, anonymous: httpx.AsyncClient
) -> None:
    candidate = (await recruiter.post("/v1/candidates", json={"full_name": "Amira Okafor"})).json()
    _, _, token = await make_link(recruiter, candidate_id=candidate["id"])
    for _ in range(3):  # a mail scanner, a preview, the contact
        page = await anonymous.get(f"/e/{token}")
        assert page.status_code == 200
    assert "Your decision on Amira Okafor" in page.text
    assert "Senior Accountant" in page.text
    assert "Helen Ward" in page.text
    assert "<script" not in page.text
    assert page.headers["cache-control"] == "no-store"
    assert "default-src 'none'" in page.headers["content-security-policy"]
    assert "form-action 'self'" in page.headers["content-security-policy"]
    cookie = page.headers["set-cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie
    assert "Path=/e/" in cookie


async def test_not_going_ahead_records_feedback_as_the_api_would(
    recruiter: httpx.AsyncClient,
    anonymous: httpx.AsyncClient,
    admin: httpx.AsyncClient,
    clock: FrozenClock,
) -> None:
    interview, link, token = await make_link(recruiter)
    await sweep(admin)  # the interview has ended: its follow-ups open
    clock.advance(timedelta(days=2))
    done = await answer(
        anonymous,
        token,
        answer="rejected",
        strengths="Clear on consolidation",
        improvements="Needs more audit experience",
        relay_allowed="yes",
    )
    assert done.status_code == 200, done.text
    assert "has your decision" in done.text

    got = (await recruiter.get(f"/v1/interviews/{interview['id']}")).json()
    assert got["outcome"] == "rejected"
    (feedback,) = (
        await recruiter.get(f"/v1/interviews/{interview['id']}/employer-feedback")
    ).json()["items"]
    assert (feedback["outcome"], feedback["strengths"], feedback["improvements"]) == (
        "rejected",
        "Clear on consolidation",
        "Needs more audit experience",
    )
    assert feedback["relay_allowed"] is True
    by_kind = await follow_ups(recruiter, interview_id=interview["id"])
    actor = f"client_link:{link['id']}"
    assert by_kind["employer_follow_up"]["status"] == "done"
    assert by_kind["employer_follow_up"]["completed_by"] == actor
    assert by_kind["employer_feedback"]["status"] == "pending"  # opened for the relay
    types = {e["type"] for e in await all_events(admin)}
    assert {"employer_feedback.received", "interview.outcome_recorded"} <= types
    audit = (await admin.get("/v1/audit", params={"actor": actor, "limit": 200})).json()
    assert {e["object_type"] for e in audit["items"]} >= {"interview", "employer_feedback"}

    listed = (await recruiter.get(f"/v1/interviews/{interview['id']}/employer-links")).json()
    assert listed["items"][0]["state"] == "answered"
    assert listed["items"][0]["answer"] == "rejected"
    assert listed["items"][0]["feedback_id"] == feedback["id"]
    assert (await anonymous.get(f"/e/{token}")).status_code == 410


async def test_a_next_round_final_opens_the_final_preparation(
    recruiter: httpx.AsyncClient, anonymous: httpx.AsyncClient, admin: httpx.AsyncClient
) -> None:
    interview, _, token = await make_link(recruiter)
    await sweep(admin)
    done = await answer(
        anonymous, token, answer="next_round", next_stage="final", strengths="Strong case study"
    )
    assert done.status_code == 200, done.text
    got = (await recruiter.get(f"/v1/interviews/{interview['id']}")).json()
    assert (got["outcome"], got["next_stage"]) == ("next_round", "final")
    by_kind = await follow_ups(recruiter, interview_id=interview["id"])
    assert by_kind["final_round_prep"]["status"] == "pending"
    assert by_kind["employer_follow_up"]["status"] == "done"


async def test_still_deciding_moves_the_date_and_the_chase_and_keeps_the_link(
    recruiter: httpx.AsyncClient, anonymous: httpx.AsyncClient, admin: httpx.AsyncClient
) -> None:
    interview, link, token = await make_link(recruiter, decision_expected_by="2026-03-10")
    await sweep(admin)
    before = (await follow_ups(recruiter, interview_id=interview["id"]))["employer_follow_up"]
    done = await answer(
        anonymous, token, answer="still_deciding", decision_expected_by="2026-03-31"
    )
    assert done.status_code == 200, done.text
    assert "by Tuesday 31 March" in done.text
    got = (await recruiter.get(f"/v1/interviews/{interview['id']}")).json()
    assert (got["decision_expected_by"], got["outcome"]) == ("2026-03-31", "pending")
    after = (await follow_ups(recruiter, interview_id=interview["id"]))["employer_follow_up"]
    assert after["status"] == "pending"
    assert after["due_at"] > before["due_at"]
    listed = (await recruiter.get(f"/v1/interviews/{interview['id']}/employer-links")).json()
    assert (listed["items"][0]["state"], listed["items"][0]["answer"]) == ("open", "still_deciding")
    assert listed["items"][0]["deferred_at"] is not None
    # Later, the decision, through the same link.
    assert (await answer(anonymous, token, answer="offer")).status_code == 200
    assert (await recruiter.get(f"/v1/interviews/{interview['id']}")).json()["outcome"] == "offer"
    audit = (
        await admin.get("/v1/audit", params={"actor": f"client_link:{link['id']}", "limit": 200})
    ).json()
    assert audit["items"]


async def test_bad_answers_show_the_page_again_and_change_nothing(
    recruiter: httpx.AsyncClient, anonymous: httpx.AsyncClient
) -> None:
    interview, _, token = await make_link(recruiter)
    for fields, problem in (
        ({}, "choose one of the answers"),
        ({"answer": "maybe"}, "choose one of the answers"),
        ({"answer": "still_deciding"}, "give the date you expect to decide by"),
        ({"answer": "still_deciding", "decision_expected_by": "2026-03-01"}, "after today"),
        ({"answer": "still_deciding", "decision_expected_by": "31/03/2026"}, "give the date"),
        ({"answer": "next_round"}, "choose the next round"),
        ({"answer": "next_round", "next_stage": "lunch"}, "choose the next round"),
        ({"answer": "offer", "strengths": "x" * 4001}, "at most 4000"),
    ):
        clear_limits()  # one link, many tries
        bad = await answer(anonymous, token, **fields)
        assert bad.status_code == 422, fields
        assert problem in bad.text, (fields, bad.text)
    got = (await recruiter.get(f"/v1/interviews/{interview['id']}")).json()
    assert (got["outcome"], got["decision_expected_by"]) == ("pending", None)
    assert (await anonymous.get(f"/e/{token}")).status_code == 200


async def test_a_forged_or_foreign_post_is_refused_and_posts_are_rate_limited(
    recruiter: httpx.AsyncClient, api: FastAPI
) -> None:
    interview, _, token = await make_link(recruiter)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=api), base_url="http://testserver"
    ) as browser:
        page = await browser.get(f"/e/{token}")
        assert (await browser.post(f"/e/{token}", data={"answer": "offer"})).status_code == 403
        foreign = await browser.post(
            f"/e/{token}",
            data={"csrf": csrf_of(page.text), "answer": "offer"},
            headers={"Origin": "https://evil.example"},
        )
        assert foreign.status_code == 403
        # The candidate form's anti-forgery field does not open this page.
        assert (await recruiter.get(f"/v1/interviews/{interview['id']}")).json()[
            "outcome"
        ] == "pending"
        statuses = [
            (await browser.post(f"/e/{token}", data={"answer": "maybe"})).status_code
            for _ in range(8)
        ]
    assert 429 in statuses


async def test_a_link_opens_only_its_interview_and_revoked_links_close(
    recruiter: httpx.AsyncClient, anonymous: httpx.AsyncClient
) -> None:
    first, link, token = await make_link(recruiter)
    second, _, _ = await make_link(recruiter)
    assert (await answer(anonymous, token, answer="offer")).status_code == 200
    assert (await recruiter.get(f"/v1/interviews/{second['id']}")).json()["outcome"] == "pending"
    # The candidate's page does not open a client's link, nor the reverse.
    assert (await anonymous.get(f"/f/{token}")).status_code == 404
    _, other, other_token = await make_link(recruiter)
    revoked = await recruiter.post(
        f"/v1/interviews/{other['interview_id']}/employer-links/{other['id']}/revoke"
    )
    assert revoked.status_code == 200
    assert revoked.json()["state"] == "revoked"
    assert (await anonymous.get(f"/e/{other_token}")).status_code == 410
    # A link of one interview cannot be revoked through another's path.
    assert_problem(
        await recruiter.post(f"/v1/interviews/{second['id']}/employer-links/{link['id']}/revoke"),
        404,
    )
    assert_problem(
        await recruiter.post(f"/v1/interviews/{first['id']}/employer-links/{link['id']}/revoke"),
        409,
    )


async def test_a_new_link_closes_the_older_one(
    recruiter: httpx.AsyncClient, anonymous: httpx.AsyncClient
) -> None:
    interview, _, old = await make_link(recruiter)
    fresh = await recruiter.post(f"/v1/interviews/{interview['id']}/employer-links")
    assert (await anonymous.get(f"/e/{old}")).status_code == 410
    new = fresh.json()["url"].rsplit("/", 1)[1]
    assert (await anonymous.get(f"/e/{new}")).status_code == 200


async def test_bad_requests_are_problems(
    recruiter: httpx.AsyncClient, anonymous: httpx.AsyncClient
) -> None:
    interview, _, _ = await make_link(recruiter)
    base = f"/v1/interviews/{interview['id']}"
    assert_problem(await recruiter.post(f"{base}/employer-links", json={"expires_in_days": 0}), 422)
    assert_problem(await recruiter.post(f"{base}/employer-links", json={"nope": 1}), 422)
    assert_problem(
        await recruiter.post("/v1/interviews/00000000-0000-0000-0000-000000000000/employer-links"),
        404,
    )
    assert_problem(
        await recruiter.post(f"{base}/employer-links/00000000-0000-0000-0000-000000000000/revoke"),
        404,
    )
    assert_problem(
        await recruiter.post(
            f"{base}/employer-feedback", json={"outcome": "offer", "next_stage": "final"}
        ),
        422,
    )
    assert_problem(await anonymous.post(f"{base}/employer-links"), 401)
    assert (await anonymous.get("/e/not-a-real-token-at-all")).status_code == 404
    await patch_current(recruiter, base, {"status": "cancelled"})
    assert_problem(await recruiter.post(f"{base}/employer-links"), 409)


async def test_erasure_closes_the_link_and_removes_what_the_client_said(
    admin: httpx.AsyncClient, anonymous: httpx.AsyncClient
) -> None:
    interview, link, token = await make_link(admin)
    await answer(
        anonymous,
        token,
        answer="rejected",
        strengths="Calm",
        improvements="Depth",
        relay_allowed="yes",
    )
    _, _, open_token = await make_link(admin, candidate_id=interview["candidate_id"])
    export = (await admin.get(f"/v1/candidates/{interview['candidate_id']}/export")).json()
    assert [f["strengths"] for f in export["employer_feedback"]] == ["Calm"]
    assert link["id"] in {item["id"] for item in export["employer_links"]}
    assert "token_hash" not in str(export["employer_links"])
    erased = await admin.delete(f"/v1/candidates/{interview['candidate_id']}")
    assert erased.status_code in (200, 204), erased.text
    (feedback,) = (await admin.get(f"/v1/interviews/{interview['id']}/employer-feedback")).json()[
        "items"
    ]
    assert (feedback["strengths"], feedback["improvements"]) == (None, None)
    assert (await anonymous.get(f"/e/{open_token}")).status_code == 410
