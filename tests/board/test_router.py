"""The recruiters' board over plain HTTP: sign-in cookie, the queue, two-click actions."""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import re
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI
from pydantic import AnyHttpUrl
from sqlalchemy import select, text

from app.api.ratelimit import RateLimiter
from app.auth.keys import hash_key
from app.board import repository as board_repository
from app.board import router as board_router
from app.clock import FrozenClock
from app.config import DEFAULT_SECRET
from app.db.base import Base
from app.db.engine import Database
from app.models import ApiKey, BoardSession
from tests.conftest import T0, KeyMaker
from tests.factories import (
    create_candidate,
    create_client,
    create_employer_feedback,
    create_interview,
    create_staff,
)
from tests.followups.helpers import follow_ups, sweep

STARTS = T0 - timedelta(hours=3)


@pytest.fixture(autouse=True)
def fresh_sign_in_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test its own sign-in allowance (10 a minute per address, kept per process)."""
    monkeypatch.setattr(board_router, "sign_ins", RateLimiter(per_minute=10, burst=10))


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


async def sign_in(
    browser: httpx.AsyncClient, key: str, headers: dict[str, str] | None = None
) -> httpx.Response:
    """What a browser does: open the sign-in page, then post the key with the page's token."""
    page = await browser.get("/board")
    assert 'type="password"' in page.text
    return await browser.post(
        "/board/sign-in", data={"api_key": key, "csrf": csrf_of(page.text)}, headers=headers
    )


async def signed_in(browser: httpx.AsyncClient, key: str) -> str:
    response = await sign_in(browser, key)
    assert response.status_code == 303
    board = await browser.get("/board")
    assert "Sign out" in board.text
    return board.text


async def test_the_board_asks_for_a_key_and_keeps_it_out_of_the_url(
    browser: httpx.AsyncClient, make_key: KeyMaker
) -> None:
    first = await browser.get("/board")
    assert first.status_code == 200
    assert 'type="password"' in first.text
    key = await make_key("recruiter")
    response = await sign_in(browser, key)
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
        refused = await sign_in(browser, key)
        assert refused.status_code == 401
        assert "debrief_board=" not in refused.headers.get("set-cookie", "")
        assert 'type="password"' in (await browser.get("/board")).text


async def test_the_cookie_is_secure_over_https(api: FastAPI, make_key: KeyMaker) -> None:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=api), base_url="https://board.agency"
    ) as client:
        response = await sign_in(client, await make_key("admin"))
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
    await create_client(admin, name="Quiet Ltd")  # no interview: no open work
    await create_interview(admin, starts_at=STARTS, candidate_id=mine["id"], job_title="Controller")
    clock.set(datetime(2026, 3, 5, 9, 0, tzinfo=UTC))
    await sweep(admin)
    text = await signed_in(browser, await make_key("recruiter", staff_id=uuid.UUID(me["id"])))
    assert text.index("Later Mine") < text.index("Earlier Theirs")  # mine first
    assert '<a href="tel:+447911123456">' in text
    assert "Rosa Diaz" in text
    assert f'<option value="{acme["id"]}" >Acme Ltd</option>' in text  # the client filter
    assert "Quiet Ltd" not in text
    filtered = (await browser.get("/board", params={"client_id": acme["id"]})).text
    assert "Earlier Theirs" in filtered
    assert "Later Mine" not in filtered


def section(html: str, heading_id: str) -> str:
    """The part of the board from one section's heading to the next heading."""
    start = html.index(f'<h2 id="{heading_id}">')
    end = html.find("<h2", start + 1)
    return html[start : end if end > 0 else len(html)]


