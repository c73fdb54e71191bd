"""The recruiters' board over plain HTTP: sign-in cookie, the queue, two-click actions."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI

from app.clock import FrozenClock
from tests.conftest import T0, KeyMaker
from tests.factories import create_candidate, create_client, create_interview, create_staff
from tests.followups.helpers import steps, sweep

STARTS = T0 - timedelta(hours=3)


@pytest.fixture
async def browser(api: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=api), base_url="http://testserver"
    ) as client:
        yield client


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf" value="([0-9a-f]+)"', html)
    assert match
    return match.group(1)


async def signed_in(browser: httpx.AsyncClient, key: str) -> str:
    response = await browser.post("/board/sign-in", data={"api_key": key})
    assert response.status_code == 303
    board = await browser.get("/board")
    assert "Who hasn" in board.text
    return board.text


async def test_the_board_asks_for_a_key_and_keeps_it_out_of_the_url(
    browser: httpx.AsyncClient, make_key: KeyMaker
) -> None:
    first = await browser.get("/board")
    assert first.status_code == 200
    assert 'type="password"' in first.text
    key = await make_key("recruiter")
    response = await browser.post("/board/sign-in", data={"api_key": key})
    assert response.status_code == 303
    assert response.headers["location"] == "/board"
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    assert "Path=/board" in cookie
    assert "Secure" not in cookie  # plain http here; see the https test
    assert key not in cookie


async def test_only_staff_keys_sign_in(browser: httpx.AsyncClient, make_key: KeyMaker) -> None:
    for key in ("dbr_nonsense", await make_key("integration")):
        refused = await browser.post("/board/sign-in", data={"api_key": key})
        assert refused.status_code == 401
        assert "set-cookie" not in refused.headers


async def test_the_cookie_is_secure_over_https(api: FastAPI, make_key: KeyMaker) -> None:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=api), base_url="https://board.agency"
    ) as client:
        response = await client.post("/board/sign-in", data={"api_key": await make_key("admin")})
        assert "Secure" in response.headers["set-cookie"]


async def test_overdue_candidates_are_listed_mine_first_with_a_phone_link(
    browser: httpx.AsyncClient, admin: httpx.AsyncClient, make_key: KeyMaker, clock: FrozenClock
) -> None:
    me = await create_staff(admin, full_name="Rosa Diaz")
    other = await create_staff(admin, full_name="Sam Lee")
    theirs = await create_candidate(admin, full_name="Earlier Theirs", owner_id=other["id"])
    mine = await create_candidate(
        admin, full_name="Later Mine", owner_id=me["id"], phone="+447911123456"
    )
    acme = await create_client(admin, name="Acme Ltd")
    await create_interview(
        admin, starts_at=STARTS - timedelta(days=1), candidate_id=theirs["id"], client_id=acme["id"]
    )
    await create_interview(admin, starts_at=STARTS, candidate_id=mine["id"], job_title="Controller")
    clock.set(datetime(2026, 3, 5, 9, 0, tzinfo=UTC))
    await sweep(admin)
    text = await signed_in(browser, await make_key("recruiter", staff_id=uuid.UUID(me["id"])))
    assert text.index("Later Mine") < text.index("Earlier Theirs")  # mine first
    assert '<a href="tel:+447911123456">' in text
    assert "Rosa Diaz" in text
    filtered = (await browser.get("/board", params={"client_id": acme["id"]})).text
    assert "Earlier Theirs" in filtered
    assert "Later Mine" not in filtered


async def test_recording_the_call_takes_the_candidate_off_the_board(
    browser: httpx.AsyncClient, admin: httpx.AsyncClient, make_key: KeyMaker, clock: FrozenClock
) -> None:
    interview = await create_interview(admin, starts_at=STARTS)
    clock.set(datetime(2026, 3, 5, 9, 0, tzinfo=UTC))
    await sweep(admin)
    text = await signed_in(browser, await make_key("recruiter"))
    assert f"/board/interviews/{interview['id']}/debrief" in text
    saved = await browser.post(
        f"/board/interviews/{interview['id']}/debrief",
        data={"csrf": csrf_of(text), "overall_rating": "4", "notes": "Went well, keen"},
    )
    assert saved.status_code == 303
    after = (await browser.get(saved.headers["location"])).text
    assert "Call recorded." in after
    assert f"/board/interviews/{interview['id']}/debrief" not in after
    debrief = (await admin.get(f"/v1/interviews/{interview['id']}/debrief")).json()
    assert (debrief["channel"], debrief["overall_rating"], debrief["notes"]) == (
        "phone",
        4,
        "Went well, keen",
    )
    call = (await steps(admin, interview_id=interview["id"]))["debrief_call"]
    assert (call["status"], call["late"]) == ("done", True)


async def test_complete_and_waive_from_the_board(
    browser: httpx.AsyncClient, admin: httpx.AsyncClient, make_key: KeyMaker, clock: FrozenClock
) -> None:
    interview = await create_interview(admin, starts_at=STARTS)
    clock.set(datetime(2026, 3, 5, 9, 0, tzinfo=UTC))
    await sweep(admin)
    found = await steps(admin, interview_id=interview["id"])
    text = await signed_in(browser, await make_key("admin"))
    done = await browser.post(
        f"/board/follow-ups/{found['thank_you_note']['id']}/complete", data={"csrf": csrf_of(text)}
    )
    assert "Thank-you+note+marked+done" in done.headers["location"]
    waived = await browser.post(
        f"/board/follow-ups/{found['debrief_call']['id']}/waive",
        data={"csrf": csrf_of(text), "reason": "Called us by mistake"},
    )
    assert waived.status_code == 303
    after = await steps(admin, interview_id=interview["id"])
    assert after["thank_you_note"]["status"] == "done"
    assert (after["debrief_call"]["status"], after["debrief_call"]["waived_reason"]) == (
        "waived",
        "Called us by mistake",
    )


async def test_actions_need_the_page_token_and_a_live_key(
    browser: httpx.AsyncClient, admin: httpx.AsyncClient, make_key: KeyMaker
) -> None:
    interview = await create_interview(admin, starts_at=STARTS)
    text = await signed_in(browser, await make_key("recruiter"))
    forged = await browser.post(
        f"/board/interviews/{interview['id']}/debrief", data={"overall_rating": "4"}
    )
    assert forged.status_code == 403
    out = await browser.post("/board/sign-out", data={"csrf": csrf_of(text)})
    assert out.status_code == 303
    assert 'type="password"' in (await browser.get("/board")).text
    after_sign_out = await browser.post(
        f"/board/interviews/{interview['id']}/debrief", data={"csrf": csrf_of(text)}
    )
    assert after_sign_out.status_code == 403
    assert (await admin.get(f"/v1/interviews/{interview['id']}/debrief")).status_code == 404


async def test_revoking_the_key_signs_the_board_out(
    browser: httpx.AsyncClient, admin: httpx.AsyncClient
) -> None:
    created = (await admin.post("/v1/api-keys", json={"name": "board", "role": "admin"})).json()
    await signed_in(browser, created["key"])
    await admin.delete(f"/v1/api-keys/{created['id']}")
    assert 'type="password"' in (await browser.get("/board")).text
