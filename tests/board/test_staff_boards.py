"""Boards of particular staff: a manager's shows what was escalated to them (to close there);
anyone's shows times in their own time zone."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI

from app.api.ratelimit import RateLimiter
from app.board import router as board_router
from app.clock import FrozenClock
from tests.board.test_router import csrf_of, signed_in
from tests.conftest import T0, KeyMaker
from tests.factories import create_candidate, create_interview, create_staff
from tests.followups.helpers import follow_ups, sweep

STARTS = T0 - timedelta(hours=3)  # Wednesday 4 March: the call is due 17:00 UTC
ESCALATES = datetime(2026, 3, 6, 17, 0, tzinfo=UTC)  # no reminders: one interval later


@pytest.fixture(autouse=True)
def fresh_sign_in_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(board_router, "sign_ins", RateLimiter(per_minute=10, burst=10))


@pytest.fixture
async def browser(api: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=api), base_url="http://testserver"
    ) as client:
        yield client


def escalated_section(html: str) -> str:
    match = re.search(r'<h2 id="escalated">.*?</table>', html, re.S)
    return match.group(0) if match else ""


async def test_the_manager_sees_their_teams_escalated_follow_ups_and_closes_them(
    browser: httpx.AsyncClient, admin: httpx.AsyncClient, make_key: KeyMaker, clock: FrozenClock
) -> None:
    lead = await create_staff(admin, full_name="Luis Lead")
    rosa = await create_staff(admin, full_name="Rosa Recruiter", manager_id=lead["id"])
    other = await create_staff(admin, full_name="Omar Other")
    put = await admin.put("/v1/settings/follow-up-policy", json={"max_reminders": 0})
    assert put.status_code == 200
    cara = await create_candidate(admin, full_name="Cara Cooled", owner_id=rosa["id"])
    await create_interview(
        admin, starts_at=STARTS, candidate_id=cara["id"], job_title="Financial Controller"
    )
    olly = await create_candidate(admin, full_name="Olly Elsewhere", owner_id=other["id"])
    await create_interview(admin, starts_at=STARTS, candidate_id=olly["id"])
    clock.set(datetime(2026, 3, 4, 17, 0, tzinfo=UTC))
    await sweep(admin)
    clock.set(ESCALATES)
    await sweep(admin)

    rosas_board = await signed_in(
        browser, await make_key("recruiter", staff_id=uuid.UUID(rosa["id"]))
    )
    assert "Escalated to you" not in rosas_board
    await browser.post("/board/sign-out", data={"csrf": csrf_of(rosas_board)})

    board = await signed_in(browser, await make_key("recruiter", staff_id=uuid.UUID(lead["id"])))
    section = escalated_section(board)
    assert "Escalated to you (1)" in section
    assert "Cara Cooled" in section
    assert "Rosa Recruiter" in section
    assert "Financial Controller" in section
    assert "2 days 0 h (due Wed 4 Mar 17:00)" in section
    assert "Olly Elsewhere" not in section  # someone else's team

    call = (await follow_ups(admin, candidate_id=cara["id"]))["debrief_call"]
    assert f"/board/follow-ups/{call['id']}/complete" in section
    done = await browser.post(
        f"/board/follow-ups/{call['id']}/complete", data={"csrf": csrf_of(board)}
    )
    assert done.status_code == 303
    after = (await browser.get(done.headers["location"])).text
    assert "Escalated to you" not in after
    call = (await follow_ups(admin, candidate_id=cara["id"]))["debrief_call"]
    assert (call["status"], call["late"]) == ("done", True)


async def test_the_board_shows_times_in_the_staff_members_own_time_zone(
    browser: httpx.AsyncClient, admin: httpx.AsyncClient, make_key: KeyMaker, clock: FrozenClock
) -> None:
    nora = await create_staff(admin, full_name="Nora York", timezone="America/New_York")
    lena = await create_staff(admin, full_name="Lena London")
    await create_interview(admin, starts_at=STARTS)  # ended Wednesday 08:00 UTC
    clock.set(datetime(2026, 3, 5, 9, 0, tzinfo=UTC))
    await sweep(admin)

    noras = await signed_in(browser, await make_key("recruiter", staff_id=uuid.UUID(nora["id"])))
    assert "Wed 4 Mar 03:00" in noras  # New York, EST
    assert "Wed 4 Mar 08:00" not in noras
    await browser.post("/board/sign-out", data={"csrf": csrf_of(noras)})
    lenas = await signed_in(browser, await make_key("recruiter", staff_id=uuid.UUID(lena["id"])))
    assert "Wed 4 Mar 08:00" in lenas  # no zone of her own: the policy's, London