async def test_each_list_is_paged_with_mine_first_across_the_whole_agency(
    browser: httpx.AsyncClient,
    admin: httpx.AsyncClient,
    make_key: KeyMaker,
    clock: FrozenClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Mine come first across every page, not only among the rows of the first page: my
    candidate, the last due, heads page 1 of four overdue calls shown two a page."""
    monkeypatch.setattr(board_repository, "PAGE", 2)
    me = await create_staff(admin, full_name="Rosa Diaz")
    other = await create_staff(admin, full_name="Sam Lee")
    for hours in (3, 2, 1):
        theirs = await create_candidate(admin, full_name=f"Theirs {hours}", owner_id=other["id"])
        await create_interview(
            admin, starts_at=STARTS - timedelta(hours=hours), candidate_id=theirs["id"]
        )
    mine = await create_candidate(admin, full_name="Later Mine", owner_id=me["id"])
    await create_interview(admin, starts_at=STARTS, candidate_id=mine["id"])
    clock.set(datetime(2026, 3, 5, 9, 0, tzinfo=UTC))
    await sweep(admin)
    text = await signed_in(browser, await make_key("recruiter", staff_id=uuid.UUID(me["id"])))
    calls = section(text, "calls")
    assert "Who hasn't called in (4)" in calls
    assert calls.index("Later Mine") < calls.index("Theirs 3")  # mine first, then most overdue
    assert 'Later Mine <span class="hint">(yours)</span>' in calls
    assert calls.count('class="mine"') == 1
    assert "Theirs 2" not in calls
    assert "Theirs 1" not in calls
    assert "1\u20132 of 4" in calls
    assert 'href="/board?calls_page=2#calls"' in calls
    others = section(text, "other")  # the thank-you notes, due today: mine first too
    assert others.index("Later Mine") < others.index("Theirs")

    second = (await browser.get("/board", params={"calls_page": "2"})).text
    calls = section(second, "calls")
    assert "3\u20134 of 4" in calls
    assert calls.index("Theirs 2") < calls.index("Theirs 1")
    assert "Later Mine" not in calls
    assert "Theirs 3" not in calls
    assert 'href="/board#calls">Previous page' in calls
    # Paging one list keeps the other where it is.
    assert "calls_page=2" in section(second, "other")

    past = section((await browser.get("/board", params={"calls_page": "9"})).text, "calls")
    assert "Nothing more on this page" in past
    assert "Who hasn't called in (4)" in past
    assert 'href="/board?calls_page=2#calls">Previous page' in past  # the last page there is

    mine_only = (await browser.get("/board", params={"owner_id": other["id"]})).text
    assert "Later Mine" not in mine_only
    assert "1\u20132 of 3" in section(mine_only, "calls")
    assert "owner_id=" in section(mine_only, "calls")  # the filter stays on the next page


async def test_a_call_due_later_today_is_other_work_until_it_is_overdue(
    browser: httpx.AsyncClient, admin: httpx.AsyncClient, make_key: KeyMaker, clock: FrozenClock
) -> None:
    """A debrief call still pending but due today is among the other follow-ups, not among
    who has not called in; once the sweep flags it overdue it moves, and only then."""
    candidate = await create_candidate(admin, full_name="Due Today")
    interview = await create_interview(admin, starts_at=STARTS, candidate_id=candidate["id"])
    clock.set(T0 + timedelta(hours=2))  # the interview has ended; its call is due at 17:00
    await sweep(admin)
    call = (await follow_ups(admin, interview_id=interview["id"]))["debrief_call"]
    assert call["status"] == "pending"
    text = await signed_in(browser, await make_key("admin"))
    assert "Due Today" not in section(text, "calls")
    assert "Debrief call" in section(text, "other")
    assert "Who hasn't called in (0)" in section(text, "calls")
    clock.set(T0 + timedelta(hours=8))  # 18:00, within the board's session
    await sweep(admin)
    text = (await browser.get("/board")).text
    assert "Due Today" in section(text, "calls")
    assert "Debrief call" not in section(text, "other")


async def test_an_action_goes_back_to_the_view_it_was_sent_from(
    browser: httpx.AsyncClient,
    admin: httpx.AsyncClient,
    make_key: KeyMaker,
    clock: FrozenClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Done on page 2 of one recruiter's calls comes back to page 2 of their calls; a view
    that is not well formed is not carried back."""
    monkeypatch.setattr(board_repository, "PAGE", 1)
    owner = await create_staff(admin, full_name="Sam Lee")
    for hours in (2, 1):
        candidate = await create_candidate(admin, full_name=f"Called {hours}", owner_id=owner["id"])
        await create_interview(
            admin, starts_at=STARTS - timedelta(hours=hours), candidate_id=candidate["id"]
        )
    clock.set(datetime(2026, 3, 5, 9, 0, tzinfo=UTC))
    await sweep(admin)
    await signed_in(browser, await make_key("admin"))
    view = {"owner_id": owner["id"], "calls_page": "2"}
    text = (await browser.get("/board", params=view)).text
    action = re.search(r'action="(/board/interviews/[^"]+/debrief[^"]*)"', text)
    assert action
    assert html.unescape(action.group(1)).endswith(f"?owner_id={owner['id']}&calls_page=2")
    saved = await browser.post(html.unescape(action.group(1)), data={"csrf": csrf_of(text)})
    assert saved.status_code == 303
    assert saved.headers["location"] == (
        f"/board?owner_id={owner['id']}&calls_page=2&done=Call+recorded."
    )
    back = (await browser.get(saved.headers["location"])).text
    assert "Call recorded." in back
    assert "Who hasn't called in (1)" in back  # the one left, on the page before

    found = re.search(r'action="/board/follow-ups/([^/"]+)/complete', back)
    assert found
    forged = await browser.post(
        f"/board/follow-ups/{found.group(1)}/complete?owner_id=nobody&calls_page=%C2%B2&x=1",
        data={"csrf": csrf_of(back)},
    )
    assert forged.status_code == 303
    assert forged.headers["location"].startswith("/board?done=")


@pytest.mark.parametrize("query", ["calls_page=0", "others_page=abc", "calls_page=10001"])
async def test_a_page_number_out_of_range_is_refused_with_a_problem(
    browser: httpx.AsyncClient, make_key: KeyMaker, query: str
) -> None:
    await signed_in(browser, await make_key("recruiter"))
    refused = await browser.get(f"/board?{query}")
    assert refused.status_code == 422
    assert refused.headers["content-type"].startswith("application/problem+json")


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
    call = (await follow_ups(admin, interview_id=interview["id"]))["debrief_call"]
    assert (call["status"], call["late"]) == ("done", True)


async def test_complete_and_waive_from_the_board(
    browser: httpx.AsyncClient, admin: httpx.AsyncClient, make_key: KeyMaker, clock: FrozenClock
) -> None:
    interview = await create_interview(admin, starts_at=STARTS)
    clock.set(datetime(2026, 3, 5, 9, 0, tzinfo=UTC))
    await sweep(admin)
    found = await follow_ups(admin, interview_id=interview["id"])
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
    after = await follow_ups(admin, interview_id=interview["id"])
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


def _old_style_cookie(secret: str, key_id: uuid.UUID) -> tuple[str, str]:
    """A `key_id.expiry.HMAC` cookie and its form token, as the board used to accept them."""
    value = f"{key_id}.{int(time.time()) + 3600}"
    mac = hmac.new(secret.encode(), f"board:{value}".encode(), hashlib.sha256).digest()
    cookie = f"{value}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"
    csrf = hmac.new(secret.encode(), f"board-csrf:{cookie}".encode(), hashlib.sha256).hexdigest()
    return cookie, csrf


async def _key_id(db: Database, key: str) -> uuid.UUID:
    async with db.reading() as conn:
        found = await conn.execute(select(ApiKey.id).where(ApiKey.key_hash == hash_key(key)))
        (key_id,) = found.one()
    return uuid.UUID(str(key_id))


async def test_a_cookie_forged_from_a_key_id_and_the_secret_is_refused(
    api: FastAPI, admin: httpx.AsyncClient, make_key: KeyMaker, db: Database
) -> None:
    # Key ids are public to every key (completed_by, events, audit) and the placeholder
    # secret is in the source: that used to be all an admin session took.
    interview = await create_interview(admin, starts_at=STARTS)
    for role in ("admin", "integration"):
        key_id = await _key_id(db, await make_key(role))
        cookie, csrf = _old_style_cookie(DEFAULT_SECRET, key_id)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=api),
            base_url="http://testserver",
            cookies={"debrief_board": cookie},
        ) as forger:
            board = await forger.get("/board")
            assert 'type="password"' in board.text
            assert "Sign out" not in board.text
            write = await forger.post(
                f"/board/interviews/{interview['id']}/debrief",
                data={"csrf": csrf, "overall_rating": "1", "notes": "forged"},
            )
            assert write.status_code == 403
    assert (await admin.get(f"/v1/interviews/{interview['id']}/debrief")).status_code == 404


async def test_a_cookie_replayed_after_sign_out_is_refused(
    api: FastAPI, browser: httpx.AsyncClient, admin: httpx.AsyncClient, make_key: KeyMaker
) -> None:
    interview = await create_interview(admin, starts_at=STARTS)
    text_ = await signed_in(browser, await make_key("recruiter"))
    stolen = browser.cookies["debrief_board"]
    out = await browser.post("/board/sign-out", data={"csrf": csrf_of(text_)})
    assert out.status_code == 303
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=api),
        base_url="http://testserver",
        cookies={"debrief_board": stolen},
    ) as replay:
        assert 'type="password"' in (await replay.get("/board")).text
        write = await replay.post(
            f"/board/interviews/{interview['id']}/debrief",
            data={"csrf": csrf_of(text_), "overall_rating": "1"},
        )
        assert write.status_code == 403
    assert (await admin.get(f"/v1/interviews/{interview['id']}/debrief")).status_code == 404


async def test_sign_in_needs_the_page_token_and_our_own_origin(
    browser: httpx.AsyncClient, make_key: KeyMaker
) -> None:
    key = await make_key("admin")
    # Login CSRF: another site's form posting its own key, with no token or a made-up one.
    for data in ({"api_key": key}, {"api_key": key, "csrf": "0" * 64}):
        refused = await browser.post("/board/sign-in", data=data)
        assert refused.status_code == 403
        assert "debrief_board=" not in refused.headers.get("set-cookie", "")
    # A token from this browser's own sign-in page, but posted from another site's page.
    for origin in ("https://evil.example", "null"):
        refused = await sign_in(browser, key, headers={"Origin": origin})
        assert refused.status_code == 403
        assert "debrief_board=" not in refused.headers.get("set-cookie", "")
    assert 'type="password"' in (await browser.get("/board")).text
    # A token made for another browser does not work either.
    page = await browser.get("/board")
    browser.cookies.delete("debrief_board_signin")
    browser.cookies.set("debrief_board_signin", "someone-elses-nonce", path="/board")
    refused = await browser.post(
        "/board/sign-in", data={"api_key": key, "csrf": csrf_of(page.text)}
    )
    assert refused.status_code == 403
    ours = await sign_in(browser, key, headers={"Origin": "http://testserver"})
    assert ours.status_code == 303


async def test_sign_out_and_actions_need_the_token_and_our_own_origin(
    browser: httpx.AsyncClient, admin: httpx.AsyncClient, make_key: KeyMaker
) -> None:
    interview = await create_interview(admin, starts_at=STARTS)
    text_ = await signed_in(browser, await make_key("recruiter"))
    csrf = csrf_of(text_)
    assert (await browser.post("/board/sign-out", data={})).status_code == 403
    foreign = {"Origin": "https://evil.example"}
    assert (
        await browser.post("/board/sign-out", data={"csrf": csrf}, headers=foreign)
    ).status_code == 403
    assert "Sign out" in (await browser.get("/board")).text  # still signed in
    write = await browser.post(
        f"/board/interviews/{interview['id']}/debrief",
        data={"csrf": csrf, "overall_rating": "2"},
        headers=foreign,
    )
    assert write.status_code == 403
    assert (await admin.get(f"/v1/interviews/{interview['id']}/debrief")).status_code == 404
    out = await browser.post(
        "/board/sign-out", data={"csrf": csrf}, headers={"Origin": "http://testserver"}
    )
    assert out.status_code == 303
    assert 'type="password"' in (await browser.get("/board")).text


async def _dump(db: Database) -> str:
    """Every row of every table, as text."""
    parts = []
    async with db.reading() as conn:
        for table in Base.metadata.sorted_tables:
            rows = await conn.execute(text(f'SELECT * FROM "{table.name}"'))
            parts.extend(repr(tuple(row)) for row in rows)
    return "\n".join(parts)


async def test_the_database_holds_only_a_hash_of_the_session(
    browser: httpx.AsyncClient, make_key: KeyMaker, db: Database
) -> None:
    key = await make_key("admin")
    await signed_in(browser, key)
    cookie = browser.cookies["debrief_board"]
    assert len(cookie) >= 40
    async with db.reading() as conn:
        rows = (await conn.execute(select(BoardSession))).all()
    assert len(rows) == 1
    (session_row,) = rows
    assert session_row.api_key_id == await _key_id(db, key)
    assert session_row.expires_at == T0 + timedelta(hours=10)
    dump = await _dump(db)
    assert cookie not in dump
    assert hashlib.sha256(cookie.encode()).hexdigest() not in dump  # keyed, not a bare hash


async def test_a_session_ends_after_a_working_day_and_the_sweep_deletes_it(
    browser: httpx.AsyncClient,
    admin: httpx.AsyncClient,
    make_key: KeyMaker,
    clock: FrozenClock,
    db: Database,
) -> None:
    await signed_in(browser, await make_key("recruiter"))
    clock.advance(timedelta(hours=9, minutes=59))
    assert "Sign out" in (await browser.get("/board")).text
    clock.advance(timedelta(minutes=1))
    assert 'type="password"' in (await browser.get("/board")).text
    await sweep(admin)
    async with db.reading() as conn:
        assert (await conn.execute(select(BoardSession))).all() == []


async def test_the_cookie_is_secure_when_the_public_url_is_https(
    api: FastAPI, browser: httpx.AsyncClient, make_key: KeyMaker
) -> None:
    # TLS ends at the proxy: the request reaches us over plain http.
    plain = api.state.settings
    api.state.settings = plain.model_copy(
        update={"public_base_url": AnyHttpUrl("https://board.agency")}
    )
    try:
        page = await browser.get("/board")
        assert "Secure" in page.headers["set-cookie"]
        # The browser talks https to the proxy, so it sends the Secure cookie back; httpx
        # here talks plain http to the app and would not: send it as the browser would.
        nonce = page.headers["set-cookie"].split(";", 1)[0]
        response = await browser.post(
            "/board/sign-in",
            data={"api_key": await make_key("admin"), "csrf": csrf_of(page.text)},
            headers={"Origin": "https://board.agency", "Cookie": nonce},
        )
    finally:
        api.state.settings = plain
    assert response.status_code == 303
    session_cookie = [c for c in response.headers.get_list("set-cookie") if "debrief_board=" in c]
    assert session_cookie
    assert "Secure" in session_cookie[0]


async def test_the_board_shows_the_next_reminder_and_the_call_to_a_cooling_candidate(
    browser: httpx.AsyncClient, admin: httpx.AsyncClient, make_key: KeyMaker, clock: FrozenClock
) -> None:
    candidate = await create_candidate(admin, full_name="Cooling Carla")
    interview = await create_interview(admin, starts_at=STARTS, candidate_id=candidate["id"])
    clock.set(datetime(2026, 3, 5, 9, 0, tzinfo=UTC))  # the call was due Wednesday 17:00
    await sweep(admin)
    text = await signed_in(browser, await make_key("admin"))
    assert "next reminder Fri 6 Mar 17:30" in text  # two working days after it was flagged
    recorded = await admin.post(
        f"/v1/interviews/{interview['id']}/debrief",
        json={"channel": "phone", "still_interested": "no"},
    )
    assert recorded.status_code == 201
    text = (await browser.get("/board")).text
    assert "Call the candidate: they are cooling" in text
    assert "Thu 5 Mar 13:00" in text  # four working hours on
    call = (await follow_ups(admin, interview_id=interview["id"]))["candidate_call"]
    done = await browser.post(
        f"/board/follow-ups/{call['id']}/complete", data={"csrf": csrf_of(text)}
    )
    assert "Call+the+candidate" in done.headers["location"]
    assert (await follow_ups(admin, interview_id=interview["id"]))["candidate_call"][
        "status"
    ] == "done"


async def test_staff_send_the_employers_feedback_to_the_candidate_from_the_board(
    browser: httpx.AsyncClient, admin: httpx.AsyncClient, make_key: KeyMaker, clock: FrozenClock
) -> None:
    """The relay row of feedback the employer allowed to pass on has a button that sends it,
    as `POST .../employer-feedback/{id}/relay` would; feedback kept to the agency has none."""
    candidate = await create_candidate(admin, full_name="Jon Bell", email="jon.bell@mail.example")
    interview = await create_interview(admin, starts_at=STARTS, candidate_id=candidate["id"])
    kept = await create_interview(admin, starts_at=STARTS, job_title="Kept to the agency")
    for each, allowed in ((interview, True), (kept, False)):
        await create_employer_feedback(
            admin,
            each["id"],
            outcome="rejected",
            strengths="Calm under pressure",
            improvements="More payroll software depth",
            relay_allowed=allowed,
        )
    relay = (await follow_ups(admin, interview_id=interview["id"]))["employer_feedback"]
    clock.set(datetime.fromisoformat(relay["due_at"]) + timedelta(hours=1))
    await sweep(admin)
    text = await signed_in(browser, await make_key("recruiter"))
    (feedback,) = (await admin.get(f"/v1/interviews/{interview['id']}/employer-feedback")).json()[
        "items"
    ]
    action = f"/board/interviews/{interview['id']}/employer-feedback/{feedback['id']}/relay"
    assert f'action="{action}"' in text
    assert text.count("Send feedback to") == 1  # not for the feedback kept to the agency
    assert "Kept to the agency" in text

    assert (await browser.post(action, data={})).status_code == 403  # the page's token
    sent = await browser.post(action, data={"csrf": csrf_of(text)})
    assert sent.status_code == 303
    after = (await browser.get(sent.headers["location"])).text
    assert "Feedback sent to the candidate." in after
    assert "Send feedback to" not in after
    got = (await admin.get(f"/v1/interviews/{interview['id']}/employer-feedback")).json()
    assert got["items"][0]["relayed_to_candidate_at"] is not None
    assert (await follow_ups(admin, interview_id=interview["id"]))["employer_feedback"][
        "status"
    ] == "done"
    messages = (await admin.get("/v1/notifications", params={"kind": "candidate_feedback"})).json()
    assert [m["recipient"] for m in messages["items"]] == ["jon.bell@mail.example"]
    again = await browser.post(action, data={"csrf": csrf_of(text)})
    assert again.status_code == 409  # once
    assert "already passed on" in again.text
